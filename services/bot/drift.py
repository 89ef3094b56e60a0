"""Drift: whether what runs is still what the DAO voted for.

The voted state of an instance is its deploy proposal's spec with every executed update applied (the
ledger keeps it). The bot compares it with what the target reports: the image, tag, replica count,
size, storage and the names of the environment variables of the active deployment; a closed or
failed instance that the DAO did not close is drift too. The bot reports drift (ledger, `/metrics`,
notifications); it never undoes it: what to do is for the members to vote on.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.spec.model import InstanceSpec
from services.spec.proposal import size_of
from services.targets.base import InstanceView

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
    running = view.active
    if running is None:
        return Drift("failed", ("the instance has no active deployment",))
    config = voted.configuration
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
            ("size", size_of(voted), running.size),
            ("storage", f"{config.storage} GB", f"{running.storage_gb:g} GB"),
        )
        if str(want) != str(have)
    ]
    if tuple(expected_env) != running.env_names:
        added = sorted(set(running.env_names) - set(expected_env))
        missing = sorted(set(expected_env) - set(running.env_names))
        parts = [f"+{name}" for name in added] + [f"-{name}" for name in missing]
        differences.append("environment: " + " ".join(parts))
    return Drift("changed", tuple(differences)) if differences else None
