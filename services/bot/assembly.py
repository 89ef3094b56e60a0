"""Assembles the deploy bot from its settings: ledger (and its lock or leadership), log source,
policy, Spheron target, status server, notification delivery and drift watch, and runs the
watcher loop. The Ape-specific parts (network, provider, contract addresses) stay in
`services.bot.command`; everything here is plain Python.

Order matters. On SQLite the single-instance lock on the ledger is taken first, so a second bot on
the same ledger exits at once without calling any outside service. On PostgreSQL any number of
replicas may start: each gets a name of its own (host, process, random), waits for the database
if it cannot be reached yet, and leads or follows (`services.bot.leadership`).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from services.bot.deployer import SOLE_REPLICA, Deployer, DeployerOptions
from services.bot.drift import DriftWatch
from services.bot.leadership import AdvisoryLeadership, Leadership, SoleLeader
from services.bot.ledger import (
    Ledger,
    LedgerError,
    LedgerLocation,
    LedgerUnavailableError,
    default_ledger_path,
)
from services.bot.ledger_lock import ledger_lock
from services.bot.metrics import BotMetrics
from services.bot.notify import Sink
from services.bot.outbox import OutboxDelivery
from services.bot.settings import BotSettings, require
from services.bot.status_server import StatusServer
from services.bot.watcher import FatalBotError, Watcher, WatchOptions
from services.chain.etherscan import EtherscanClient
from services.chain.log_sources import EtherscanLogSource, LogSource, RpcLogSource
from services.common.redaction import Redactor
from services.spec.policy import load_policy
from services.targets.base import (
    DeployTarget,
    TargetAuthError,
    TargetRejectedError,
    TargetUnavailableError,
)
from services.targets.spheron import SpheronClient, SpheronTarget

logger = logging.getLogger(__name__)

_ETHERSCAN_ERROR_KINDS = {
    "rate_limited": "rate_limit",
    "daily_limit": "rate_limit",
    "query_timeout": "timeout",
    "fatal": "fatal",
    "transient": "unavailable",
}


@dataclass(frozen=True)
class BotOptions:
    """Command-line choices of one bot run. `from_block` None: the DAO's deployment block (or
    the default start the caller gives) when the ledger has no checkpoint yet."""

    chain_id: int
    dao_address: str
    confirmations: int
    poll_interval_s: float
    reread_blocks: int
    from_block: int | None = None
    once: bool = False
    dry_run: bool = False
    status_port: int | None = None
    status_host: str = "127.0.0.1"
    cors_origins: tuple[str, ...] = ()


def ledger_location(settings: BotSettings, chain_id: int, dao_address: str) -> LedgerLocation:
    """`DEPLOYBOT_DB` (a SQLite path or a PostgreSQL URL), or the per-chain-and-contract SQLite
    default."""
    return LedgerLocation.parse(settings.deploybot_db or default_ledger_path(chain_id, dao_address))


def etherscan_source(
    settings: BotSettings,
    chain_id: int,
    dao_address: str,
    metrics: BotMetrics,
    stop: threading.Event | None = None,
) -> EtherscanLogSource:
    """A log source on the Etherscan V2 API; needs `ETHERSCAN_API_KEY`."""
    api_key = require(
        settings.etherscan_api_key, "ETHERSCAN_API_KEY", "the etherscan source needs an API key"
    )

    def count(kind: str) -> None:
        if kind in _ETHERSCAN_ERROR_KINDS:
            metrics.record_api_error("etherscan", _ETHERSCAN_ERROR_KINDS[kind])

    client = EtherscanClient(
        str(settings.etherscan_api_url),
        api_key,
        chain_id,
        calls_per_second=settings.etherscan_calls_per_second,
        on_call=count,
        stop=stop,
    )
    return EtherscanLogSource(client, dao_address, page_size=settings.etherscan_page_size)


def rpc_source(request: Callable[[str, list[Any]], Any], dao_address: str) -> RpcLogSource:
    """A log source on `eth_getLogs` through a connected provider's `make_request`."""
    return RpcLogSource(request, dao_address)


def spheron_target(settings: BotSettings, stop: threading.Event | None = None) -> DeployTarget:
    """The Spheron target, with its token checked now so a bad token stops the bot at start.

    An unreachable API is not fatal (the outage is reported and retried); a refused token, or an
    endpoint that is not the Spheron API, is.
    """
    token = require(
        settings.spheron_access_token,
        "SPHERON_ACCESS_TOKEN",
        "the bot needs a Spheron compute token to deploy (or run with --dry-run)",
    )
    client = SpheronClient(
        str(settings.spheron_api_url), token, timeout_s=settings.spheron_timeout_s, stop=stop
    )
    try:
        organization = client.organization_id()
    except TargetAuthError as error:
        raise FatalBotError(f"SPHERON_ACCESS_TOKEN was refused: {error}") from None
    except TargetRejectedError as error:
        raise FatalBotError(
            f"SPHERON_API_URL {settings.spheron_api_url} does not answer like the Spheron "
            f"Compute API: {error}"
        ) from None
    except TargetUnavailableError as error:
        logger.warning("Spheron API not reachable yet (%s); will retry", error)
    else:
        logger.info("Spheron API %s, organisation %s", settings.spheron_api_url, organization)
    return SpheronTarget(client)


#: Builds the log source once the ledger lock is held; it may enter what it opens (a node
#: connection) into the stack, which is closed when the bot stops.
SourceFactory = Callable[[BotMetrics, ExitStack], LogSource]


