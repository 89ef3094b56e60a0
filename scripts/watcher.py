"""`ape run watcher`: the deploy bot. Creates, updates and closes each executed proposal's instance
exactly once, reports drift from what was voted, and notifies the webhooks of DEPLOYBOT_NOTIFY.

Examples:

    ape run watcher --network ethereum:sepolia            # Etherscan V2 logs, until Ctrl-C
    ape run watcher --network ethereum:sepolia --once     # for cron: catch up, then exit
    ape run watcher --network ethereum:local:http://127.0.0.1:8545 --status-port 9464

Settings come from the environment or `.env` (see `.env.example`). Exit codes: 0 stopped or done,
1 a `--once` run could not finish (an outside service failed), 2 usage error, 78 configuration or
credentials wrong (systemd does not restart it), 130 a second stop signal.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

import click
from ape.cli import network_option

from services.bot.command import PUBLIC_CONFIRMATIONS, PUBLIC_REREAD_BLOCKS
from services.common import exit_codes

if TYPE_CHECKING:
    from ape.api import NetworkAPI, ProviderAPI


@click.command(short_help="Run the deploy bot")
@network_option(default="ethereum:local")
@click.option(
    "--source",
    type=click.Choice(["etherscan", "rpc"]),
    help="Log source. Default: etherscan on public networks (no RPC needed), rpc on local "
    "networks and forks (which always read their own node).",
)
@click.option(
    "--once", is_flag=True, help="Process everything confirmed up to the head, then exit."
)
@click.option("--from-block", type=click.IntRange(min=0), help="Start block when no checkpoint.")
@click.option(
    "--confirmations",
    type=click.IntRange(min=0),
    help=f"Blocks an event must be buried under (default {PUBLIC_CONFIRMATIONS}; 0 on local).",
)
@click.option(
    "--reread-blocks",
    type=click.IntRange(min=0),
    help=f"Blocks below the checkpoint read again each poll, for a log index that lags its head "
    f"(default {PUBLIC_REREAD_BLOCKS}; 0 on local).",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.05),
    help="Seconds between polls (default 5; 1 on local chains).",
)
@click.option("--dry-run", is_flag=True, help="Validate and record the plan; create nothing.")
@click.option("--status-port", type=click.IntRange(0, 65535), help="Serve /healthz, /metrics, ...")
@click.option(
    "--status-host",
    help="Address the status server binds (default $DEPLOYBOT_STATUS_HOST or 127.0.0.1; "
    "0.0.0.0 for every interface, as in the container image).",
)
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Web page origin (e.g. the members' web app, http://127.0.0.1:8000) allowed to read the "
    "status server from a browser; repeatable; added to $DEPLOYBOT_CORS_ORIGINS. Default: none.",
)
@click.option(
    "--drift-interval",
    type=click.FloatRange(min=1),
    help="Seconds between two comparisons of every live instance with what the DAO voted "
    "(default $DEPLOYBOT_DRIFT_INTERVAL or 600).",
)
@click.option(
    "--dao", "dao_override", help="DAO address (else DAO_CONTRACT_ADDRESS or ape-config)."
)
def cli(
    network: NetworkAPI,
    provider: ProviderAPI,
    source: str | None,
    once: bool,
    from_block: int | None,
    confirmations: int | None,
    reread_blocks: int | None,
    poll_interval: float | None,
    dry_run: bool,
    status_port: int | None,
    status_host: str | None,
    cors_origins: tuple[str, ...],
    drift_interval: float | None,
    dao_override: str | None,
) -> None:
    """Watch the DAO's DeployEvents; create, update or close each approved Spheron instance exactly
    once, and report drift from what was voted."""
    from ape.logging import LogLevel
    from ape.logging import logger as ape_logger

    from services.bot.command import WatcherRun, run_until_stopped
    from services.bot.log_setup import configure_logging
    from services.bot.settings import load_settings
    from services.cli.errors import ConfigError
    from services.cli.failures import report_failures
    from services.common.cors import parse_origins
    from services.common.env import load_env

    load_env()
    with report_failures():
        settings = load_settings()
        if drift_interval is not None:
            settings = settings.model_copy(update={"deploybot_drift_interval_s": drift_interval})
        try:
            origins = parse_origins([settings.deploybot_cors_origins or "", *cors_origins])
        except ValueError as error:
            raise ConfigError(f"CORS origin: {error}") from None
        configure_logging(
            settings.redaction_secrets(os.environ), verbose=ape_logger.level <= LogLevel.DEBUG
        )
        run = WatcherRun(
            network=network,
            provider=provider,
            source=source or ("rpc" if network.is_dev else "etherscan"),
            dao_override=dao_override or settings.dao_contract_address,
            from_block=from_block,
            confirmations=confirmations,
            poll_interval=poll_interval,
            once=once,
            dry_run=dry_run,
            status_port=status_port,
            status_host=status_host or settings.deploybot_status_host,
            cors_origins=origins,
            reread_blocks=reread_blocks,
        )
        stop = threading.Event()
        _stop_on_signals(stop)
        code, finished = run_until_stopped(lambda: run.execute(settings, stop), stop)
    if not finished:
        _exit_now(code)
    sys.exit(code)


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGINT/SIGTERM: stop within about two seconds. A second signal exits at once."""

    def handle(signum, _frame):
        if stop.is_set():
            _exit_now(exit_codes.INTERRUPTED)
        click.echo(f"{signal.Signals(signum).name}: stopping", err=True)
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _exit_now(code: int) -> None:
    """Exit without waiting for the bot's thread (its state is safe in the ledger)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
