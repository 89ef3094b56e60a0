"""The deploy bot's loop: read confirmed DeployEvents, record them, advance their deployments.

One poll:
1. ask the log source for its head; the confirmed head is `head - confirmations`;
2. read every DeployEvent log from `reread_blocks` below the checkpoint's next block (or from the
   start block) up to the confirmed head, batch by batch; each batch's events and the checkpoint at
   its last block are committed together, and events already recorded are ignored;
3. let the deployer advance every unfinished ledger row (validate, create, follow).

Events in blocks younger than `confirmations` are never read, so a reorg that drops them (the usual
one-block reorg on Ethereum) never deploys them. The trailing re-read covers a log index that lags
the head it reports (Etherscan's can): an event indexed up to `reread_blocks` blocks late is still
found, although the checkpoint had passed its block.

Outages of either outside service end the poll; the next poll retries (each outage is logged once
and shown by `/healthz`). Fatal errors (`FatalBotError`: refused credentials, a wrong endpoint)
stop the bot. A stop request ends every wait at once.

Between polls, when it is time, live instances are compared with what the DAO voted
(`services.bot.drift`).

Replicas (`services.bot.leadership`): only the leader does step 2 and the drift check; every
replica does step 3 on the rows it claims. A replica that loses the ledger's database pauses: each
poll fails at its first ledger call, before anything else is done, and is retried until the
database answers again; nothing is lost, since every step starts from what the ledger holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import requests

from services.bot.deployer import Deployer
from services.bot.drift import DriftWatch
from services.bot.leadership import Leadership, SoleLeader
from services.bot.ledger import Ledger, LedgerUnavailableError, NewEvent
from services.bot.metrics import BotMetrics
from services.chain.etherscan import (
    EtherscanDailyLimitReached,
    EtherscanError,
    EtherscanFatalError,
)
from services.chain.events import DeployEventRecord, EventDecodeError, LogBatch, decode_deploy_event
from services.chain.log_sources import LogSource, LogSourceUnavailable
from services.common.errors import ConfigurationError
from services.common.pause import StopRequested
from services.spec.model import spec_hash
from services.targets.base import TargetAuthError, TargetUnavailableError

logger = logging.getLogger(__name__)

#: Seconds between two backfill progress lines.
PROGRESS_EVERY_S = 2.0


class FatalBotError(ConfigurationError, RuntimeError):
    """Retrying cannot help (refused credentials, a wrong endpoint): the bot stops with this
    message and the configuration exit code."""


@dataclass(frozen=True)
class WatchOptions:
    confirmations: int
    poll_interval_s: float
    start_block: int
    once: bool = False
    #: Blocks below the checkpoint read again on every poll (for a log index that lags its head).
    reread_blocks: int = 0


class Watcher:
    """Runs polls until stopped (or once, with `once`)."""

    def __init__(
        self,
        source: LogSource,
        ledger: Ledger,
        deployer: Deployer,
        metrics: BotMetrics,
        options: WatchOptions,
        stop: threading.Event,
        leadership: Leadership | None = None,
        drift: DriftWatch | None = None,
    ) -> None:
        self._source = source
        self._drift = drift
        self._ledger = ledger
        self._deployer = deployer
        self._metrics = metrics
        self._options = options
        self._stop = stop
        self._leadership = leadership or SoleLeader(metrics)

    def run(self) -> int:
        """Poll until stopped; the exit code: 0, or 1 if a `--once` run could not finish."""
        try:
            return self._run_once() if self._options.once else self._run_forever()
        except StopRequested:
            logger.info("stopped")
            return 0

    def _run_forever(self) -> int:
        while not self._stop.is_set():
            wait = self._options.poll_interval_s
            try:
                self.poll()
            except EtherscanDailyLimitReached as error:
                wait = max(wait, error.retry_after_s or wait)
                logger.warning("Etherscan daily limit reached; next poll in %.0f s", wait)
            except _TRANSIENT as error:
                logger.debug("poll failed, retrying in %.1f s: %s", wait, _one_line(error))
            try:
                self._check_drift()
            except LedgerUnavailableError as error:
                logger.debug("drift check interrupted: %s", _one_line(error))
            self._stop.wait(wait)
        logger.info("stopped")
        return 0

    def _check_drift(self) -> None:
        """Compare live instances with their voted state when it is time (never blocks polls for
        long: an outage of the target ends the pass, which the next interval repeats). Only the
        leader checks, so replicas neither compare twice nor notify a drift twice."""
        if self._drift is None or not self._leadership.leading or not self._drift.due():
            return
        try:
            self._drift.check()
        except TargetUnavailableError as error:
            logger.debug("drift check interrupted: %s", _one_line(error))
        except TargetAuthError as error:
            raise FatalBotError(f"Spheron refused the access token: {error}") from None

    def _run_once(self) -> int:
        """Catch up, then follow what was started until it settles; 1 if an outside service
        failed on the way (the next run resumes from the ledger)."""
        try:
            reached = self.poll()
            while reached and self._deployer.has_pending_followups():
                if self._stop.wait(self._options.poll_interval_s):
                    return 0
                reached = self._deployer.advance(self._stop.is_set)
        except _TRANSIENT as error:
            logger.error("--once: poll failed: %s", _one_line(error))
            return 1
        if not reached:
            logger.error("--once: Spheron could not be reached; the next run resumes")
            return 1
        return 0

    def poll(self) -> bool:
        """One poll: record confirmed events, then advance deployments. Returns whether the
        deploy target was reachable for every row that needed it."""
        try:
            if self._leadership.lead():
                self._record_confirmed_events()
            reached = self._deployer.advance(self._stop.is_set)
        except EtherscanFatalError as error:
            self._metrics.record_api_error("etherscan", "fatal")
            raise FatalBotError(str(error)) from None
        except TargetAuthError as error:
            self._metrics.record_api_error("spheron", "auth")
            raise FatalBotError(f"Spheron refused the access token: {error}") from None
        except _TRANSIENT as error:
            self._metrics.record_poll(success=False)
            self._count_error(error)
            raise
        self._metrics.service_ok("ledger")
        self._metrics.record_poll(success=True)
        return reached

    def _record_confirmed_events(self) -> None:
        try:
            head = self._source.head()
        except _TRANSIENT as error:
            self._metrics.service_failed(self._source.name, _one_line(error))
            raise
        confirmed = head - self._options.confirmations
        self._metrics.set_head(head, confirmed)
        checkpoint = self._ledger.checkpoint()
        start = self._options.start_block if checkpoint is None else checkpoint + 1
        start = max(self._options.start_block, min(start, confirmed - self._options.reread_blocks))
        if start > confirmed:
            self._metrics.service_ok(self._source.name)
            return
        progress = _Progress(start, confirmed)
        try:
            for batch in self._source.batches(start, confirmed, progress.report):
                events = list(self._decode(batch))
                new = self._ledger.record_batch(events, batch.to_block)
                self._metrics.set_checkpoint(max(batch.to_block, checkpoint or 0))
                if new:
                    self._metrics.record_events_seen(len(new))
                    logger.info(
                        "recorded DeployEvent for proposal%s %s (blocks %d-%d)",
                        "s" if len(new) > 1 else "",
                        ", ".join(str(pid) for pid in new),
                        batch.from_block,
                        batch.to_block,
                    )
                if self._stop.is_set():
                    raise StopRequested
        except LedgerUnavailableError:
            raise
        except _TRANSIENT as error:
            self._metrics.service_failed(self._source.name, _one_line(error))
            raise
        self._metrics.service_ok(self._source.name)
        progress.done()

    def _decode(self, batch: LogBatch) -> Iterable[NewEvent]:
        for log in batch.logs:
            try:
                event = decode_deploy_event(log)
            except EventDecodeError as error:
                self._metrics.record_events_rejected()
                logger.error(
                    "skipping undecodable log %s#%d in block %d: %s",
                    log.transaction_hash,
                    log.log_index,
                    log.block_number,
                    error,
                )
                continue
            yield _new_event(event)

    def _count_error(self, error: BaseException) -> None:
        # Etherscan calls are counted per attempt by the client's hook (see services.bot.assembly).
        if isinstance(error, LogSourceUnavailable):
            self._metrics.record_api_error("rpc", "unavailable")
        elif isinstance(error, LedgerUnavailableError):
            self._metrics.service_failed("ledger", _one_line(error))  # pauses this replica


def _new_event(event: DeployEventRecord) -> NewEvent:
    return NewEvent(
        proposal_id=event.proposal_id,
        sender=event.sender,
        spec_json=event.spec_json,
        spec_hash="0x" + spec_hash(event.spec_json).hex(),
        block_number=event.block_number,
        tx_hash=event.transaction_hash,
        log_index=event.log_index,
    )


class _Progress:
    """Backfill progress lines: one as soon as a poll needs more than one batch, then at most one
    every `PROGRESS_EVERY_S` seconds, and a last one when caught up. A poll that fits in one batch
    (the steady state) logs none."""

    def __init__(self, start: int, end: int) -> None:
        self._start = start
        self._end = end
        self._last: float | None = None

    def report(self, done_to_block: int, to_block: int, calls: int) -> None:
        now = time.monotonic()
        if self._last is None and done_to_block >= to_block:
            return
        if self._last is not None and now - self._last < PROGRESS_EVERY_S:
            return
        self._last = now
        span = max(1, self._end - self._start + 1)
        logger.info(
            "backfill: block %d of %d (%.0f%%), %d log queries",
            done_to_block,
            to_block,
            100 * (done_to_block - self._start + 1) / span,
            calls,
        )

    def done(self) -> None:
        if self._last is not None:
            logger.info("backfill: caught up at block %d", self._end)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


# Failures after which the next poll may succeed.
_TRANSIENT: tuple[type[BaseException], ...] = (
    LedgerUnavailableError,
    EtherscanError,
    LogSourceUnavailable,
    requests.RequestException,
    ConnectionError,
    TimeoutError,
    OSError,
)
