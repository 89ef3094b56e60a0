"""Delivering the ledger's outbox to the notification sinks, beside the bot and never in its way.

The ledger writes each event (a proposal executed, deployed, updated, closed, failed, rejected;
drift) into its outbox in the same transaction as the change it reports, with one delivery per
configured sink, so an event survives `kill -9` and is delivered at least once. `OutboxDelivery`
runs in its own thread: for each sink, oldest event first, it posts and records the outcome; a
failing sink is retried with exponential back-off (honouring `Retry-After`) and holds back only its
own queue. A dead sink shows in `/healthz` and `/metrics` but never makes the bot unhealthy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import requests

from services.bot.ledger import Ledger
from services.bot.metrics import BotMetrics
from services.bot.notify import DeliveryError, Sink, payload, post

logger = logging.getLogger(__name__)

#: Seconds between two rounds when nothing failed.
ROUND_S = 1.0
#: Back-off of a failing sink: `BACKOFF_S * 2**(failures - 1)`, capped at `MAX_BACKOFF_S`.
BACKOFF_S = 2.0
MAX_BACKOFF_S = 300.0
#: Events posted to one sink per round.
BATCH = 20


@dataclass
class _SinkState:
    failures: int = 0
    last_error: str | None = None
    retry_at: float = 0.0


class OutboxDelivery:
    """Posts pending outbox events to `sinks` until `stop` is set (see the module docstring)."""

    def __init__(
        self,
        ledger: Ledger,
        sinks: Sequence[Sink],
        metrics: BotMetrics,
        source: Mapping[str, object],
        *,
        stop: threading.Event,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._sinks = list(sinks)
        self._metrics = metrics
        self._source = dict(source)
        self._stop = stop
        self._timeout_s = timeout_s
        self._clock = clock
        self._state = {sink.id: _SinkState() for sink in self._sinks}
        self._thread: threading.Thread | None = None

    def start(self) -> OutboxDelivery:
        self._thread = threading.Thread(target=self._run, name="outbox-delivery", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    self.deliver_round(session)
                except Exception:  # the deliverer must outlive any surprise; the bot goes on
                    logger.exception("notification delivery failed; retrying")
                self._stop.wait(ROUND_S)

    def deliver_round(self, session: requests.Session) -> int:
        """One pass over every sink; the number of events delivered."""
        delivered = 0
        for sink in self._sinks:
            state = self._state[sink.id]
            if self._clock() < state.retry_at or self._stop.is_set():
                continue
            for event in self._ledger.pending_notifications(sink.id, limit=BATCH):
                try:
                    post(sink, payload(sink, event, self._source), session=session,
                         timeout_s=self._timeout_s)  # fmt: skip
                except DeliveryError as error:
                    self._failed(sink, state, str(error), error.retry_after_s)
                    self._ledger.notification_failed(event.id, sink.id, str(error))
                    break
                self._ledger.mark_notified(event.id, sink.id)
                self._metrics.record_notification(sink.id, delivered=True)
                delivered += 1
                if state.failures:
                    logger.warning("notification sink %s delivers again", sink.id)
                state.failures, state.last_error, state.retry_at = 0, None, 0.0
                self._metrics.set_sink_state(sink.id, None)
        return delivered

    def _failed(
        self, sink: Sink, state: _SinkState, error: str, retry_after_s: float | None
    ) -> None:
        state.failures += 1
        state.last_error = error
        wait = min(MAX_BACKOFF_S, BACKOFF_S * 2 ** (state.failures - 1))
        if retry_after_s is not None:
            wait = max(wait, min(retry_after_s, MAX_BACKOFF_S))
        state.retry_at = self._clock() + wait
        self._metrics.record_notification(sink.id, delivered=False)
        self._metrics.set_sink_state(sink.id, f"{error} ({state.failures} failed attempts)")
        if state.failures == 1:
            logger.error("notification sink %s failed: %s; retrying with back-off", sink.id, error)
