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

#: Ape's default for live networks; reorgs on Ethereum are almost always one block deep.
PUBLIC_CONFIRMATIONS = 2


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
    dao_override: str | None,
    verbose: bool,
) -> None:
    """Watch the DAO's DeployEvents and create each approved Spheron instance exactly once."""
    from dotenv import load_dotenv

    load_dotenv(override=False)

    from services.bot import BotOptions
    from services.bot_logging import configure_logging, environment_secrets
    from services.settings import SettingsError, load_settings
    from services.watcher import FatalBotError, WatchOptions

    try:
        settings = load_settings()
    except SettingsError as error:
        _fail(str(error))
    configure_logging(
        [*settings.secret_values(), *environment_secrets(os.environ)], verbose=verbose
    )
    if confirmations is None:
        confirmations = 0 if choice.is_local else PUBLIC_CONFIRMATIONS
    watch = WatchOptions(
        confirmations=confirmations,
        poll_interval_s=poll_interval or (1.0 if choice.is_local else 5.0),
        start_block=from_block if from_block is not None else -1,
        once=once,
    )
    partial = BotOptions(
        chain_id=0, dao_address="", watch=watch, dry_run=dry_run, status_port=status_port
    )
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        code = _run(
            settings,
            choice,
            source or ("rpc" if choice.is_local else "etherscan"),
            dao_override or settings.dao_contract_address,
            partial,
            stop,
        )
    except (FatalBotError, SettingsError) as error:
        _fail(str(error))
    except Exception as error:  # anything unexpected: one line, not a traceback (unless -v)
        if verbose:
            raise
        _fail(f"{type(error).__name__}: {error}")
    sys.exit(code)


def _run(settings, choice: NetworkChoice, source_name: str, dao_override, partial, stop) -> int:
    """Resolve the DAO and chain, connect only when needed, and run the bot."""
    from dataclasses import replace

    from ape import networks, project

    from services.bot import etherscan_source, rpc_source, run_bot
    from services.dao_contracts import resolve_address

    dao = resolve_address(
        "SpheronDevsDAO", ecosystem=choice.ecosystem, network=choice.network, override=dao_override
    )

    def complete(chain_id: int, default_start: int):
        start = partial.watch.start_block
        watch = replace(partial.watch, start_block=default_start if start < 0 else start)
        return replace(partial, chain_id=chain_id, dao_address=dao, watch=watch)

    if source_name == "etherscan" and not choice.is_local:
        # No RPC connection at all: the chain id is the network's, and Etherscan's address index
        # makes a scan from block 0 cheap when there is no checkpoint yet.
        chain_id = choice.chain_id()
        return run_bot(
            settings,
            lambda metrics: etherscan_source(settings, chain_id, dao, metrics),
            complete(chain_id, 0),
            stop=stop,
        )

    with networks.parse_network_choice(choice.text) as provider:
        chain_id = provider.chain_id
        deployment_block = project.SpheronDevsDAO.at(dao).deploymentBlock()
        if source_name == "rpc":

            def make_source(_metrics):
                return rpc_source(provider.make_request, dao)
        else:

            def make_source(metrics):
                return etherscan_source(settings, chain_id, dao, metrics)

        return run_bot(settings, make_source, complete(chain_id, deployment_block), stop=stop)


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
