"""Drift: whether what runs is still what the DAO voted for.

The voted state of an instance is its deploy proposal's spec with every executed update applied (the
ledger keeps it). The bot compares it with what the target reports: the image, tag, replica count,
size, storage and the names of the environment variables of the active deployment; a closed or
failed instance that the DAO did not close is drift too. The bot reports drift (ledger, `/metrics`,
notifications); it never undoes it: what to do is for the members to vote on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from services.bot.ledger import Ledger
from services.bot.metrics import BotMetrics
from services.spec.model import MAX_DAO_SPEC_BYTES, InstanceSpec, parse_spec
from services.spec.proposal import size_of
from services.targets.base import DeployTarget, InstanceView, RunningConfig

logger = logging.getLogger(__name__)

#: The kinds of drift, also the label values of the `drifted_instances` gauge.
DRIFT_KINDS = ("changed", "closed", "failed")


@dataclass(frozen=True)
class Drift:
    """How the running instance differs from the voted state."""

    kind: str
    differences: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "differences": list(self.differences)}


def compare(voted: InstanceSpec, view: InstanceView) -> Drift | None:
    """The drift of `view` from `voted`, or None when it runs what was voted."""
    if view.closed:
        return Drift("closed", ("the instance was closed outside the DAO",))
    if view.failed:
        status = view.active.status if view.active is not None else "unknown"
        return Drift("failed", (f"the instance failed (deployment status {status})",))
    if view.active is None:
        return Drift("failed", ("the instance has no active deployment",))
    differences = running_differences(voted, view.active)
    return Drift("changed", tuple(differences)) if differences else None


def running_differences(spec: InstanceSpec, running: RunningConfig) -> list[str]:
    """How what a deployment runs differs from `spec`: image, tag, replicas, size, storage and
    environment variable names (never values), one phrase each; empty when it runs `spec`."""
    config = spec.configuration
    expected_env = sorted(
        [v.key for v in config.environmentVariables]
        + [v.key for v in config.secretEnvironmentVariables]
    )
    differences = [
        f"{label}: voted {want}, running {have}"
        for label, want, have in (
            ("image", config.image, running.image),
            ("tag", config.tag, running.tag),
            ("replicas", config.replicas, running.replicas),
            ("size", size_of(spec), running.size),
            ("storage", f"{config.storage} GB", f"{running.storage_gb:g} GB"),
        )
        if str(want) != str(have)
    ]
    if tuple(expected_env) != running.env_names:
        added = sorted(set(running.env_names) - set(expected_env))
        missing = sorted(set(expected_env) - set(running.env_names))
        parts = [f"+{name}" for name in added] + [f"-{name}" for name in missing]
        differences.append("environment: " + " ".join(parts))
    return differences


class DriftWatch:
    """Every `interval_s`, compares each live instance with its voted state and records what
    changed (the ledger writes a drift notification when a drift appears or changes)."""

    def __init__(
        self,
        ledger: Ledger,
        target: DeployTarget,
        metrics: BotMetrics,
        *,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ledger = ledger
        self._target = target
        self._metrics = metrics
        self._interval_s = interval_s
        self._clock = clock
        self._last: float | None = None

    def due(self) -> bool:
        return self._last is None or self._clock() - self._last >= self._interval_s

    def check(self) -> dict[str, int]:
        """One pass over the live instances; the number drifted, by kind. An outage of the target
        ends the pass early (it is retried at the next interval)."""
        self._last = self._clock()
        counts = dict.fromkeys(DRIFT_KINDS, 0)
        for row in self._ledger.live_instances():
            assert row.instance_id is not None
            voted = parse_spec(row.voted_spec_json or row.spec_json, max_bytes=MAX_DAO_SPEC_BYTES)
            drift = compare(voted, self._target.inspect(row.instance_id))
            self._ledger.record_drift(row.proposal_id, None if drift is None else drift.to_dict())
            if drift is not None:
                counts[drift.kind] += 1
                logger.warning(
                    "drift on the instance of proposal %s (%s): %s",
                    row.proposal_id,
                    drift.kind,
                    "; ".join(drift.differences),
                )
        self._metrics.set_drift_counts(counts)
        return counts
