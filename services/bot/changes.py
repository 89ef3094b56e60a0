"""Updates and closes: the steps of a proposal that changes an instance a proposal deployed.

An update or close row walks the same states as a deployment, with the same exactly-once rules:

    RECORDED ─ its target deployed by this bot? ─► waits | REJECTED (unknown, failed, rejected,
             │                                      closed, or not a deployment)
             └─ the resulting spec valid and allowed? ─► REJECTED | FAILED (missing secret)
    RECORDED ─ commit CREATING (+ the instance's deployments so far), send one request ─►
        update: CREATED (its new deployment) ─ follow ─► DEPLOYED (the target's voted spec is
                now the updated one) | FAILED
        close:  CLOSED (the target is closed; later updates and closes of it are rejected)
    CREATING ─ once its in-flight window has passed: an update is recognised among the
             instance's deployments newer than those recorded (an UPDATE running what it asked
             for), a close by the instance being closed; otherwise the request is sent again.

Changes to one instance apply in execution order: a row waits while an earlier change of the same
target is unfinished, and while the target itself is still being deployed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from services.bot.drift import running_differences
from services.bot.ledger import DeploymentRow, DeploymentState, Ledger
from services.spec.model import (
    MAX_DAO_SPEC_BYTES,
    InstanceSpec,
    MissingSecretError,
    SpecError,
    canonical_json,
    parse_spec,
    resolve_secrets,
)
from services.spec.policy import DeployPolicy
from services.spec.proposal import (
    CloseProposal,
    UpdateProposal,
    apply_changes,
    describe_changes,
    parse_proposal,
)
from services.targets.base import DeployTarget, Outcome, TargetRejectedError, TargetUnavailableError

logger = logging.getLogger(__name__)

_UNFINISHED = (
    DeploymentState.RECORDED,
    DeploymentState.PLANNED,
    DeploymentState.CREATING,
    DeploymentState.CREATED,
)


@dataclass(frozen=True)
class _Plan:
    """What a change row will do: its proposal, the target row, and (update) the resulting spec."""

    proposal: UpdateProposal | CloseProposal
    target: DeploymentRow
    spec: InstanceSpec | None


class InstanceChanges:
    """Advances update and close rows. `reject(row, reason)` and `fail(row, reason)` record a
    refusal the way the deployer does (ledger, metrics, log)."""

    def __init__(
        self,
        ledger: Ledger,
        target: DeployTarget | None,
        policy: DeployPolicy,
        *,
        environ: Mapping[str, str],
        clock: Callable[[], float],
        inflight_margin_s: float,
        deploy_timeout_s: float,
        dry_run: bool,
        claimed_by: str | None,
        reject: Callable[[DeploymentRow, str], None],
        fail: Callable[[DeploymentRow, str], None],
    ) -> None:
        self._ledger = ledger
        self._target = target
        self._policy = policy
        self._environ = environ
        self._clock = clock
        self._margin = inflight_margin_s
        self._timeout = deploy_timeout_s
        self._dry_run = dry_run
        #: The replica whose claim a CREATING commit must still hold (None: the sole bot).
        self.claimed_by = claimed_by
        self._reject = reject
        self._fail = fail

    def step(self, row: DeploymentRow) -> None:
        if row.state is DeploymentState.CREATED:
            if not self._dry_run:
                self._follow(row)
            return
        if row.state is DeploymentState.CREATING:
            if not self._dry_run:
                self._resume(row)
            return
        plan = self._plan(row)
        if plan is None:
            return
        if self._dry_run:
            assert plan.target.deployment_name is not None  # a deployed instance has a name
            self._ledger.mark_planned(row.proposal_id, plan.target.deployment_name)
            logger.info("proposal %s: valid; dry run, would %s", row.proposal_id, _what(plan))
            return
        self._send(row, plan)

    # -- validation ------------------------------------------------------------------------------

    def _plan(self, row: DeploymentRow) -> _Plan | None:
        """The row's plan if it may go ahead now; None if it waits or was closed with a reason."""
        try:
            proposal = parse_proposal(row.spec_json, max_bytes=MAX_DAO_SPEC_BYTES)
        except SpecError as error:
            self._reject(row, f"invalid proposal: {error}")
            return None
        # The ledger files a row as a change only when its JSON has an action (peek_kind).
        assert not isinstance(proposal, InstanceSpec)
        target = self._ledger.get(proposal.target)
        refusal = self._refusal(row, proposal, target)
        if refusal is not None:
            if refusal:
                self._reject(row, refusal)
            return None
        assert target is not None
        if isinstance(proposal, CloseProposal):
            return _Plan(proposal, target, None)
        try:
            spec = apply_changes(_voted_spec(target), proposal.changes)
        except SpecError as error:
            self._reject(row, f"invalid update: {error}")
            return None
        violations = self._policy.violations(spec)
        if violations:
            self._reject(row, "refused by policy: " + "; ".join(violations))
            return None
        return _Plan(proposal, target, spec)

    def _refusal(
        self,
        row: DeploymentRow,
        proposal: UpdateProposal | CloseProposal,
        target: DeploymentRow | None,
    ) -> str | None:
        """Why the change is refused; "" when it must wait; None when it may go ahead."""
        subject = f"the instance of proposal {proposal.target}"
        if target is None:
            return f"{subject}: proposal {proposal.target} was not deployed by this DAO's bot"
        if (target.block_number, target.log_index) > (row.block_number, row.log_index):
            return f"{subject}: proposal {proposal.target} was executed after this change"
        if target.kind != "deploy":
            article = "an" if target.kind == "update" else "a"
            return f"proposal {proposal.target} is {article} {target.kind}, not a deployment"
        if target.closed_by is not None:
            return f"{subject} was closed by proposal {target.closed_by}"
        if target.state in (DeploymentState.REJECTED, DeploymentState.FAILED):
            return f"{subject} is not running: its deployment {target.state.value}: {target.reason}"
        if target.state in _UNFINISHED:
            logger.debug("proposal %s: waits for the deployment of %s", row.proposal_id, subject)
            return ""
        earlier = [
            other.proposal_id
            for other in self._ledger.unfinished()
            if other.target_id == proposal.target
            and (other.block_number, other.log_index) < (row.block_number, row.log_index)
        ]
        if earlier:
            logger.debug("proposal %s: waits for proposal %s first", row.proposal_id, earlier[0])
            return ""
        return None

    # -- sending, resuming, following ---------------------------------------------------------

    def _send(self, row: DeploymentRow, plan: _Plan) -> None:
        assert self._target is not None
        target = self._target
        instance_id, name = plan.target.instance_id, plan.target.deployment_name
        assert instance_id is not None and name is not None  # a deployed instance has both
        before: tuple[str, ...] | None = None  # a close has no deployments to tell apart
        if plan.spec is not None:
            try:
                secrets = resolve_secrets(plan.spec, self._environ)
            except MissingSecretError as error:
                self._fail(row, f"missing secret: {error}")
                return
            before = target.inspect(instance_id).deployment_ids
        in_flight_until = self._clock() + target.request_timeout_s + self._margin

        def on_sending() -> None:
            self._ledger.mark_creating(
                row.proposal_id,
                name,
                in_flight_until=in_flight_until,
                claimed_by=self.claimed_by,
                deployments_before=before,
            )

        try:
            if plan.spec is None:
                on_sending()
                target.close(instance_id)
                self._ledger.mark_closed(row.proposal_id)
                logger.info("proposal %s: closed instance %s", row.proposal_id, instance_id)
                return
            deployment = target.update(
                instance_id,
                plan.spec,
                secret_values=secrets,
                request_key=f"update:{name}:{row.proposal_id}",
                on_sending=on_sending,
            )
        except TargetRejectedError as error:
            self._fail(row, f"Spheron refused the change: {error.server_message or error}")
            return
        except TargetUnavailableError as error:
            current = self._ledger.get(row.proposal_id)
            sent = current is not None and current.state is DeploymentState.CREATING
            if sent and not error.delivered:
                self._ledger.mark_not_sent(row.proposal_id, str(error))
            raise
        self._ledger.mark_created(row.proposal_id, instance_id, deployment, at=self._clock())
        logger.info(
            "proposal %s: updating instance %s (deployment %s)",
            row.proposal_id,
            instance_id,
            deployment,
        )

    def _resume(self, row: DeploymentRow) -> None:
        """A change whose request may have landed: recognise it, else send it again."""
        if row.in_flight_until is not None and self._clock() < row.in_flight_until:
            return
        assert self._target is not None
        plan = self._plan(row)
        if plan is None:
            return
        instance_id = plan.target.instance_id
        assert instance_id is not None
        view = self._target.inspect(instance_id)
        if plan.spec is None:
            if view.closed:
                self._ledger.mark_closed(row.proposal_id)
                return
        else:
            seen = set(row.deployments_before or ())
            for deployment_id in reversed(view.deployment_ids):
                if deployment_id in seen:
                    break
                running = self._target.running(deployment_id)
                if running.kind == "UPDATE" and not running_differences(plan.spec, running):
                    self._ledger.mark_created(
                        row.proposal_id,
                        instance_id,
                        deployment_id,
                        at=self._clock(),
                        note=f"recognised update {deployment_id} sent earlier; not sent again",
                    )
                    return
        self._send(row, plan)

    def _follow(self, row: DeploymentRow) -> None:
        assert self._target is not None and row.deployment_id is not None and row.instance_id
        started = row.created_at if row.created_at is not None else self._clock()
        if self._clock() - started > self._timeout:
            self._fail(
                row,
                f"update {row.deployment_id} did not settle within {self._timeout:g} s "
                f"(last status {row.deployment_status})",
            )
            return
        status = self._target.status(row.deployment_id)
        if status.outcome is Outcome.PENDING:
            self._ledger.mark_progress(row.proposal_id, status.status, status.connection_urls)
            return
        if status.outcome is Outcome.FAILED:
            self._ledger.mark_failed(
                row.proposal_id,
                f"Spheron update status is {status.status}",
                deployment_status=status.status,
            )
            return
        proposal, voted, spec = self._settled_update(row)
        if spec.healthCheckConfig is not None:
            check = spec.healthCheckConfig
            self._target.set_health_check(row.instance_id, check.path, check.port)
        self._ledger.mark_deployed(
            row.proposal_id,
            status.status,
            status.connection_urls,
            voted_spec_json=canonical_json(spec),
            changes=describe_changes(voted, spec),
        )
        logger.info(
            "proposal %s: updated the instance of proposal %s (%s)",
            row.proposal_id,
            proposal.target,
            status.status,
        )

    def _settled_update(
        self, row: DeploymentRow
    ) -> tuple[UpdateProposal, InstanceSpec, InstanceSpec]:
        """The update a settled row applied: its proposal, the spec voted before it and the
        resulting spec (only updates are followed; a close is done once its request is answered)."""
        proposal = parse_proposal(row.spec_json, max_bytes=MAX_DAO_SPEC_BYTES)
        assert isinstance(proposal, UpdateProposal)
        target = self._ledger.get(proposal.target)
        assert target is not None
        voted = _voted_spec(target)
        return proposal, voted, apply_changes(voted, proposal.changes)


def _voted_spec(target: DeploymentRow) -> InstanceSpec:
    """The spec the DAO last voted for the target's instance (its deploy spec, or the latest
    applied update)."""
    return parse_spec(target.voted_spec_json or target.spec_json, max_bytes=MAX_DAO_SPEC_BYTES)


def _what(plan: _Plan) -> str:
    verb = "close" if plan.spec is None else "update"
    return f"{verb} the instance of proposal {plan.proposal.target}"