def run_bot(
    settings: BotSettings,
    make_source: SourceFactory,
    options: BotOptions,
    *,
    stop: threading.Event,
    default_start: Callable[[], int] = lambda: 0,
    environ: Mapping[str, str] = os.environ,
) -> int:
    """Run the watcher until `stop` is set (or once); returns the exit code.

    `make_source(metrics, stack)` builds the log source after the lock is held, so that a second
    bot on the same ledger never connects anywhere. `default_start()` gives the first block to
    read when the ledger has no checkpoint and no `--from-block` was given.
    """
    location = ledger_location(settings, options.chain_id, options.dao_address)
    sinks = settings.notify_sinks()
    metrics = BotMetrics()
    with ExitStack() as stack:
        opened = _open_ledger(location, settings, options, metrics, stop, stack, sinks)
        if opened is None:
            return 0  # stopped while waiting for the database
        ledger, leadership, replica = opened
        policy = load_policy(settings.deploybot_policy)
        source = make_source(metrics, stack)
        target = None if options.dry_run else spheron_target(settings, stop)
        deployer = Deployer(
            ledger,
            target,
            policy,
            metrics,
            DeployerOptions(
                chain_id=options.chain_id,
                dao_address=options.dao_address,
                dry_run=options.dry_run,
                deploy_timeout_s=settings.deploybot_deploy_timeout_s,
                inflight_margin_s=settings.deploybot_inflight_margin_s,
                replica_id=replica,
                lease_s=settings.deploybot_lease_s,
            ),
            environ=environ,
            clock=ledger.now,  # the database's clock, the same for every replica
        )
        if options.status_port is not None:
            server = StatusServer(
                location,
                metrics,
                host=options.status_host,
                port=options.status_port,
                max_poll_age_s=max(60.0, 3 * options.poll_interval_s + 30),
                allowed_origins=options.cors_origins,
                policy=policy,
                replica=replica,
                lease_s=settings.deploybot_lease_s,
            )
            stack.enter_context(server)
            logger.info("status on %s (/healthz, /metrics, /deployments)", server.url)
        checkpoint = ledger.checkpoint()
        start_block = options.from_block
        if start_block is None:
            start_block = default_start() if checkpoint is None else 0
        watch = WatchOptions(
            confirmations=options.confirmations,
            poll_interval_s=options.poll_interval_s,
            start_block=start_block,
            once=options.once,
            reread_blocks=options.reread_blocks,
        )
        logger.info(
            "watching DAO %s on chain %d via %s from block %d, %d confirmation%s%s; ledger %s, "
            "replica %s",
            options.dao_address,
            options.chain_id,
            source.name,
            start_block if checkpoint is None else checkpoint + 1,
            watch.confirmations,
            "" if watch.confirmations == 1 else "s",
            " (dry run: nothing is created)" if options.dry_run else "",
            location,
            replica,
        )
        if sinks:
            source_fields = {"chain_id": options.chain_id, "dao_address": ledger.dao_address}
            delivery = OutboxDelivery(
                ledger,
                sinks,
                metrics,
                source_fields,
                stop=stop,
                redact=Redactor(settings.redaction_secrets(environ)),
                active=lambda: leadership.leading,
            )
            stack.callback(delivery.join)
            delivery.start()
            logger.info("notifying %s", ", ".join(sink.id for sink in sinks))
        drift = None
        if deployer.target is not None:
            drift = DriftWatch(
                ledger, deployer.target, metrics, interval_s=settings.deploybot_drift_interval_s
            )
        watcher = Watcher(
            source, ledger, deployer, metrics, watch, stop, leadership=leadership, drift=drift
        )
        return watcher.run()


def replica_name() -> str:
    """A name no other replica has, now or later: host, process id and a random suffix (a
    restarted container has the same host name and often the same pid)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def _open_ledger(
    location: LedgerLocation,
    settings: BotSettings,
    options: BotOptions,
    metrics: BotMetrics,
    stop: threading.Event,
    stack: ExitStack,
    sinks: Sequence[Sink],
) -> tuple[Ledger, Leadership, str] | None:
    """The ledger, this replica's leadership and name, entered into `stack`; None if `stop` was
    set while waiting for the database. SQLite: the lock first (one bot, which leads). PostgreSQL:
    a new replica, which waits (paused) while the database cannot be reached."""
    chain_id, dao = options.chain_id, options.dao_address
    sink_ids = [sink.id for sink in sinks]
    if not location.is_postgres:
        stack.enter_context(ledger_lock(location, chain_id, dao))
        ledger = stack.enter_context(
            Ledger(location, chain_id=chain_id, dao_address=dao, notify_sinks=sink_ids)
        )
        return ledger, SoleLeader(metrics), SOLE_REPLICA
    replica = replica_name()
    while True:
        try:
            ledger = stack.enter_context(
                Ledger(location, chain_id=chain_id, dao_address=dao, notify_sinks=sink_ids)
            )
            break
        except LedgerUnavailableError as error:
            metrics.service_failed("ledger", str(error))
            if stop.wait(options.poll_interval_s):
                return None
    metrics.service_ok("ledger")
    leadership = AdvisoryLeadership(
        location, chain_id, dao, metrics, lease_s=settings.deploybot_lease_s
    )
    stack.callback(leadership.release)
    stack.callback(_release_claims, ledger, replica)
    return ledger, leadership, replica


def _release_claims(ledger: Ledger, replica: str) -> None:
    """On a clean stop, hand this replica's rows to the others at once instead of after the
    lease (best effort: a killed replica's claims simply expire)."""
    try:
        released = ledger.release_claims(replica)
    except LedgerError as error:
        logger.debug("claims of %s not released (%s); they expire with the lease", replica, error)
        return
    if released:
        logger.info("released %d claim%s", released, "" if released == 1 else "s")
