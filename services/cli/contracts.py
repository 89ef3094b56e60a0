"""Opening the DAO and the NFT for a command, and remembering the DAO so a failure message can say
how many proposals it has."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from services.chain.contracts import AddressError, ResolvedAddress, dao_at, locate_address, nft_at

if TYPE_CHECKING:
    from ape.api import ProviderAPI
    from ape.contracts import ContractInstance

#: Where the command's context keeps the opened DAO.
DAO_META_KEY = "spheron_dao.dao"


def _locate(name: Any, provider: ProviderAPI, override: str | None) -> ResolvedAddress:
    return locate_address(
        name,
        ecosystem=provider.network.ecosystem.name,
        network=provider.network.name,
        override=override,
    )


def open_dao(provider: ProviderAPI, override: str | None) -> tuple[ContractInstance, str]:
    """The DAO instance and where its address came from; remembered for error messages."""
    located = _locate("SpheronDevsDAO", provider, override)
    dao = dao_at(located.address)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().meta[DAO_META_KEY] = dao
    return dao, located.source


def open_nft(
    provider: ProviderAPI, nft_override: str | None, dao_override: str | None
) -> tuple[ContractInstance, str]:
    """The NFT instance and its source: its own address if configured, else the DAO's token."""
    try:
        located = _locate("SpheronDevsNFT", provider, nft_override)
    except AddressError as nft_error:
        try:
            dao, source = open_dao(provider, dao_override)
        except AddressError:
            raise nft_error from None
        return nft_at(dao.token()), f"token() of the DAO from {source}"
    return nft_at(located.address), located.source
