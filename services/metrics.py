"""Prometheus metrics and the liveness rule of the deploy bot.

Each ``BotMetrics`` owns its own ``CollectorRegistry`` (never the process-global one), so several
bots or tests in one process do not collide. Label values are checked against fixed sets to keep
the number of time series bounded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from services.ledger import DeploymentState

# ``generate_latest`` writes the 0.0.4 text format; serve it under the matching content type.
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

API_SERVICES = frozenset({"etherscan", "rpc", "spheron"})
API_ERROR_KINDS = frozenset(
    {
        "rate_limit",
        "timeout",
        "connection",
        "http_4xx",
        "http_5xx",
        "auth",
        "invalid_response",
        "unavailable",
        "rejected",
        "fatal",
        "other",
    }
)


class BotMetrics:
    """The bot's counters and gauges, plus the time of its last successful poll.

    Health rule: the bot is healthy while its last successful poll is at most ``max_poll_age_s``
    old. Before the first success it is given the same grace period counted from ``started_at``,
    so a freshly started bot is not reported dead before it had a chance to poll.
    """

    def __init__(self, *, started_at: float | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.started_at = time.time() if started_at is None else started_at
        self._last_success: float | None = None
        self._heights_lock = threading.Lock()
        self._checkpoint: int | None = None
        self._head: int | None = None

        self._events_seen = Counter(
            "events_seen",
            "DeployEvent logs seen for the first time.",
            registry=self.registry,
        )
        self._events_rejected = Counter(
            "events_rejected",
            "DeployEvent logs rejected (undecodable, invalid spec or refused by policy).",
            registry=self.registry,
        )
        self._deployments = Gauge(
            "deployments",
            "Ledger rows by state.",
            ["state"],
            registry=self.registry,
        )
        self._checkpoint_block = Gauge(
            "checkpoint_block",
            "Last block whose DeployEvent logs are all recorded in the ledger.",
            registry=self.registry,
        )
        self._head_block = Gauge(
            "head_block",
            "Latest block the bot considers final (chain head minus confirmations).",
            registry=self.registry,
        )
        self._lag = Gauge(
            "checkpoint_lag_blocks",
            "head_block minus checkpoint_block (0 when caught up).",
            registry=self.registry,
        )
        self._api_errors = Counter(
            "api_errors",
            "Errors from outside services by service and kind.",
            ["service", "kind"],
            registry=self.registry,
        )
        self._polls = Counter(
            "polls",
            "Poll cycles by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self._last_success_gauge = Gauge(
            "last_successful_poll_timestamp",
            "Unix time of the last successful poll cycle (0 before the first one).",
            registry=self.registry,
        )
        for state in DeploymentState:
            self._deployments.labels(state=state.value).set(0)
        for outcome in ("success", "error"):
            self._polls.labels(outcome=outcome)

    # -- updates ---------------------------------------------------------------------------------

    def record_events_seen(self, count: int = 1) -> None:
        self._events_seen.inc(_non_negative("count", count))

    def record_events_rejected(self, count: int = 1) -> None:
        self._events_rejected.inc(_non_negative("count", count))

    def set_deployment_counts(self, counts: Mapping[DeploymentState | str, int]) -> None:
        """Set the ``deployments`` gauge from ``Ledger.counts_by_state()``; absent states read 0."""
        values = {DeploymentState(state): count for state, count in counts.items()}
        for state in DeploymentState:
            self._deployments.labels(state=state.value).set(values.get(state, 0))

    def set_checkpoint(self, block: int) -> None:
        with self._heights_lock:
            self._checkpoint = _non_negative("block", block)
            self._checkpoint_block.set(block)
            self._update_lag()

    def set_head(self, block: int) -> None:
        with self._heights_lock:
            self._head = _non_negative("block", block)
            self._head_block.set(block)
            self._update_lag()

    def record_api_error(self, service: str, kind: str) -> None:
        if service not in API_SERVICES:
            raise ValueError(f"unknown service {service!r}; expected one of {sorted(API_SERVICES)}")
        if kind not in API_ERROR_KINDS:
            raise ValueError(
                f"unknown error kind {kind!r}; expected one of {sorted(API_ERROR_KINDS)}"
            )
        self._api_errors.labels(service=service, kind=kind).inc()

    def record_poll(self, *, success: bool, at: float | None = None) -> None:
        """Count one poll cycle; a success at time ``at`` (default now) keeps the bot healthy."""
        if not success:
            self._polls.labels(outcome="error").inc()
            return
        when = time.time() if at is None else at
        self._polls.labels(outcome="success").inc()
        self._last_success = when
        self._last_success_gauge.set(when)

    # -- reading ---------------------------------------------------------------------------------

    @property
    def last_successful_poll(self) -> float | None:
        return self._last_success

    @property
    def checkpoint(self) -> int | None:
        return self._checkpoint

    @property
    def head(self) -> int | None:
        return self._head

    def unhealthy_reason(self, now: float, max_poll_age_s: float) -> str | None:
        """Why the bot is unhealthy at ``now``, or ``None`` when it is healthy."""
        if max_poll_age_s <= 0:
            raise ValueError(f"max_poll_age_s must be > 0, got {max_poll_age_s}")
        last = self._last_success
        if last is None:
            waited = now - self.started_at
            if waited <= max_poll_age_s:
                return None
            return f"no successful poll in the {waited:.1f}s since start (max {max_poll_age_s}s)"
        age = now - last
        if age <= max_poll_age_s:
            return None
        return f"last successful poll was {age:.1f}s ago (max {max_poll_age_s}s)"

    def healthy(self, now: float, max_poll_age_s: float) -> bool:
        return self.unhealthy_reason(now, max_poll_age_s) is None

    def render(self) -> bytes:
        """All metrics in the Prometheus text format (serve with ``METRICS_CONTENT_TYPE``)."""
        return generate_latest(self.registry)

    def _update_lag(self) -> None:
        if self._checkpoint is not None and self._head is not None:
            self._lag.set(max(0, self._head - self._checkpoint))


def _non_negative(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value
