"""What the deploy bot needs from a place that runs containers, independent of who runs them.

The watcher talks to a `DeployTarget`; `services.spheron.SpheronTarget` is one implementation.
Errors are split by what the caller should do next: stop (`TargetAuthError`), record a refusal and
move on (`TargetRejectedError`), or try again later (`TargetUnavailableError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from services.spec import InstanceSpec

#: Deployment statuses after which nothing changes without a new deployment.
SETTLED_STATUSES = frozenset({"Deployed", "Failed", "Deprecated", "Deprecated-Provider"})


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
    """The target could not be reached or failed on its side, even after retries (transient)."""


@dataclass(frozen=True)
class ExistingDeployment:
    """An instance found on the target under the bot's deterministic name."""

    instance_id: str
    deployment_id: str | None
    cluster_id: str
    name: str
    state: str


@dataclass(frozen=True)
class CreatedDeployment:
    """Identifiers returned by a successful create."""

    instance_id: str
    deployment_id: str
    cluster_id: str


@dataclass(frozen=True)
class DeploymentStatus:
    """One observation of a deployment.

    `status` is the target's deployment status (for Spheron one of Queued, Pending, Deployed,
    Failed, Deprecated, Deprecated-Provider). `timed_out` is set only by `wait_until_settled` when
    it gave up before the deployment settled.
    """

    deployment_id: str
    status: str
    provider_host: str | None = None
    connection_urls: list[str] = field(default_factory=list)
    timed_out: bool = False

    @property
    def settled(self) -> bool:
        return self.status in SETTLED_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "Deployed"


@runtime_checkable
class DeployTarget(Protocol):
    """The operations the watcher uses to create an instance exactly once and follow it."""

    def find_deployment(
        self, name: str, *, cluster_name: str | None = None
    ) -> ExistingDeployment | None:
        """Return the instance called `name`, if one exists (makes creation idempotent).

        `cluster_name` (the spec's `clusterName`) narrows the search where the target groups
        instances by cluster.
        """
        ...

    def create(
        self, spec: InstanceSpec, *, name: str, secret_values: Mapping[str, str]
    ) -> CreatedDeployment:
        """Create an instance called `name` from `spec`.

        `secret_values` maps each secret environment variable's key to its resolved value.
        """
        ...

    def deployment_status(self, deployment_id: str) -> DeploymentStatus: ...

    def wait_until_settled(
        self, deployment_id: str, *, timeout_s: float, poll_s: float
    ) -> DeploymentStatus:
        """Poll until the deployment settles; on timeout return the last status with `timed_out`."""
        ...

    def close(self, instance_id: str) -> None: ...
