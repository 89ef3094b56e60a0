"""Delivering the ledger's outbox to the notification sinks, beside the bot and never in its way.

The ledger writes each event (a proposal executed, deployed, updated, closed, failed, rejected;
drift) into its outbox in the same transaction as the change it reports, with one delivery per
configured sink, so an event survives `kill -9` and is delivered at least once. `OutboxDelivery`
runs in its own thread: for each sink, oldest event first, it posts and records the outcome; a
failing sink is retried with exponential back-off (honouring `Retry-After`) and holds back only its
own queue. A dead sink shows in `/healthz` and `/metrics` but never makes the bot unhealthy.

Of several replicas on one ledger only the leader delivers (`active`), so a message is not sent
once per replica; while the ledger's database cannot be reached, delivery waits quietly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from services.bot.ledger import Ledger, LedgerUnavailableError
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
    """Posts pending outbox events to `sinks` until `stop` is set (see the module docstring).

    `redact` masks secrets in every string of a message (the same rules as the bot's logs): a
    reason quoting a server's answer must not carry a secret to a chat channel. `active` says
    whether this replica delivers now (the leader does)."""

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
        redact: Callable[[str], str] = str,
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        self._ledger = ledger
        self._sinks = list(sinks)
        self._metrics = metrics
        self._source = dict(source)
        self._stop = stop
        self._timeout_s = timeout_s
        self._clock = clock
        self._redact = redact
        self._active = active
        self._state = {sink.id: _SinkState() for sink in self._sinks}
        self._thread: threading.Thread | None = None

    def start(self) -> OutboxDelivery:
        self._thread = threading.Thread(target=self._run, name="outbox-delivery", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout_s: float = 1.0) -> None:
        """Wait briefly for the thread after `stop` was set; a post still in flight is abandoned
        (its event stays pending and is sent again by the next run)."""
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    if self._active():
                        self.deliver_round(session)
                except LedgerUnavailableError as error:
                    logger.debug("notification delivery waits for the ledger: %s", error)
                except Exception:  # the deliverer must outlive any surprise; the bot goes on
                    if self._stop.is_set():
                        return
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
                    body = _redacted(payload(sink, event, self._source), self._redact)
                    post(sink, body, session=session, timeout_s=self._timeout_s)
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


def _redacted(value: Any, redact: Callable[[str], str]) -> Any:
    """`value` (a JSON body) with `redact` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item, redact) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, redact) for item in value]
    return value
