"""Deployer: ledger rows through validation, creation and follow-up against the real Spheron
emulator on loopback, exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.deploy_target import TargetAuthError
from services.deployer import Deployer, DeployerOptions, deployment_name
from services.emulators.spheron import FaultPlan
from services.ledger import DeploymentState, Ledger, NewEvent
from services.metrics import BotMetrics
from services.policy import DeployPolicy
from services.spec import canonical_json, parse_spec, spec_hash
from services.spheron import SpheronTarget

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CHAIN_ID = 1337
DAO = "0x" + "ab" * 20


def spec_text(name: str = "web-service.json", **changes) -> str:
    spec = json.loads((EXAMPLES / name).read_text())
    spec["configuration"].update(changes)
    return canonical_json(parse_spec(json.dumps(spec)))


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite3", chain_id=CHAIN_ID, dao_address=DAO) as opened:
        yield opened


@pytest.fixture
def record(ledger):
    """`record(proposal_id, spec_json)` records one DeployEvent row."""

    def _record(proposal_id: int, spec_json: str) -> None:
        event = NewEvent(
            proposal_id=proposal_id,
            sender="0x" + "cd" * 20,
            spec_json=spec_json,
            spec_hash="0x" + spec_hash(spec_json).hex(),
            block_number=10 + proposal_id,
            tx_hash="0x" + f"{proposal_id:064x}",
            log_index=0,
        )
        ledger.record_batch([event], 10 + proposal_id)

    return _record


@pytest.fixture
def emulator(spheron_emulator_factory):
    return spheron_emulator_factory(fail_images=["example/always-fails"])


@pytest.fixture
def make_deployer(ledger, emulator, spheron_client_factory):
    def make(
        *, dry_run=False, policy=None, environ=None, target="default", timeout=60.0, clock=None
    ):
        if target == "default":
            target = SpheronTarget(spheron_client_factory(emulator))
        options = DeployerOptions(
            chain_id=CHAIN_ID, dao_address=DAO, dry_run=dry_run, deploy_timeout_s=timeout
        )
        extra = {"clock": clock} if clock else {}
        return Deployer(
            ledger,
            target,
            policy or DeployPolicy(),
            BotMetrics(),
            options,
            environ=environ or {},
            **extra,
        )

    return make


def creates(emulator) -> list[dict]:
    return emulator.request_log()


def settle(deployer, ledger, proposal_id, rounds=200):
    for _ in range(rounds):
        deployer.advance()
        if ledger.get(proposal_id).state.is_terminal:
            return ledger.get(proposal_id)
    raise AssertionError(f"proposal {proposal_id} did not settle: {ledger.get(proposal_id)}")


def test_valid_event_is_created_once_and_followed_to_deployed(
    ledger, record, emulator, make_deployer
):
    record(1, spec_text())
    deployer = make_deployer()
    deployer.advance()
    row = ledger.get(1)
    assert row.state is DeploymentState.CREATED
    assert row.deployment_name == deployment_name(CHAIN_ID, DAO, 1)
    row = settle(deployer, ledger, 1)
    assert row.state is DeploymentState.DEPLOYED
    assert row.deployment_status == "Deployed"
    assert row.urls
    assert len(creates(emulator)) == 1
    assert creates(emulator)[0]["body"]["instanceName"] == deployment_name(CHAIN_ID, DAO, 1)
    deployer.advance()
    assert len(creates(emulator)) == 1


def test_invalid_spec_is_rejected_with_field_reason_and_never_sent(
    ledger, record, emulator, make_deployer
):
    bad = json.loads(spec_text())
    bad["configuration"]["customSpecs"]["cpu"] = 3
    record(2, json.dumps(bad))
    record(3, "not json at all")
    make_deployer().advance()
    assert ledger.get(2).state is DeploymentState.REJECTED
    assert "configuration.customSpecs.cpu: 3 is not one of" in ledger.get(2).reason
    assert ledger.get(3).state is DeploymentState.REJECTED
    assert ledger.get(3).reason.startswith("invalid spec:")
    assert creates(emulator) == []


def test_policy_violation_is_rejected(ledger, record, emulator, make_deployer):
    record(4, spec_text(replicas=5))
    make_deployer(policy=DeployPolicy(max_replicas=2)).advance()
    row = ledger.get(4)
    assert row.state is DeploymentState.REJECTED
    assert "configuration.replicas: 5 exceeds the policy maximum of 2" in row.reason
    assert creates(emulator) == []


def test_missing_secret_is_a_recorded_failure_naming_the_variable(
    ledger, record, emulator, make_deployer
):
    record(5, spec_text("with-secret.json"))
    make_deployer(environ={}).advance()
    row = ledger.get(5)
    assert row.state is DeploymentState.FAILED
    assert "DAO_SECRET_DB_PASSWORD" in row.reason
    assert creates(emulator) == []


def test_secret_is_resolved_from_the_environment_at_deploy_time(
    ledger, record, emulator, make_deployer
):
    record(6, spec_text("with-secret.json"))
    make_deployer(environ={"DAO_SECRET_DB_PASSWORD": "hunter2-s3cret"}).advance()
    assert ledger.get(6).state is DeploymentState.CREATED
    [create] = creates(emulator)
    secret_env = [e for e in create["body"]["configuration"]["env"] if e["isSecret"]]
    assert len(secret_env) == 1
    assert "hunter2-s3cret" not in json.dumps(create)  # the emulator masks what it logs
    assert "hunter2-s3cret" not in json.dumps(ledger.get(6).to_dict())


def test_crash_after_create_before_record_adopts_the_existing_instance(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    """The process died after Spheron created the instance but before CREATED was committed."""
    spec = spec_text()
    record(7, spec)
    name = deployment_name(CHAIN_ID, DAO, 7)
    ledger.mark_creating(7, name)
    created = SpheronTarget(spheron_client_factory(emulator)).create(
        parse_spec(spec), name=name, secret_values={}
    )
    make_deployer().advance()
    row = ledger.get(7)
    assert row.state is DeploymentState.CREATED
    assert row.instance_id == created.instance_id
    assert len(creates(emulator)) == 1


def test_crash_after_creating_committed_but_before_the_call_creates_once(
    ledger, record, emulator, make_deployer
):
    record(8, spec_text())
    ledger.mark_creating(8, deployment_name(CHAIN_ID, DAO, 8))
    make_deployer().advance()
    assert ledger.get(8).state is DeploymentState.CREATED
    assert ledger.get(8).attempts == 2
    assert len(creates(emulator)) == 1


def test_dry_run_plans_and_a_later_real_run_deploys(ledger, record, emulator, make_deployer):
    record(9, spec_text())
    make_deployer(dry_run=True, target=None).advance()
    row = ledger.get(9)
    assert row.state is DeploymentState.PLANNED
    assert row.deployment_name == deployment_name(CHAIN_ID, DAO, 9)
    assert creates(emulator) == []
    make_deployer().advance()
    assert ledger.get(9).state is DeploymentState.CREATED
    assert len(creates(emulator)) == 1


def test_spheron_outage_leaves_the_row_for_retry_then_creates_once(
    ledger, record, emulator, make_deployer
):
    record(10, spec_text())
    emulator.set_faults(FaultPlan(error_rate=1.0))
    deployer = make_deployer()
    assert deployer.advance() is False
    assert ledger.get(10).state is DeploymentState.CREATING
    emulator.set_faults(FaultPlan())
    assert deployer.advance() is True
    assert ledger.get(10).state is DeploymentState.CREATED
    assert len(creates(emulator)) == 1


def test_lost_create_answer_is_not_created_twice(ledger, record, emulator, make_deployer):
    record(11, spec_text())
    emulator.set_faults(FaultPlan(drop_response_next=1, path="/v1/cluster-instance/create"))
    deployer = make_deployer()
    deployer.advance()
    if ledger.get(11).state is DeploymentState.CREATING:
        deployer.advance()
    assert ledger.get(11).state is DeploymentState.CREATED
    assert len(creates(emulator)) == 1


def test_refused_create_is_failed_with_the_server_message_without_retry(
    ledger, record, emulator, make_deployer
):
    record(12, spec_text(machineImageId="no-such-machine", customSpecs=None))
    make_deployer().advance()
    row = ledger.get(12)
    assert row.state is DeploymentState.FAILED
    assert "no-such-machine" in row.reason
    assert len(creates(emulator)) == 0


def test_failed_deployment_is_recorded_failed(ledger, record, emulator, make_deployer):
    spec = json.loads(spec_text())
    spec["configuration"]["image"] = "example/always-fails"
    record(13, canonical_json(parse_spec(json.dumps(spec))))
    row = settle(make_deployer(), ledger, 13)
    assert row.state is DeploymentState.FAILED
    assert "Failed" in row.reason


def test_deployment_that_never_settles_times_out(
    ledger, record, spheron_emulator_factory, spheron_client_factory
):
    slow = spheron_emulator_factory(queued_s=3600, pending_s=3600)
    record(14, spec_text())
    now = [0.0]
    deployer = Deployer(
        ledger,
        SpheronTarget(spheron_client_factory(slow)),
        DeployPolicy(),
        BotMetrics(),
        DeployerOptions(chain_id=CHAIN_ID, dao_address=DAO, deploy_timeout_s=30),
        environ={},
        clock=lambda: now[0],
    )
    deployer.advance()
    deployer.advance()
    assert ledger.get(14).state is DeploymentState.CREATED
    now[0] = 31
    deployer.advance()
    row = ledger.get(14)
    assert row.state is DeploymentState.FAILED
    assert "did not settle within 30 s" in row.reason


def test_bad_token_raises_auth_error(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    record(15, spec_text())
    target = SpheronTarget(spheron_client_factory(emulator, token="wrong-token"))
    with pytest.raises(TargetAuthError):
        make_deployer(target=target).advance()
    assert creates(emulator) == []


def test_dry_run_leaves_rows_a_real_run_started_untouched(ledger, record, emulator, make_deployer):
    record(16, spec_text())
    record(17, spec_text())
    make_deployer().advance()  # both CREATED by a real run
    ledger.mark_status(17, "Pending")
    record(18, spec_text())
    ledger.mark_creating(18, deployment_name(CHAIN_ID, DAO, 18))  # a real run died mid-create
    dry = make_deployer(dry_run=True, target=None)
    dry.advance()
    assert [ledger.get(pid).state for pid in (16, 17, 18)] == [
        DeploymentState.CREATED,
        DeploymentState.CREATED,
        DeploymentState.CREATING,
    ]
    assert not dry.has_pending_followups()
    assert len(creates(emulator)) == 2
