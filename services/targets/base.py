"""What the deploy bot needs from a place that runs containers, independent of who runs them.

The deployer talks to a `DeployTarget`; `services.targets.spheron.SpheronTarget` is one
implementation.
Errors are split by what the caller should do next: stop (`TargetAuthError`), record a refusal and
move on (`TargetRejectedError`), or try again later (`TargetUnavailableError`, which also says
whether a create request may have reached the target).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from services.spec.model import InstanceSpec


class DeployTargetError(Exception):
    """Base class of every error a deploy target raises."""


class TargetAuthError(DeployTargetError):
    """The credentials were refused or cannot be used (fatal: retrying will not help)."""


class TargetRejectedError(DeployTargetError):
    """The target understood the request and refused it (not retried).

    `server_message` is the target's own explanation; `status_code` the HTTP status, if any.
    """

    def __init__(
        self, message: str, *, status_code: int | None = None, server_message: str = ""
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.server_message = server_message


class TargetUnavailableError(DeployTargetError):
    """The target could not be reached or failed on its side, even after retries (transient).

    `delivered` is False only when the request certainly never reached the target (e.g. the
    connection was refused); otherwise a create may have gone through, or may still.
    """

    def __init__(self, message: str, *, delivered: bool = True) -> None:
        super().__init__(message)
        self.delivered = delivered


class Outcome(StrEnum):
    """Where a deployment stands, in the bot's words (the target's own text is kept beside)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class ExistingDeployment:
    """An instance found on the target under the bot's deterministic name.

    `deployment_id` is its active deployment, if any; `created_at` an ISO-8601 time (sortable).
    """

    instance_id: str
    deployment_id: str | None
    cluster_id: str
    name: str
    closed: bool
    created_at: str = ""

    @property
    def age_key(self) -> tuple[str, str]:
        """Sort key: oldest first (creation time, then id)."""
        return (self.created_at, self.instance_id)


@dataclass(frozen=True)
class CreatedDeployment:
    """Identifiers returned by a successful create."""

    instance_id: str
    deployment_id: str
    cluster_id: str


@dataclass(frozen=True)
class DeploymentStatus:
    """One observation of a deployment: the target's status text and what it means."""

    deployment_id: str
    status: str
    outcome: Outcome
    connection_urls: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RunningConfig:
    """What one deployment (order) of an instance runs, in the spec's terms: what the bot compares
    with the voted spec (drift) and with an update it sent (recognising it after a crash)."""

    deployment_id: str
    kind: str
    """``DEPLOY`` or ``UPDATE``."""
    status: str
    image: str
    tag: str
    replicas: int
    size: str
    """``2 CPU / 4 GiB`` or ``machine <name>``, as `services.spec.proposal` writes sizes."""
    storage_gb: float
    env_names: tuple[str, ...]
    """Names of every environment variable, plain and secret, sorted (never values)."""


@dataclass(frozen=True)
class InstanceView:
    """An instance as the target reports it now."""

    instance_id: str
    closed: bool
    failed: bool
    deployment_ids: tuple[str, ...]
    """Every deployment (order) of the instance, oldest first; the last is the active one."""
    active: RunningConfig | None


@runtime_checkable
class DeployTarget(Protocol):
    """The operations the deployer uses to create an instance exactly once and follow it."""

    @property
    def request_timeout_s(self) -> float:
        """The longest the client keeps one request open; a create request sent at `t` has
        ended on the client side by `t + request_timeout_s`."""
        ...

    def find(self, name: str, *, cluster_name: str | None = None) -> list[ExistingDeployment]:
        """Every instance called `name` (closed ones included): how creation is made idempotent.

        `cluster_name` (the spec's `clusterName`) narrows the search where the target groups
        instances by cluster. Raises `TargetUnavailableError` if the listing is incomplete.
        """
        ...

    def create(
        self,
        spec: InstanceSpec,
        *,
        name: str,
        secret_values: Mapping[str, str],
        on_sending: Callable[[], None],
    ) -> CreatedDeployment:
        """Create an instance called `name` from `spec` with one request, never retried.

        `on_sending()` is called exactly once, immediately before that request is sent; if it
        raises, nothing is sent. `secret_values` maps each secret environment variable's key to
        its resolved value.
        """
        ...

    def status(self, deployment_id: str) -> DeploymentStatus: ...

    def update(
        self,
        instance_id: str,
        spec: InstanceSpec,
        *,
        secret_values: Mapping[str, str],
        request_key: str,
        on_sending: Callable[[], None],
    ) -> str:
        """Make the instance run `spec` (what can change in place) with one request, never
        retried; returns the new deployment's id. `request_key` is stable for one update, so a
        target may recognise a repeat; `on_sending` is called as for `create`."""
        ...

    def set_health_check(self, instance_id: str, path: str, port: int) -> None:
        """Set the instance's health check (idempotent)."""
        ...

    def inspect(self, instance_id: str) -> InstanceView:
        """The instance now: closed or failed, its deployments and what the active one runs."""
        ...

    def running(self, deployment_id: str) -> RunningConfig:
        """What one deployment of an instance runs."""
        ...

    def close(self, instance_id: str) -> None:
        """Close the instance; closing one that is already closed does nothing."""
        ...
