"""ape run app — serve the members' web app for a network on 127.0.0.1."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from services.cli.command import DaoCommand
from services.cli.params import dao_option

if TYPE_CHECKING:
    from ape.api import NetworkAPI, ProviderAPI


@click.command(
    cls=DaoCommand,
    short_help="Serve the members' web app (proposals, votes, deployments) for a network.",
    help="""Serve the members' web app on 127.0.0.1 for the DAO on --network: proposals with
    their exact spec, votes, execution, membership and the deploy bot's deployments, in the
    browser, with any EIP-1193 wallet (MetaMask, Rabby, Frame, ...).

    The page reads the chain through the provider's RPC URL (or --rpc-url) and signs with the
    wallet. --bot-url points it at the deploy bot's status server (`ape run watcher
    --status-port 9464 --cors-origin http://127.0.0.1:PORT`). Stop with Ctrl-C.

    Example: ape run app --network ethereum:sepolia --bot-url http://127.0.0.1:9464
    """,
)
@dao_option()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--bot-url",
    metavar="URL",
    envvar="DEPLOYBOT_STATUS_URL",
    help="The deploy bot's status server, e.g. http://127.0.0.1:9464 (default: "
    "$DEPLOYBOT_STATUS_URL; none: the page shows no deployments).",
)
@click.option(
    "--rpc-url",
    metavar="URL",
    help="JSON-RPC URL the browser reads from (default: the provider's). The page sees it: on "
    "a shared machine, prefer an endpoint without an API key in the URL.",
)
@click.option("--explorer-url", metavar="URL", help="Block explorer base URL for tx links.")
def cli(
    port: int,
    dao_address: str | None,
    bot_url: str | None,
    rpc_url: str | None,
    explorer_url: str | None,
    network: NetworkAPI,
    provider: ProviderAPI,
):
    import os

    from services.cli.contracts import open_dao
    from services.cli.errors import CliError
    from services.cli.output import fact
    from services.common.redaction import redact
    from services.webapp.config import (
        LOCAL_POLL_INTERVAL_MS,
        PUBLIC_POLL_INTERVAL_MS,
        AppConfig,
        AppConfigError,
    )
    from services.webapp.serve import serve_until_stopped
    from services.webapp.server import AppNotBuiltError, WebAppServer

    dao, source = open_dao(provider, dao_address)
    rpc = rpc_url or getattr(provider, "http_uri", None)
    if not rpc:
        raise CliError(
            f"the provider of {provider.network_choice} has no HTTP RPC URL the browser could use: "
            "run a node (e.g. anvil) and pass --network ethereum:local:http://127.0.0.1:8545, or "
            "give --rpc-url"
        )
    try:
        config = AppConfig(
            chain_id=int(provider.chain_id),
            chain_name=network.name.replace("-", " ").capitalize(),
            rpc_url=str(rpc),
            dao_address=str(dao.address),
            nft_address=str(dao.token()),
            deployment_block=int(dao.deploymentBlock()),
            bot_url=bot_url.rstrip("/") if bot_url else None,
            explorer_url=explorer_url.rstrip("/") if explorer_url else None,
            poll_interval_ms=LOCAL_POLL_INTERVAL_MS if network.is_dev else PUBLIC_POLL_INTERVAL_MS,
        )
        server = WebAppServer(config, port=port).start()
    except (AppConfigError, AppNotBuiltError) as error:
        raise CliError(str(error)) from None
    except OSError as error:
        raise CliError(f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}") from None
    fact("DAO", f"{config.dao_address} (from {source}), NFT {config.nft_address}")
    fact(
        "chain", f"{config.chain_name} (chain id {config.chain_id}), RPC {redact(rpc, os.environ)}"
    )
    fact("deploy bot", config.bot_url or "none (--bot-url to show deployments)")
    fact("app", f"{server.url}/  (Ctrl-C to stop)")
    serve_until_stopped(server)
    click.echo("app: stopped")
