"""Moves recorded deploy events through validation, creation and follow-up, exactly once.

Each unfinished ledger row advances one step per call of `Deployer.advance`:

    RECORDED/PLANNED ─ validate spec + policy + secrets ─► REJECTED | FAILED | PLANNED (dry run)
                     └─ look the name up, then commit CREATING and send one create ─► CREATED
    CREATING (a crash or a failed attempt left a create that may still land)
             ─ wait until its in-flight window has passed, look the name up, then create again
    CREATED ─ read the deployment status ─► DEPLOYED | FAILED (or still CREATED)

Exactly once rests on three rules:

1. CREATING is committed immediately before the create request is sent, with the time by which
   that request has certainly ended on the server: sent time + the client's timeout + a margin
   (`inflight_margin_s`) for a server still finishing a request the client gave up on.
2. A CREATING row is looked up again only once that time has passed, so the lookup sees every
   instance an earlier request created; a request that certainly never reached the target (the
   connection was refused) clears the window.
3. Every create is preceded by a lookup of the deterministic name. If the lookup finds instances,
   none is created: the oldest live one is adopted and any other live one is closed (recorded in
   the row's history and counted in `duplicate_instances_closed`). Instances that are only Closed
   are never silently replaced: the row fails with the reason. A row that needed several attempts
   is looked up once more when it is deployed, and any other live namesake is closed.

One bad row never stops the bot: an unexpected error is recorded on that row and the others go on.

Several replicas may share one ledger (PostgreSQL). Each row is advanced by one replica at a time:
before a step the replica claims the row (`Ledger.claim`, a lease on the database's clock, renewed
at every step), skips rows another replica holds, and commits CREATING only while it still holds
the claim (`mark_creating(claimed_by=...)`, checked in the same transaction). A replica that dies
stops renewing; once its lease has expired another takes the row over, and rules 1-3 make sure
that nothing it may have sent is created twice. A row whose step could not reach the target is
released, so a replica that can reach it may try. The deployer's clock is the ledger's (the
database's), so the hosts' clocks may disagree. With SQLite the one bot (the lock file) is replica
`sole` and owns every row without claiming it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from services.bot.changes import InstanceChanges
from services.bot.ledger import (
    ClaimLostError,
    DeploymentRow,
    DeploymentState,
    Ledger,
    LedgerUnavailableError,
)
from services.bot.metrics import BotMetrics
from services.common.pause import StopRequested
from services.spec.model import (
    MAX_DAO_SPEC_BYTES,
    InstanceSpec,
    MissingSecretError,
    SpecError,
    parse_spec,
    resolve_secrets,
)
from services.spec.policy import DeployPolicy
from services.spec.proposal import parse_proposal
from services.targets.base import (
    CreatedDeployment,
    DeploymentStatus,
    DeployTarget,
    ExistingDeployment,
    InstanceView,
    Outcome,
    RunningConfig,
    TargetAuthError,
    TargetRejectedError,
    TargetUnavailableError,
)

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: Seconds after the client gave up on a create during which the server may still complete it.
DEFAULT_INFLIGHT_MARGIN_S = 60.0
#: Seconds a replica's claim on a row lasts without being renewed.
DEFAULT_LEASE_S = 30.0
#: The replica name of the one bot of a SQLite ledger, which owns every row.
SOLE_REPLICA = "sole"


def deployment_name(chain_id: int, dao_address: str, proposal_id: int) -> str:
    """The instance name of a proposal: stable across runs, unique per chain, DAO and proposal."""
    return f"dao-{chain_id}-{dao_address.lower()}-{proposal_id}"


@dataclass(frozen=True)
class DeployerOptions:
    chain_id: int
    dao_address: str
    dry_run: bool = False
    deploy_timeout_s: float = 900.0
    inflight_margin_s: float = DEFAULT_INFLIGHT_MARGIN_S
    replica_id: str = SOLE_REPLICA
    lease_s: float = DEFAULT_LEASE_S


class Deployer:
    """Advances the ledger's unfinished rows against a deploy target.

    `target` may be None only in a dry run. `environ` supplies the `DAO_SECRET_*` values; `clock`
    gives Unix time (it is stored in the ledger, so it must survive restarts).
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
        clock: Callable[[], float] = time.time,
    ) -> None:
        if target is None and not options.dry_run:
            raise ValueError("a deploy target is needed unless this is a dry run")
        self._ledger = ledger
        self._target = None if target is None else _ReportingTarget(target, metrics)
        self._policy = policy
        self._metrics = metrics
        self._options = options
        self._environ = environ
        self._clock = clock
        self._sole = options.replica_id == SOLE_REPLICA
        self._changes = InstanceChanges(
            ledger,
            self._target,
            policy,
            environ=environ,
            clock=clock,
            inflight_margin_s=options.inflight_margin_s,
            deploy_timeout_s=options.deploy_timeout_s,
            dry_run=options.dry_run,
            claimed_by=None if self._sole else options.replica_id,
            reject=self._reject,
            fail=self._fail,
        )

    @property
    def target(self) -> DeployTarget | None:
        """The deploy target, reporting each call's outcome to the metrics (outage tracking)."""
        return self._target

    def advance(self, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """One step for every unfinished row; False if the target was unavailable for some row."""
        all_reached = True
        rows = self._ledger.unfinished()
        for listed in rows:
            if should_stop():
                break
            row = self._claimed(listed)
            if row is None:
                continue
            try:
                self._step(row)
            except (TargetAuthError, StopRequested, LedgerUnavailableError):
                raise
            except ClaimLostError as error:
                logger.info("proposal %s: %s; left to that replica", row.proposal_id, error)
            except TargetUnavailableError as error:
                # The outage itself is logged once, by the metrics (see _ReportingTarget).
                all_reached = False
                self._metrics.record_api_error("spheron", "unavailable")
                logger.debug("proposal %s: Spheron unavailable: %s", row.proposal_id, error)
                if not self._sole:
                    self._ledger.release_claims(self._options.replica_id, row.proposal_id)
            except Exception as error:  # one bad row must not stop the others
                self._record_unexpected(row, error)
        self._metrics.set_deployment_counts(self._ledger.counts_by_state())
        self._metrics.set_blocked_rows(0 if self._options.dry_run else len(rows))
        return all_reached

    def has_pending_followups(self) -> bool:
        """Whether a deployment is still under way: created and not settled, or a create that
        may still land (never in a dry run, which cannot follow one)."""
        return not self._options.dry_run and any(
            row.state in (DeploymentState.CREATED, DeploymentState.CREATING)
            for row in self._ledger.unfinished()
        )

    def _claimed(self, row: DeploymentRow) -> DeploymentRow | None:
        """The row as it is now if this replica may step it (its claim taken or renewed). The sole
        bot of a SQLite ledger owns every row: it needs no claim."""
        if self._sole:
            return row
        claim = self._ledger.claim(
            row.proposal_id, self._options.replica_id, lease_s=self._options.lease_s
        )
        if claim is None:
            return None
        if not claim.renewed:
            self._metrics.record_claim(taken_over=claim.taken_from is not None)
        if claim.taken_from is not None:
            logger.warning(
                "proposal %s: took over from replica %s, whose claim expired",
                row.proposal_id,
                claim.taken_from,
            )
        return claim.row

    # -- steps ---------------------------------------------------------------------------------

    def _step(self, row: DeploymentRow) -> None:
        if row.kind != "deploy":
            self._changes.step(row)
            return
        if row.state is DeploymentState.CREATED:
            if not self._options.dry_run:
                self._follow(row)
            return
        if row.state is DeploymentState.CREATING:
            if not self._options.dry_run:  # only a real run may finish what a real run began
                self._resume(row)
            return
        prepared = self._validated(row)
        if prepared is None:
            return
        if self._options.dry_run:
            name = self._name(row.proposal_id)
            self._ledger.mark_planned(row.proposal_id, name)
            logger.info("proposal %s: valid; dry run, would deploy as %s", row.proposal_id, name)
            return
        spec, secret_values = prepared
        if not self._adopt_existing(row, spec.clusterName):
            self._create(row, spec, secret_values)

    def _resume(self, row: DeploymentRow) -> None:
        """A CREATING row: once no earlier request can still land, adopt what it created or try
        again."""
        if row.in_flight_until is not None and self._clock() < row.in_flight_until:
            logger.debug(
                "proposal %s: an earlier create may still be in flight; looking it up in %.0f s",
                row.proposal_id,
                row.in_flight_until - self._clock(),
            )
            return
        if self._adopt_existing(row, _cluster_name(row.spec_json)):
            return
        prepared = self._validated(row)
        if prepared is not None:
            spec, secret_values = prepared
            self._create(row, spec, secret_values)

    def _validated(self, row: DeploymentRow) -> tuple[InstanceSpec, dict[str, str]] | None:
        """The row's spec and resolved secrets (none in a dry run) if it may be deployed now;
        otherwise the row is closed with the reason."""
        try:
            spec = parse_proposal(row.spec_json, max_bytes=MAX_DAO_SPEC_BYTES)
        except SpecError as error:
            self._reject(row, f"invalid spec: {error}")
            return None
        # The ledger files every valid envelope as a change (peek_kind): this is a deployment.
        assert isinstance(spec, InstanceSpec)
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

    def _adopt_existing(self, row: DeploymentRow, cluster_name: str | None) -> bool:
        """Look the row's name up; True if instances exist (the row is then CREATED or FAILED)."""
        assert self._target is not None
        name = row.deployment_name or self._name(row.proposal_id)
        found = self._target.find(name, cluster_name=cluster_name)
        if not found:
            return False
        live = sorted((item for item in found if not item.closed), key=lambda i: i.age_key)
        if not live:
            closed = ", ".join(item.instance_id for item in found)
            self._fail(
                row,
                f"instance {closed} named {name} exists on Spheron but is Closed; a closed "
                "deployment is never recreated silently (propose it again to redeploy)",
            )
            return True
        keep, extra = live[0], live[1:]
        self._close_duplicates(row, keep, extra)
        if keep.deployment_id is None:
            self._fail(
                row,
                f"instance {keep.instance_id} named {name} exists but has no active deployment; "
                "not creating a second one",
            )
            return True
        self._ledger.mark_created(
            row.proposal_id,
            keep.instance_id,
            keep.deployment_id,
            at=self._clock(),
            note=f"adopted instance {keep.instance_id} found as {name}; not created again",
        )
        logger.info(
            "proposal %s: found instance %s created earlier as %s; not creating again",
            row.proposal_id,
            keep.instance_id,
            name,
        )
        return True

    def _close_duplicates(
        self, row: DeploymentRow, keep: ExistingDeployment, extra: list[ExistingDeployment]
    ) -> None:
        assert self._target is not None
        for duplicate in extra:
            self._target.close(duplicate.instance_id)
            self._ledger.note(
                row.proposal_id,
                f"closed duplicate instance {duplicate.instance_id}; kept {keep.instance_id}",
            )
            self._metrics.record_duplicate_closed()
            logger.warning(
                "proposal %s: closed duplicate instance %s named %s; kept %s",
                row.proposal_id,
                duplicate.instance_id,
                duplicate.name,
                keep.instance_id,
            )

    def _create(
        self, row: DeploymentRow, spec: InstanceSpec, secret_values: Mapping[str, str]
    ) -> None:
        assert self._target is not None
        target = self._target
        name = row.deployment_name or self._name(row.proposal_id)
        margin = target.request_timeout_s + self._options.inflight_margin_s

        def on_sending() -> None:
            self._ledger.mark_creating(
                row.proposal_id,
                name,
                in_flight_until=self._clock() + margin,
                claimed_by=None if self._sole else self._options.replica_id,
            )

        try:
            created = target.create(
                spec, name=name, secret_values=secret_values, on_sending=on_sending
            )
        except TargetRejectedError as error:
            self._metrics.record_api_error("spheron", "rejected")
            message = error.server_message or str(error)
            self._fail(row, f"Spheron refused the deployment: {message}")
            return
        except TargetUnavailableError as error:
            current = self._ledger.get(row.proposal_id)
            if current is not None and current.state is DeploymentState.CREATING:
                if not error.delivered:
                    self._ledger.mark_not_sent(row.proposal_id, str(error))
                else:
                    logger.warning(
                        "proposal %s: the create may have reached Spheron; looking %s up "
                        "in %.0f s before trying again",
                        row.proposal_id,
                        name,
                        margin,
                    )
            raise
        self._ledger.mark_created(
            row.proposal_id, created.instance_id, created.deployment_id, at=self._clock()
        )
        logger.info(
            "proposal %s: created instance %s (deployment %s) as %s",
            row.proposal_id,
            created.instance_id,
            created.deployment_id,
            name,
        )

    def _follow(self, row: DeploymentRow) -> None:
        assert self._target is not None and row.deployment_id is not None
        started = row.created_at if row.created_at is not None else self._clock()
        if self._clock() - started > self._options.deploy_timeout_s:
            self._fail(
                row,
                f"deployment {row.deployment_id} did not settle within "
                f"{self._options.deploy_timeout_s:g} s (last status {row.deployment_status})",
            )
            return
        status = self._target.status(row.deployment_id)
        if status.outcome is Outcome.PENDING:
            self._ledger.mark_progress(row.proposal_id, status.status, status.connection_urls)
        elif status.outcome is Outcome.SUCCEEDED:
            self._deployed(row, status)
        else:
            self._ledger.mark_failed(
                row.proposal_id,
                f"Spheron deployment status is {status.status}",
                deployment_status=status.status,
            )
            logger.error("proposal %s: deployment ended %s", row.proposal_id, status.status)

    def _deployed(self, row: DeploymentRow, status: DeploymentStatus) -> None:
        if row.attempts > 1 and row.deployment_name and row.instance_id:
            # Several requests were sent: make sure none of the others left an instance behind.
            assert self._target is not None
            namesakes = self._target.find(
                row.deployment_name, cluster_name=_cluster_name(row.spec_json)
            )
            kept = [item for item in namesakes if item.instance_id == row.instance_id]
            others = [i for i in namesakes if i.instance_id != row.instance_id and not i.closed]
            if kept:
                self._close_duplicates(row, kept[0], others)
        self._ledger.mark_deployed(row.proposal_id, status.status, status.connection_urls)
        logger.info(
            "proposal %s: Deployed (instance %s) %s",
            row.proposal_id,
            row.instance_id,
            " ".join(status.connection_urls),
        )

    # -- helpers -------------------------------------------------------------------------------

    def _fail(self, row: DeploymentRow, reason: str) -> None:
        self._ledger.mark_failed(row.proposal_id, reason)
        logger.error("proposal %s: %s", row.proposal_id, reason)

    def _record_unexpected(self, row: DeploymentRow, error: Exception) -> None:
        """Record an error no rule foresaw on its row, so the row cannot stop the bot.

        A row whose create may be in flight, or that is being followed, is left to the in-flight
        and timeout rules (it is retried on the next poll); any other row fails with the reason.
        """
        self._metrics.record_api_error("spheron", "other")
        reason = f"unexpected {type(error).__name__}: {' '.join(str(error).split())}"[:500]
        logger.error("proposal %s: %s", row.proposal_id, reason)
        try:
            current = self._ledger.get(row.proposal_id)
            if current is None or current.state.is_terminal:
                return
            if current.state in (DeploymentState.CREATING, DeploymentState.CREATED):
                self._ledger.note(row.proposal_id, f"{reason}; will retry")
            else:
                self._ledger.mark_failed(row.proposal_id, reason)
        except Exception:  # the ledger itself refused: keep going with the other rows
            logger.exception("proposal %s: could not record the error", row.proposal_id)

    def _name(self, proposal_id: int) -> str:
        return deployment_name(self._options.chain_id, self._options.dao_address, proposal_id)


class _ReportingTarget:
    """The deploy target, telling the metrics whether each call reached it (outage tracking)."""

    def __init__(self, target: DeployTarget, metrics: BotMetrics) -> None:
        self._target = target
        self._metrics = metrics

    @property
    def request_timeout_s(self) -> float:
        return self._target.request_timeout_s

    def find(self, name: str, *, cluster_name: str | None = None) -> list[ExistingDeployment]:
        return self._observed(lambda: self._target.find(name, cluster_name=cluster_name))

    def create(
        self,
        spec: InstanceSpec,
        *,
        name: str,
        secret_values: Mapping[str, str],
        on_sending: Callable[[], None],
    ) -> CreatedDeployment:
        return self._observed(
            lambda: self._target.create(
                spec, name=name, secret_values=secret_values, on_sending=on_sending
            )
        )

    def status(self, deployment_id: str) -> DeploymentStatus:
        return self._observed(lambda: self._target.status(deployment_id))

    def update(
        self,
        instance_id: str,
        spec: InstanceSpec,
        *,
        secret_values: Mapping[str, str],
        request_key: str,
        on_sending: Callable[[], None],
    ) -> str:
        return self._observed(
            lambda: self._target.update(
                instance_id,
                spec,
                secret_values=secret_values,
                request_key=request_key,
                on_sending=on_sending,
            )
        )

    def set_health_check(self, instance_id: str, path: str, port: int) -> None:
        self._observed(lambda: self._target.set_health_check(instance_id, path, port))

    def inspect(self, instance_id: str) -> InstanceView:
        return self._observed(lambda: self._target.inspect(instance_id))

    def running(self, deployment_id: str) -> RunningConfig:
        return self._observed(lambda: self._target.running(deployment_id))

    def close(self, instance_id: str) -> None:
        self._observed(lambda: self._target.close(instance_id))

    def _observed(self, call: Callable[[], _T]) -> _T:
        try:
            result = call()
        except TargetUnavailableError as error:
            self._metrics.service_failed("spheron", str(error))
            raise
        except TargetRejectedError:
            self._metrics.service_ok("spheron")  # it answered
            raise
        self._metrics.service_ok("spheron")
        return result


def _cluster_name(spec_json: str) -> str | None:
    """The spec's `clusterName` for a lookup, or None (search every cluster) if unreadable."""
    try:
        return parse_spec(spec_json, max_bytes=MAX_DAO_SPEC_BYTES).clusterName
    except SpecError:
        return None
