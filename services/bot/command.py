"""The Ape side of `ape run watcher`: which network, which DAO, whether to connect to a node, and
how the process stops.

The bot itself (`services.bot.assembly`) is plain Python; this module turns the command line into
its options. On public networks with the Etherscan source nothing connects to a node: the chain id
is the network's. Development networks (local, forks) always read their own node, with no
confirmations by default. Otherwise the bot runs inside the Ape provider's context.

Stopping: the bot runs in a worker thread; SIGINT/SIGTERM set the stop event, which ends every wait
at once. A request already in flight (up to the client's timeout) is not waited for beyond
`STOP_GRACE_S`: the process exits with the request abandoned, which the ledger makes as safe as a
`kill -9` (see the deployer's in-flight rule). So the bot always stops within about two seconds.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.bot.assembly import BotOptions, etherscan_source, rpc_source, run_bot
from services.bot.metrics import BotMetrics
from services.bot.settings import BotSettings
from services.chain.log_sources import LogSource

if TYPE_CHECKING:
    from ape.api import NetworkAPI, ProviderAPI

logger = logging.getLogger(__name__)

#: Ape's default for live networks; reorgs on Ethereum are almost always one block deep.
PUBLIC_CONFIRMATIONS = 2
#: Seconds between polls when not given: Etherscan's free tier allows 3 calls/s.
PUBLIC_POLL_INTERVAL_S = 5.0
LOCAL_POLL_INTERVAL_S = 1.0
#: Blocks re-read below the checkpoint on public networks: an event whose log is indexed up to
#: this many blocks (~25 minutes on Ethereum) after the head its source reported is still found.
PUBLIC_REREAD_BLOCKS = 128
#: Seconds a stopping bot waits for a step in flight before exiting without it.
STOP_GRACE_S = 1.5


@dataclass(frozen=True)
class WatcherRun:
    """The command line's choices. `execute` resolves the DAO and the chain, takes the ledger
    lock, connects to a node only when the log source needs one, and runs the bot."""

    network: NetworkAPI
    provider: ProviderAPI
    source: str
    dao_override: str | None
    from_block: int | None
    confirmations: int | None
    poll_interval: float | None
    once: bool
    dry_run: bool
    status_port: int | None
    status_host: str = "127.0.0.1"
    cors_origins: tuple[str, ...] = ()
    reread_blocks: int | None = None

    def execute(self, settings: BotSettings, stop: threading.Event) -> int:
        from ape import project

        from services.chain.contracts import resolve_address

        network = self.network
        dao = resolve_address(
            "SpheronDevsDAO",
            ecosystem=network.ecosystem.name,
            network=network.name,
            override=self.dao_override,
        )

        def deployment_block() -> int:
            return project.SpheronDevsDAO.at(dao).deploymentBlock()

        if network.is_dev:
            # A development chain's id is only known once connected (anvil 31337, Ape 1337).
            with network.use_provider(self.provider) as provider:
                return run_bot(
                    settings,
                    lambda _metrics, _stack: rpc_source(provider.make_request, dao),
                    self._options(provider.chain_id, dao),
                    stop=stop,
                    default_start=deployment_block,
                )

        chain_id = network.chain_id  # a public network's: nothing connects before the lock
        if self.source == "etherscan":
            return run_bot(
                settings,
                lambda metrics, _stack: etherscan_source(settings, chain_id, dao, metrics, stop),
                self._options(chain_id, dao),
                stop=stop,
            )

        def connected_rpc(_metrics: BotMetrics, stack: ExitStack) -> LogSource:
            provider = stack.enter_context(network.use_provider(self.provider))
            return rpc_source(provider.make_request, dao)

        return run_bot(
            settings,
            connected_rpc,
            self._options(chain_id, dao),
            stop=stop,
            default_start=deployment_block,
        )

    def _options(self, chain_id: int, dao: str) -> BotOptions:
        local = self.network.is_dev
        confirmations = self.confirmations
        if confirmations is None:
            confirmations = 0 if local else PUBLIC_CONFIRMATIONS
        reread = self.reread_blocks
        if reread is None:
            reread = 0 if local else PUBLIC_REREAD_BLOCKS
        return BotOptions(
            chain_id=chain_id,
            dao_address=dao,
            confirmations=confirmations,
            poll_interval_s=self.poll_interval
            or (LOCAL_POLL_INTERVAL_S if local else PUBLIC_POLL_INTERVAL_S),
            reread_blocks=reread,
            from_block=self.from_block,
            once=self.once,
            dry_run=self.dry_run,
            status_port=self.status_port,
            status_host=self.status_host,
            cors_origins=self.cors_origins,
        )


@dataclass
class _Outcome:
    code: int | None = None
    error: BaseException | None = None


def ledger_chain_id(network: NetworkAPI, provider: ProviderAPI) -> int:
    """The chain id the bot's ledger of this network is bound to: the network's, or, on a
    development chain, the connected node's."""
    if not network.is_dev:
        return network.chain_id
    with network.use_provider(provider) as connected:
        return connected.chain_id


def run_until_stopped(
    work: Callable[[], int], stop: threading.Event, *, grace_s: float = STOP_GRACE_S
) -> tuple[int, bool]:
    """Run `work()` in a daemon thread until it returns or `stop` is set.

    Returns `(exit code, finished)`; `finished` is False when the work was still busy `grace_s`
    after the stop request (the caller then exits the process without waiting for it). An
    exception raised by `work` is raised here.
    """
    outcome = _Outcome()

    def target() -> None:
        try:
            outcome.code = work()
        except BaseException as error:  # handed to the calling thread
            outcome.error = error

    worker = threading.Thread(target=target, name="deploy-bot", daemon=True)
    worker.start()
    while worker.is_alive() and not stop.is_set():
        worker.join(0.1)
    worker.join(grace_s if stop.is_set() else None)
    if worker.is_alive():
        logger.warning(
            "stopping now; a request in flight is abandoned (safe: the ledger resumes it)"
        )
        return 0, False
    if outcome.error is not None:
        raise outcome.error
    return (outcome.code if outcome.code is not None else 0), True
