"""Moves recorded deploy events through validation, creation and follow-up, exactly once.

Each unfinished ledger row advances one step per call of `Deployer.advance`:

    RECORDED/PLANNED ─ validate spec + policy + secrets ─► REJECTED | FAILED | PLANNED (dry run)
                     └─ commit CREATING, then create ───► CREATED
    CREATING (a crash or an outage interrupted a create) ─ look the name up first, then create
    CREATED ─ read the deployment status ─► DEPLOYED | FAILED (or still CREATED)

Exactly once: CREATING is committed before the target is called, and every create is preceded by a
lookup of the deterministic deployment name, so an instance created just before a crash is found
and adopted instead of created again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.deploy_target import (
    DeployTarget,
    DeployTargetError,
    TargetAuthError,
    TargetRejectedError,
    TargetUnavailableError,
)
from services.ledger import DeploymentRow, DeploymentState, Ledger
from services.metrics import BotMetrics
from services.policy import DeployPolicy
from services.spec import InstanceSpec, MissingSecretError, SpecError, parse_spec, resolve_secrets

logger = logging.getLogger(__name__)


def deployment_name(chain_id: int, dao_address: str, proposal_id: int) -> str:
    """The instance name of a proposal: stable across runs, unique per chain, DAO and proposal."""
    return f"dao-{chain_id}-{dao_address.lower()}-{proposal_id}"


@dataclass(frozen=True)
class DeployerOptions:
    chain_id: int
    dao_address: str
    dry_run: bool = False
    deploy_timeout_s: float = 900.0


class Deployer:
    """Advances the ledger's unfinished rows against a deploy target.

    `target` may be None only in a dry run. `environ` supplies the `DAO_SECRET_*` values.
    A `TargetAuthError` is not caught: bad credentials stop the bot.
    """

    def __init__(
        self,
        ledger: Ledger,
        target: DeployTarget | None,
        policy: DeployPolicy,
        metrics: BotMetrics,
        options: DeployerOptions,
        *,
        environ: Mapping[str, str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if target is None and not options.dry_run:
            raise ValueError("a deploy target is needed unless this is a dry run")
        self._ledger = ledger
        self._target = target
        self._policy = policy
        self._metrics = metrics
        self._options = options
        self._environ = environ
        self._clock = clock
        self._following_since: dict[int, float] = {}

    def advance(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """One step for every unfinished row; False if the target was unavailable for some row."""
        all_reached = True
        for row in self._ledger.unfinished():
            if should_stop():
                break
            try:
                self._step(row)
            except TargetAuthError:
                raise
            except TargetUnavailableError as error:
                all_reached = False
                self._metrics.record_api_error("spheron", "unavailable")
                logger.warning(
                    "proposal %s: Spheron unavailable, will retry: %s", row.proposal_id, error
                )
            except DeployTargetError as error:
                self._metrics.record_api_error("spheron", "other")
                self._ledger.mark_failed(row.proposal_id, f"Spheron: {error}")
                logger.error("proposal %s: %s", row.proposal_id, error)
        self._metrics.set_deployment_counts(self._ledger.counts_by_state())
        return all_reached

    def has_pending_followups(self) -> bool:
        """Whether a created deployment is still waiting to settle (never in a dry run, which
        cannot follow one)."""
        return not self._options.dry_run and any(
            row.state is DeploymentState.CREATED for row in self._ledger.unfinished()
        )

    # -- steps ---------------------------------------------------------------------------------

    def _step(self, row: DeploymentRow) -> None:
        if row.state is DeploymentState.CREATED:
            if not self._options.dry_run:
                self._follow(row)
            return
        if self._options.dry_run and row.state is DeploymentState.CREATING:
            return  # an earlier real run started it; only a real run may finish it
        prepared = self._validated(row)
        if prepared is None:
            return
        spec, secret_values = prepared
        if not self._options.dry_run:
            self._create(row.proposal_id, spec, secret_values)
        elif row.state is DeploymentState.RECORDED:
            name = self._name(row.proposal_id)
            self._ledger.mark_planned(row.proposal_id, name)
            logger.info("proposal %s: valid; dry run, would deploy as %s", row.proposal_id, name)

    def _validated(self, row: DeploymentRow) -> tuple[InstanceSpec, dict[str, str]] | None:
        """The row's spec and resolved secrets (none in a dry run) if it may be deployed now;
        otherwise the row is closed with the reason."""
        try:
            spec = parse_spec(row.spec_json)
        except SpecError as error:
            self._reject(row, f"invalid spec: {error}")
            return None
        violations = self._policy.violations(spec)
        if violations:
            self._reject(row, "refused by policy: " + "; ".join(violations))
            return None
        if self._options.dry_run:
            return spec, {}
        try:
            return spec, resolve_secrets(spec, self._environ)
        except MissingSecretError as error:
            self._ledger.mark_failed(row.proposal_id, f"missing secret: {error}")
            logger.error("proposal %s: missing secret: %s", row.proposal_id, error)
            return None

    def _reject(self, row: DeploymentRow, reason: str) -> None:
        self._ledger.mark_rejected(row.proposal_id, reason)
        self._metrics.record_events_rejected()
        logger.warning("proposal %s: rejected, %s", row.proposal_id, reason)

    def _create(
        self, proposal_id: int, spec: InstanceSpec, secret_values: Mapping[str, str]
    ) -> None:
        assert self._target is not None
        name = self._name(proposal_id)
        self._ledger.mark_creating(proposal_id, name)
        existing = self._target.find_deployment(name, cluster_name=spec.clusterName)
        if existing is not None and existing.deployment_id is None:
            self._ledger.mark_failed(
                proposal_id,
                f"instance {existing.instance_id} named {name} exists but has no active "
                "deployment; not creating a second one",
            )
            return
        if existing is not None and existing.deployment_id is not None:
            self._ledger.mark_created(proposal_id, existing.instance_id, existing.deployment_id)
            logger.info(
                "proposal %s: found instance %s created earlier as %s; not creating again",
                proposal_id,
                existing.instance_id,
                name,
            )
            return
        try:
            created = self._target.create(spec, name=name, secret_values=secret_values)
        except TargetRejectedError as error:
            self._metrics.record_api_error("spheron", "rejected")
            message = error.server_message or str(error)
            self._ledger.mark_failed(proposal_id, f"Spheron refused the deployment: {message}")
            logger.error("proposal %s: Spheron refused the deployment: %s", proposal_id, message)
            return
        self._ledger.mark_created(proposal_id, created.instance_id, created.deployment_id)
        logger.info(
            "proposal %s: created instance %s (deployment %s) as %s",
            proposal_id,
            created.instance_id,
            created.deployment_id,
            name,
        )

    def _follow(self, row: DeploymentRow) -> None:
        assert self._target is not None and row.deployment_id is not None
        status = self._target.deployment_status(row.deployment_id)
        updated = self._ledger.mark_status(row.proposal_id, status.status, status.connection_urls)
        if updated.state is DeploymentState.CREATED:
            since = self._following_since.setdefault(row.proposal_id, self._clock())
            if self._clock() - since > self._options.deploy_timeout_s:
                self._ledger.mark_failed(
                    row.proposal_id,
                    f"deployment {row.deployment_id} did not settle within "
                    f"{self._options.deploy_timeout_s:g} s (last status {status.status})",
                )
            return
        self._following_since.pop(row.proposal_id, None)
        if updated.state is DeploymentState.DEPLOYED:
            logger.info(
                "proposal %s: Deployed (instance %s) %s",
                row.proposal_id,
                row.instance_id,
                " ".join(status.connection_urls),
            )
        else:
            logger.error("proposal %s: deployment ended %s", row.proposal_id, status.status)

    def _name(self, proposal_id: int) -> str:
        return deployment_name(self._options.chain_id, self._options.dao_address, proposal_id)
