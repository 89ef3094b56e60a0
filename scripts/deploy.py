"""ape run deploy — deploy SpheronDevsNFT, then SpheronDevsDAO governed by it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click
from ape.cli import account_option

from services.cli.command import DaoCommand
from services.cli.params import Duration, EtherAmount, Percent
from services.spec.model import MAX_DAO_SPEC_BYTES, MAX_SPEC_BYTES

if TYPE_CHECKING:
    from ape.api import AccountAPI, NetworkAPI, ProviderAPI

MAX_VOTING_PERIOD = 2**32 - 1


@click.command(
    cls=DaoCommand,
    short_help="Deploy the membership NFT and the DAO.",
    help="""Deploy SpheronDevsNFT (the membership token: one token, one vote) and then
    SpheronDevsDAO governed by it, from --account.

    Prints both addresses, the DAO's deployment block (where log scans start), and the lines
    to add under deployments: in ape-config.yaml (or to .env) so the other scripts and the
    deploy bot find the contracts. With --publish the sources are verified on Etherscan
    (needs ETHERSCAN_API_KEY).

    Example: ape run deploy --network ethereum:sepolia --account deployer --voting-period 1d
    """,
)
@account_option(prompt=False)
@click.option("--name", default="Spheron Devs", show_default=True, help="NFT name.")
@click.option("--symbol", default="SPD", show_default=True, help="NFT symbol.")
@click.option(
    "--base-uri",
    default="",
    help="Metadata base URI, e.g. ipfs://<cid>/ (a trailing / is added); empty: no metadata.",
)
@click.option(
    "--price",
    type=EtherAmount(),
    default="0.01",
    show_default=True,
    help="Price of one token in ether (or with a unit: '10 gwei'); 0 for a free mint.",
)
@click.option(
    "--max-supply", type=click.IntRange(min=1), default=10, show_default=True, help="Token cap."
)
@click.option(
    "--owner",
    metavar="ADDRESS",
    help="NFT owner (may pause minting, set the base URI, withdraw proceeds); default: --account.",
)
@click.option(
    "--voting-period",
    type=Duration(),
    default="5m",
    show_default=True,
    help="How long proposals accept votes: seconds or 90s / 5m / 2h / 3d.",
)
@click.option(
    "--quorum",
    type=Percent(),
    default="20",
    show_default=True,
    help="Percent of the token supply at the snapshot that must vote For or Abstain.",
)
@click.option(
    "--threshold",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Votes needed to create a proposal.",
)
@click.option(
    "--max-spec-bytes",
    type=click.IntRange(min=1, max=MAX_DAO_SPEC_BYTES),
    default=MAX_SPEC_BYTES,
    show_default=True,
    help="Largest proposal JSON accepted, in bytes.",
)
@click.option("--publish", is_flag=True, help="Verify both contracts on Etherscan.")
def cli(
    account: AccountAPI | None,
    name: str,
    symbol: str,
    base_uri: str,
    price: int,
    max_supply: int,
    owner: str | None,
    voting_period: int,
    quorum: int,
    threshold: int,
    max_spec_bytes: int,
    publish: bool,
    network: NetworkAPI,
    provider: ProviderAPI,
):
    from ape import project

    from services.chain.contracts import ENV_VARS, checksum
    from services.cli.accounts import require_account
    from services.cli.errors import CliError
    from services.cli.output import fact, hex_hash
    from services.common.formatting import format_duration, format_ether, plural

    if not 1 <= voting_period <= MAX_VOTING_PERIOD:
        raise CliError(f"--voting-period must be 1 s to {MAX_VOTING_PERIOD} s")
    if publish and network.is_dev:
        raise CliError(
            f"--publish needs a public network with an Etherscan explorer (e.g. "
            f"ethereum:sepolia), not {network.ecosystem.name}:{network.name}"
        )
    if publish and not os.environ.get("ETHERSCAN_API_KEY"):
        raise CliError("--publish needs ETHERSCAN_API_KEY (environment or .env)")
    if publish and network.explorer is None:
        raise CliError(f"--publish: no block explorer is configured for {network.name}")
    deployer = require_account(account)
    nft_owner = checksum(owner, "--owner") if owner else deployer.address

    fact("network", f"{provider.network_choice} (chain id {provider.chain_id})")
    fact("deployer", deployer.address)
    nft = deployer.deploy(
        project.SpheronDevsNFT,
        name,
        symbol,
        base_uri,
        price,
        max_supply,
        nft_owner,
    )
    fact("SpheronDevsNFT", f"{nft.address} (tx {hex_hash(nft.txn_hash)})")
    dao = deployer.deploy(
        project.SpheronDevsDAO,
        nft.address,
        voting_period,
        quorum,
        threshold,
        max_spec_bytes,
    )
    fact("SpheronDevsDAO", f"{dao.address} (tx {hex_hash(dao.txn_hash)})")
    fact("deployment block", f"{dao.deploymentBlock()} (log scans start here)")
    fact(
        "NFT settings",
        f"{nft.name()!r} ({nft.symbol()}), price {format_ether(nft.price())}, max supply "
        f"{nft.maxSupply()}, owner {nft.owner()}, base URI {nft.baseURI()!r}",
    )
    fact(
        "DAO settings",
        f"voting period {format_duration(voting_period)} ({voting_period} s), quorum "
        f"{quorum / 100:g}% of the supply at the snapshot ({quorum} bps), proposal threshold "
        f"{plural(threshold, 'vote')}, max spec {max_spec_bytes} bytes",
    )
    if publish:
        _publish(network, {"SpheronDevsNFT": nft.address, "SpheronDevsDAO": dao.address})

    ecosystem_name, network_name = network.ecosystem.name, network.name
    click.echo("")
    click.echo("Add to ape-config.yaml (replacing `deployments: {}`):")
    click.echo("deployments:")
    click.echo(f"  {ecosystem_name}:")
    click.echo(f"    {network_name}:")
    for contract_name, address in (
        ("SpheronDevsNFT", nft.address),
        ("SpheronDevsDAO", dao.address),
    ):
        click.echo(f"      - contract_type: {contract_name}")
        click.echo(f'        address: "{address}"')
    click.echo("or put in .env:")
    click.echo(f"{ENV_VARS['SpheronDevsDAO']}={dao.address}")
    click.echo(f"{ENV_VARS['SpheronDevsNFT']}={nft.address}")
    if not network.is_dev:
        click.echo("(Ape also cached both deployments; on this machine the scripts find them.)")


def _publish(network: NetworkAPI, contracts: dict[str, str]) -> None:
    """Verify each contract on the network's explorer; a failure is reported, not fatal (the
    contracts are deployed either way)."""
    from services.cli.failures import failure_message

    for contract_name, address in contracts.items():
        try:
            network.publish_contract(address)
        except Exception as exc:  # the deployment stands; say what failed and go on
            click.echo(
                f"warning: {contract_name} was deployed but not verified: {failure_message(exc)}",
                err=True,
            )
        else:
            click.echo(f"published: {contract_name} verified on {network.explorer.name}")
