"""`ape run watcher`: the deploy bot. Creates each executed proposal's instance exactly once.

Examples:

    ape run watcher --network ethereum:sepolia            # Etherscan V2 logs, until Ctrl-C
    ape run watcher --network ethereum:sepolia --once     # for cron: catch up, then exit
    ape run watcher --network ethereum:local:http://127.0.0.1:8545 --status-port 9464

Settings come from the environment or `.env` (see `.env.example`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import click

from services.network_choice import NetworkChoice
from services.watcher_command import PUBLIC_CONFIRMATIONS


@click.command(short_help="Run the deploy bot")
@click.option(
    "--network",
    "choice",
    default="ethereum:local",
    show_default=True,
    callback=lambda _ctx, _param, value: _parse_choice(value),
    help="ECOSYSTEM:NETWORK[:PROVIDER], e.g. ethereum:sepolia.",
)
@click.option(
    "--source",
    type=click.Choice(["etherscan", "rpc"]),
    help="Log source. Default: etherscan on public networks (no RPC needed), rpc on local ones.",
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
    "--poll-interval",
    type=click.FloatRange(min=0.05),
    help="Seconds between polls (default 5; 1 on local chains).",
)
@click.option("--dry-run", is_flag=True, help="Validate and record the plan; create nothing.")
@click.option("--status-port", type=click.IntRange(0, 65535), help="Serve /healthz, /metrics, ...")
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Web page origin (e.g. the members' web app, http://127.0.0.1:8000) allowed to read the "
    "status server from a browser; repeatable; added to $DEPLOYBOT_CORS_ORIGINS. Default: none.",
)
@click.option(
    "--dao", "dao_override", help="DAO address (else DAO_CONTRACT_ADDRESS or ape-config)."
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging, tracebacks on errors.")
def cli(
    choice: NetworkChoice,
    source: str | None,
    once: bool,
    from_block: int | None,
    confirmations: int | None,
    poll_interval: float | None,
    dry_run: bool,
    status_port: int | None,
    cors_origins: tuple[str, ...],
    dao_override: str | None,
    verbose: bool,
) -> None:
    """Watch the DAO's DeployEvents and create each approved Spheron instance exactly once."""
    from dotenv import load_dotenv

    load_dotenv(override=False)

    from services.bot_logging import configure_logging, environment_secrets
    from services.cors import parse_origins
    from services.settings import SettingsError, load_settings
    from services.watcher import FatalBotError
    from services.watcher_command import WatcherRun

    try:
        settings = load_settings()
    except SettingsError as error:
        _fail(str(error))
    try:
        origins = parse_origins([settings.deploybot_cors_origins or "", *cors_origins])
    except ValueError as error:
        _fail(f"--cors-origin: {error}")
    configure_logging(
        [*settings.secret_values(), *environment_secrets(os.environ)], verbose=verbose
    )
    run = WatcherRun(
        choice=choice,
        source=source or ("rpc" if choice.is_local else "etherscan"),
        dao_override=dao_override or settings.dao_contract_address,
        from_block=from_block,
        confirmations=confirmations,
        poll_interval=poll_interval,
        once=once,
        dry_run=dry_run,
        status_port=status_port,
        cors_origins=origins,
    )
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        code = run.execute(settings, stop)
    except (FatalBotError, SettingsError) as error:
        _fail(str(error))
    except Exception as error:  # anything unexpected: one line, not a traceback (unless -v)
        if verbose:
            raise
        _fail(f"{type(error).__name__}: {error}")
    sys.exit(code)


def _parse_choice(value: str) -> NetworkChoice:
    try:
        return NetworkChoice.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


def _stop_on_signals(stop: threading.Event) -> None:
    """SIGINT/SIGTERM: finish the current step, then exit. A second signal exits at once."""

    def handle(signum, _frame):
        if stop.is_set():
            raise KeyboardInterrupt
        click.echo(f"{signal.Signals(signum).name}: finishing the current step", err=True)
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)
