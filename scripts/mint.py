"""ape run mint [--quantity N] — buy SpheronDevsNFT membership tokens (one token, one vote)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from ape.cli import account_option

from services.cli.command import DaoCommand
from services.cli.params import dao_option, nft_option

if TYPE_CHECKING:
    from ape.api import AccountAPI, ProviderAPI


@click.command(
    cls=DaoCommand,
    short_help="Mint SpheronDevsNFT membership tokens (one token, one vote).",
    help="""Mint --quantity SpheronDevsNFT tokens to your account, paying exactly the contract's
    price for each (read from the contract).

    Each token is one vote. Votes count for proposals created from the next block on; a holder
    is self-delegated automatically, so no extra step is needed. The NFT address comes from
    --nft / NFT_CONTRACT_ADDRESS / ape-config.yaml, or else from the DAO's token().

    Example: ape run mint --quantity 2 --network ethereum:sepolia --account alice
    """,
)
@account_option(prompt=False)
@nft_option()
@dao_option()
@click.option(
    "--quantity",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Number of tokens to mint.",
)
def cli(
    quantity: int,
    account: AccountAPI | None,
    nft_address: str | None,
    dao_address: str | None,
    provider: ProviderAPI,
):
    from services.cli.accounts import require_account
    from services.cli.contracts import open_nft
    from services.cli.error_catalogue import describe_custom_error
    from services.cli.errors import CliError
    from services.cli.output import fact, hex_hash
    from services.cli.transactions import transact
    from services.common.formatting import format_ether, plural

    nft, source = open_nft(provider, nft_address, dao_address)
    if nft.paused():
        raise CliError(describe_custom_error("EnforcedPause", {}))
    minted, max_supply = int(nft.totalSupply()), int(nft.maxSupply())
    remaining = max_supply - minted
    if remaining == 0:
        raise CliError(f"sold out: all {max_supply} tokens are minted")
    if quantity > remaining:
        raise CliError(
            describe_custom_error(
                "SpheronDevsNFTSoldOut", {"requested": quantity, "remaining": remaining}
            )
            + f" (max supply {max_supply})"
        )
    buyer = require_account(account)
    cost = int(nft.price()) * quantity
    balance = int(buyer.balance)
    if balance < cost:
        raise CliError(
            f"insufficient funds: minting {plural(quantity, 'token')} costs {format_ether(cost)} "
            f"plus gas; {buyer.address} has {format_ether(balance)}"
        )

    fact("NFT", f"{nft.address} (from {source})")
    receipt = transact(nft, "mint", quantity, sender=buyer, value=cost)
    event = nft.Minted.from_receipt(receipt)[0]
    first = int(event.firstTokenId)
    ids = ", ".join(str(token) for token in range(first, first + int(event.quantity)))
    fact(
        "minted",
        f"{plural(int(event.quantity), 'token')} ({'id' if quantity == 1 else 'ids'} {ids}) "
        f"to {event.to} for {format_ether(event.paid)} (tx {hex_hash(receipt.txn_hash)}, "
        f"block {receipt.block_number})",
    )
    votes = int(nft.getVotes(buyer.address))
    fact(
        "voting power",
        f"{buyer.address} has {plural(votes, 'vote')}, counted for proposals created after "
        f"block {receipt.block_number}",
    )
    delegate = str(nft.delegates(buyer.address))
    if delegate.lower() != buyer.address.lower():
        fact("delegate", f"the votes of these tokens go to {delegate} (set earlier)")
    fact("supply", f"{int(nft.totalSupply())} of {max_supply} minted")
