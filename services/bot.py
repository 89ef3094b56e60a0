"""Assembles the deploy bot from its settings: log source, ledger, policy, Spheron target, status
server, and runs the watcher loop. The Ape-specific parts (network, provider, contract addresses)
stay in `scripts/watcher.py`; everything here is plain Python.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.deploy_target import DeployTarget, TargetAuthError, TargetUnavailableError
from services.deployer import Deployer, DeployerOptions
from services.etherscan import EtherscanClient
from services.ledger import Ledger, default_ledger_path
from services.log_source import EtherscanLogSource, LogSource, RpcLogSource
from services.metrics import BotMetrics
from services.policy import load_policy
from services.settings import BotSettings, require
from services.spheron import SpheronClient, SpheronTarget
from services.status_server import StatusServer
from services.watcher import FatalBotError, Watcher, WatchOptions

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
    """Command-line choices of one bot run."""

    chain_id: int
    dao_address: str
    watch: WatchOptions
    dry_run: bool = False
    status_port: int | None = None
    cors_origins: tuple[str, ...] = ()


def ledger_path(settings: BotSettings, chain_id: int, dao_address: str) -> Path:
    """`DEPLOYBOT_DB`, or the per-chain-and-contract default."""
    return settings.deploybot_db or default_ledger_path(chain_id, dao_address)


def etherscan_source(
    settings: BotSettings, chain_id: int, dao_address: str, metrics: BotMetrics
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
    )
    return EtherscanLogSource(client, dao_address, page_size=settings.etherscan_page_size)


def rpc_source(request: Callable[[str, list[Any]], Any], dao_address: str) -> RpcLogSource:
    """A log source on `eth_getLogs` through a connected provider's `make_request`."""
    return RpcLogSource(request, dao_address)


def spheron_target(settings: BotSettings) -> DeployTarget:
    """The Spheron target, with its token checked now so a bad token stops the bot at start."""
    token = require(
        settings.spheron_access_token,
        "SPHERON_ACCESS_TOKEN",
        "the bot needs a Spheron compute token to deploy (or run with --dry-run)",
    )
    client = SpheronClient(str(settings.spheron_api_url), token)
    try:
        organization = client.organization_id()
    except TargetAuthError as error:
        raise FatalBotError(f"SPHERON_ACCESS_TOKEN was refused: {error}") from None
    except TargetUnavailableError as error:
        logger.warning("Spheron API not reachable yet (%s); will retry", error)
    else:
        logger.info("Spheron API %s, organisation %s", settings.spheron_api_url, organization)
    return SpheronTarget(client)


@contextmanager
def _single_instance_lock(ledger: Path) -> Iterator[None]:
    """One bot per ledger: two would race each other's creates. The OS drops the lock when the
    process dies, even by kill -9, so a restart never finds a stale lock."""
    with open(f"{ledger}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FatalBotError(f"another watcher is already using the ledger {ledger}") from None
        yield


def run_bot(
    settings: BotSettings,
    make_source: Callable[[BotMetrics], LogSource],
    options: BotOptions,
    *,
    stop: threading.Event,
    environ: Mapping[str, str] = os.environ,
) -> int:
    """Run the watcher until `stop` is set (or once); returns the exit code.

    `make_source(metrics)` builds the log source, so that it can count its API errors.
    """
    metrics = BotMetrics()
    source = make_source(metrics)
    policy = load_policy(settings.deploybot_policy)
    target = None if options.dry_run else spheron_target(settings)
    path = ledger_path(settings, options.chain_id, options.dao_address)
    path.parent.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        stack.enter_context(_single_instance_lock(path))
        ledger = stack.enter_context(
            Ledger(path, chain_id=options.chain_id, dao_address=options.dao_address)
        )
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
            ),
            environ=environ,
        )
        if options.status_port is not None:
            server = StatusServer(
                path,
                metrics,
                port=options.status_port,
                max_poll_age_s=max(60.0, 3 * options.watch.poll_interval_s + 30),
                allowed_origins=options.cors_origins,
                policy=policy,
            )
            stack.enter_context(server)
            logger.info("status on %s (/healthz, /metrics, /deployments)", server.url)
        checkpoint = ledger.checkpoint()
        logger.info(
            "watching DAO %s on chain %d via %s from block %d, %d confirmation%s%s; ledger %s",
            options.dao_address,
            options.chain_id,
            source.name,
            options.watch.start_block if checkpoint is None else checkpoint + 1,
            options.watch.confirmations,
            "" if options.watch.confirmations == 1 else "s",
            " (dry run: nothing is created)" if options.dry_run else "",
            path,
        )
        watcher = Watcher(source, ledger, deployer, metrics, options.watch, stop)
        return watcher.run()
