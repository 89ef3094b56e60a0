"""Prometheus metrics and the health rule of the deploy bot.

Each ``BotMetrics`` owns its own ``CollectorRegistry`` (never the process-global one), so several
bots or tests in one process do not collide. Label values are checked against fixed sets to keep
the number of time series bounded.

Health has one rule, documented in the README: the bot is *healthy* while its polls succeed and
every outside service it currently needs answers; *degraded* while a service fails for less than
``max_poll_age_s``; *unhealthy* (``/healthz`` answers 503) when no poll succeeded for longer than
that, or when deployments are blocked because Spheron has been failing for longer than that while
rows wait for it. Each outage is logged once when it starts and once when it ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from services.bot.ledger import DeploymentState

logger = logging.getLogger(__name__)

# ``generate_latest`` writes the 0.0.4 text format; serve it under the matching content type.
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

API_SERVICES = frozenset({"etherscan", "rpc", "spheron", "ledger"})
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


@dataclass
class Outage:
    """A service failing since ``since`` (Unix time), with its latest error."""

    since: float
    last_error: str
    failures: int = 1


class BotMetrics:
    """The bot's counters and gauges, the time of its last successful poll, and outages.

    Before the first successful poll the bot is given ``max_poll_age_s`` counted from
    ``started_at``, so a freshly started bot is not reported dead before it had a chance to poll.
    """

    def __init__(self, *, started_at: float | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.started_at = time.time() if started_at is None else started_at
        self._last_success: float | None = None
        self._heights_lock = threading.Lock()
        self._checkpoint: int | None = None
        self._head: int | None = None
        self._confirmed: int | None = None
        self._outages: dict[str, Outage] = {}
        self._blocked_rows = 0
        self._failing_sinks: dict[str, str] = {}
        self._leading: bool | None = None
        self._leader_since: float | None = None

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
            "Newest block the log source reports.",
            registry=self.registry,
        )
        self._confirmed_block = Gauge(
            "confirmed_block",
            "Newest block the bot reads events up to (head_block minus confirmations).",
            registry=self.registry,
        )
        self._lag = Gauge(
            "checkpoint_lag_blocks",
            "confirmed_block minus checkpoint_block (0 when caught up).",
            registry=self.registry,
        )
        self._duplicates_closed = Counter(
            "duplicate_instances_closed",
            "Instances found under a deployment's name beside the one kept, and closed.",
            registry=self.registry,
        )
        self._notifications = Counter(
            "notifications",
            "Notification posts by sink (a hash of its URL) and outcome.",
            ["sink", "outcome"],
            registry=self.registry,
        )
        self._sink_up = Gauge(
            "notification_sink_up",
            "1 while the sink accepts notifications, 0 while it fails.",
            ["sink"],
            registry=self.registry,
        )
        self._drifted = Gauge(
            "drifted_instances",
            "Live instances whose running state differs from the voted one, by kind of drift.",
            ["kind"],
            registry=self.registry,
        )
        self._service_up = Gauge(
            "service_up",
            "1 while the outside service answers, 0 during an outage.",
            ["service"],
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
        self._leader = Gauge(
            "leader",
            "1 while this replica leads (reads the chain), 0 while it follows.",
            registry=self.registry,
        )
        self._leader_changes = Counter(
            "leader_changes",
            "Times this replica became leader or stopped leading, and deposed a silent leader.",
            ["change"],
            registry=self.registry,
        )
        self._claims = Counter(
            "claims",
            "Ledger rows this replica claimed (not counting renewals of its own claims).",
            registry=self.registry,
        )
        self._takeovers = Counter(
            "takeovers",
            "Claims taken over from another replica whose lease had expired.",
            registry=self.registry,
        )
        for change in ("acquired", "lost", "deposed"):
            self._leader_changes.labels(change=change)
        for state in DeploymentState:
            self._deployments.labels(state=state.value).set(0)
        for outcome in ("success", "error"):
            self._polls.labels(outcome=outcome)
        self._lock = threading.Lock()

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

    def set_head(self, block: int, confirmed: int | None = None) -> None:
        """The source's head, and the confirmed block the bot reads up to (default: the head)."""
        confirmed = block if confirmed is None else max(0, confirmed)
        with self._heights_lock:
            self._head = _non_negative("block", block)
            self._confirmed = confirmed
            self._head_block.set(block)
            self._confirmed_block.set(confirmed)
            self._update_lag()

    def record_duplicate_closed(self) -> None:
        self._duplicates_closed.inc()

    def service_ok(self, service: str, *, at: float | None = None) -> None:
        """The service answered: ends its outage (logged once, with how long it lasted)."""
        _check_service(service)
        self._service_up.labels(service=service).set(1)
        with self._lock:
            outage = self._outages.pop(service, None)
        if outage is not None:
            now = time.time() if at is None else at
            logger.warning(
                "%s reachable again after %.0f s (%d failed attempts)",
                _SERVICE_NAMES[service],
                now - outage.since,
                outage.failures,
            )

    def service_failed(self, service: str, error: str, *, at: float | None = None) -> None:
        """The service failed: starts (and logs once) or extends its outage."""
        _check_service(service)
        self._service_up.labels(service=service).set(0)
        now = time.time() if at is None else at
        with self._lock:
            outage = self._outages.get(service)
            if outage is None:
                self._outages[service] = Outage(since=now, last_error=error)
            else:
                outage.last_error = error
                outage.failures += 1
        if outage is None:
            logger.error(
                "%s unreachable: %s; retrying on every poll (see /healthz)",
                _SERVICE_NAMES[service],
                error,
            )

    def record_notification(self, sink: str, *, delivered: bool) -> None:
        self._notifications.labels(sink=sink, outcome="delivered" if delivered else "failed").inc()

    def set_sink_state(self, sink: str, error: str | None) -> None:
        """A sink's last error (None: it delivers). A failing sink never makes the bot unhealthy;
        it shows in `/healthz` details and in `notification_sink_up`."""
        self._sink_up.labels(sink=sink).set(0 if error else 1)
        with self._lock:
            if error is None:
                self._failing_sinks.pop(sink, None)
            else:
                self._failing_sinks[sink] = error

    def failing_sinks(self) -> dict[str, str]:
        with self._lock:
            return dict(self._failing_sinks)

    def set_drift_counts(self, counts: Mapping[str, int]) -> None:
        """Live instances drifted, by kind (every kind of `services.bot.drift.DRIFT_KINDS`)."""
        for kind, count in counts.items():
            self._drifted.labels(kind=kind).set(count)

    def set_leader(self, leading: bool, *, at: float | None = None) -> None:
        """This replica leads (or not) from now on; counts every change."""
        with self._lock:
            previous, self._leading = self._leading, leading
            if leading and not previous:
                self._leader_since = time.time() if at is None else at
            elif not leading:
                self._leader_since = None
        self._leader.set(1 if leading else 0)
        if previous is not None and previous != leading:
            self._leader_changes.labels(change="acquired" if leading else "lost").inc()
        elif previous is None and leading:
            self._leader_changes.labels(change="acquired").inc()

    def record_leader_deposed(self) -> None:
        """This replica ended the session of a leader that had gone silent (frozen)."""
        self._leader_changes.labels(change="deposed").inc()

    def record_claim(self, *, taken_over: bool) -> None:
        self._claims.inc()
        if taken_over:
            self._takeovers.inc()

    def role(self) -> dict[str, object]:
        """``leader``, ``follower``, or ``paused`` while the ledger's database is unreachable,
        and since when this replica leads."""
        with self._lock:
            paused = "ledger" in self._outages
            leading, since = self._leading, self._leader_since
        name = "paused" if paused else "leader" if leading else "follower"
        return {"role": name, "leader_since": since}

    def set_blocked_rows(self, count: int) -> None:
        """How many ledger rows wait for the deploy target right now."""
        with self._lock:
            self._blocked_rows = _non_negative("count", count)

    def record_api_error(self, service: str, kind: str) -> None:
        _check_service(service)
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

    @property
    def confirmed(self) -> int | None:
        return self._confirmed

    def outages(self, now: float) -> dict[str, dict[str, object]]:
        """Each failing service: since when, for how long, how many failures, the last error."""
        with self._lock:
            return {
                service: {
                    "since": outage.since,
                    "for_s": round(now - outage.since, 3),
                    "failures": outage.failures,
                    "last_error": outage.last_error,
                }
                for service, outage in self._outages.items()
            }

    def deployments_blocked(self, now: float, max_poll_age_s: float) -> bool:
        """Rows wait for the deploy target, and it has failed for longer than the grace."""
        with self._lock:
            outage = self._outages.get("spheron")
            return (
                self._blocked_rows > 0
                and outage is not None
                and now - outage.since > max_poll_age_s
            )

    def unhealthy_reason(self, now: float, max_poll_age_s: float) -> str | None:
        """Why the bot is unhealthy at ``now``, or ``None`` when it is healthy (or degraded)."""
        if max_poll_age_s <= 0:
            raise ValueError(f"max_poll_age_s must be > 0, got {max_poll_age_s}")
        if self.deployments_blocked(now, max_poll_age_s):
            with self._lock:
                waiting, outage = self._blocked_rows, self._outages["spheron"]
            return (
                f"deployments blocked: {waiting} waiting while Spheron has failed for "
                f"{now - outage.since:.0f}s ({outage.last_error})"
            )
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
        if self._checkpoint is not None and self._confirmed is not None:
            self._lag.set(max(0, self._confirmed - self._checkpoint))


_SERVICE_NAMES = {
    "etherscan": "Etherscan API",
    "rpc": "JSON-RPC node",
    "spheron": "Spheron API",
    "ledger": "Ledger database",
}


def _check_service(service: str) -> None:
    if service not in API_SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {sorted(API_SERVICES)}")


def _non_negative(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value
