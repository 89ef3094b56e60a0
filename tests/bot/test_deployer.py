"""Deployer: ledger rows through validation, creation and follow-up against the real Spheron
emulator on loopback, exactly once — including creates still in flight, lost answers,
namesakes, closed instances and rows that break."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from services.bot.deployer import Deployer, DeployerOptions, deployment_name
from services.bot.ledger import (
    DeploymentState,
    Ledger,
    LedgerReadOnlyError,
    LedgerUnavailableError,
    NewEvent,
)
from services.bot.metrics import BotMetrics
from services.spec.model import (
    MAX_SPEC_BYTES,
    MissingSecretError,
    canonical_json,
    parse_spec,
    spec_hash,
)
from services.spec.policy import DeployPolicy
from services.targets.base import TargetAuthError
from services.targets.spheron import SpheronTarget, build_create_body
from testbed.emulators.spheron import CREATE_PATH, FaultPlan
from tests.bot.conftest import CHAIN_ID, DAO, taken_over_when_expired
from tests.bot.test_ledger import raw_engine

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
S = DeploymentState


def spec_text(name: str = "web-service.json", **changes) -> str:
    spec = json.loads((EXAMPLES / name).read_text())
    spec["configuration"].update(changes)
    return canonical_json(parse_spec(json.dumps(spec), max_bytes=65_536))


def create_directly(client, spec: str, name: str, topic: str = "t") -> dict:
    """Create an instance called `name` on the emulator behind the deployer's back (what an
    earlier process, or a server completing a request late, leaves there)."""
    body = build_create_body(
        parse_spec(spec),
        organization_id=client.organization_id(),
        topic_id=topic,
        secret_values={},
        machine_image_name="",
        instance_name=name,
    )
    return client.create_instance(body)


def creates(emulator) -> list[dict]:
    return emulator.request_log()


def instances(emulator, spheron_client_factory, name: str) -> list:
    return SpheronTarget(spheron_client_factory(emulator)).find(name)


def settle(deployer, ledger, proposal_id, rounds=400):
    for _ in range(rounds):
        deployer.advance()
        if ledger.get(proposal_id).state.is_terminal:
            return ledger.get(proposal_id)
        time.sleep(0.005)
    raise AssertionError(f"proposal {proposal_id} did not settle: {ledger.get(proposal_id)}")


def metric(metrics: BotMetrics, name: str) -> float:
    return metrics.registry.get_sample_value(name) or 0.0


# -- the normal path ------------------------------------------------------------------------------


def test_valid_event_is_created_once_and_followed_to_deployed(
    ledger, record, emulator, make_deployer, clock
):
    record(1, spec_text())
    deployer = make_deployer()
    deployer.advance()
    row = ledger.get(1)
    assert row.state is S.CREATED
    assert row.deployment_name == deployment_name(CHAIN_ID, DAO, 1)
    assert row.created_at == clock.now and row.attempts == 1
    row = settle(deployer, ledger, 1)
    assert row.state is S.DEPLOYED
    assert row.deployment_status == "Deployed"
    assert row.urls
    assert len(creates(emulator)) == 1
    assert creates(emulator)[0]["body"]["instanceName"] == deployment_name(CHAIN_ID, DAO, 1)
    deployer.advance()
    assert len(creates(emulator)) == 1
    states = [entry.state for entry in ledger.history(1)]
    assert states[:3] == [S.RECORDED, S.CREATING, S.CREATED] and states[-1] is S.DEPLOYED


def test_invalid_spec_is_rejected_with_field_reason_and_never_sent(
    ledger, record, emulator, make_deployer
):
    bad = json.loads(spec_text())
    bad["configuration"]["customSpecs"]["cpu"] = 3
    record(2, json.dumps(bad))
    record(3, "not json at all")
    make_deployer().advance()
    assert ledger.get(2).state is S.REJECTED
    assert "configuration.customSpecs.cpu: 3 is not one of" in ledger.get(2).reason
    assert ledger.get(3).state is S.REJECTED
    assert ledger.get(3).reason.startswith("invalid spec:")
    assert emulator.request_log(all_requests=True) == []  # not even a lookup


def test_a_spec_larger_than_the_default_cap_that_the_dao_accepted_is_deployed(
    ledger, record, emulator, make_deployer
):
    """A DAO deployed with --max-spec-bytes 65536 accepts a 12 KB spec; so must the bot."""
    env = [{"key": f"SETTING_{i:02d}", "value": "v" * 180} for i in range(60)]
    text = spec_text(environmentVariables=env)
    assert 12_000 < len(text.encode()) <= 65_536 and len(text.encode()) > MAX_SPEC_BYTES
    record(4, text)
    make_deployer().advance()
    assert ledger.get(4).state is S.CREATED
    assert len(creates(emulator)) == 1


def test_policy_violation_is_rejected(ledger, record, emulator, make_deployer):
    record(5, spec_text(replicas=5))
    make_deployer(policy=DeployPolicy(max_replicas=2)).advance()
    row = ledger.get(5)
    assert row.state is S.REJECTED
    assert "configuration.replicas: 5 exceeds the policy maximum of 2" in row.reason
    assert creates(emulator) == []


def test_missing_secret_is_a_recorded_failure_naming_the_variable(
    ledger, record, emulator, make_deployer
):
    record(6, spec_text("with-secret.json"))
    make_deployer(environ={}).advance()
    row = ledger.get(6)
    assert row.state is S.FAILED
    assert "DAO_SECRET_DB_PASSWORD" in row.reason
    assert creates(emulator) == []


def test_secret_is_resolved_from_the_environment_at_deploy_time(
    ledger, record, emulator, make_deployer
):
    record(7, spec_text("with-secret.json"))
    make_deployer(environ={"DAO_SECRET_DB_PASSWORD": "hunter2-s3cret"}).advance()
    assert ledger.get(7).state is S.CREATED
    [create] = creates(emulator)
    secret_env = [e for e in create["body"]["configuration"]["env"] if e["isSecret"]]
    assert len(secret_env) == 1
    assert "hunter2-s3cret" not in json.dumps(create)  # the emulator masks what it logs
    assert "hunter2-s3cret" not in json.dumps(ledger.get(7).to_dict())


def test_refused_create_is_failed_with_the_server_message_without_retry(
    ledger, record, emulator, make_deployer
):
    record(8, spec_text(region="mars"))
    make_deployer().advance()
    row = ledger.get(8)
    assert row.state is S.FAILED
    assert "Region not available: mars" in row.reason
    assert len(creates(emulator)) == 1


def test_unknown_machine_image_fails_before_anything_is_sent(
    ledger, record, emulator, make_deployer
):
    record(9, spec_text(machineImageId="no-such-machine", customSpecs=None))
    make_deployer().advance()
    row = ledger.get(9)
    assert row.state is S.FAILED and "no-such-machine" in row.reason
    assert creates(emulator) == []


def test_failed_deployment_is_recorded_failed(ledger, record, emulator, make_deployer):
    spec = json.loads(spec_text())
    spec["configuration"]["image"] = "example/always-fails"
    record(10, canonical_json(parse_spec(json.dumps(spec))))
    row = settle(make_deployer(), ledger, 10)
    assert row.state is S.FAILED
    assert row.reason == "Spheron deployment status is Failed"
    assert row.deployment_status == "Failed"


# -- in flight, lost answers, crashes --------------------------------------------------------------


def test_a_create_still_in_flight_is_never_sent_twice(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    """The server holds the create longer than the client waits, then completes it: the retry
    waits until that request has certainly ended, then finds and adopts its instance."""
    record(11, spec_text())
    emulator.set_faults(FaultPlan(delay_s=1.0, delay_next=1, path=CREATE_PATH))
    deployer = make_deployer(client_timeout=0.3, margin=5.0)
    assert deployer.advance() is False  # the client gave up after 0.3 s
    row = ledger.get(11)
    assert row.state is S.CREATING and row.attempts == 1
    assert row.in_flight_until == pytest.approx(clock.now + 0.3 + 5.0)
    for _ in range(5):  # a restarted bot polling at once: no lookup, no second create
        assert make_deployer(client_timeout=0.3, margin=5.0).advance() is True
    assert len(creates(emulator)) == 1
    time.sleep(1.2)  # the server completes the held request
    assert ledger.get(11).state is S.CREATING
    clock.now += 5.4  # the window has passed
    make_deployer().advance()
    row = ledger.get(11)
    assert row.state is S.CREATED and row.attempts == 1
    assert len(creates(emulator)) == 1
    assert len(instances(emulator, spheron_client_factory, row.deployment_name)) == 1
    assert "adopted instance" in ledger.history(11)[-1].note


def test_crash_after_create_before_record_adopts_the_existing_instance(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    """The process died after Spheron created the instance but before CREATED was committed."""
    spec = spec_text()
    record(12, spec)
    name = deployment_name(CHAIN_ID, DAO, 12)
    ledger.mark_creating(12, name, in_flight_until=clock.now + 10)
    client = spheron_client_factory(emulator)
    created = create_directly(client, spec, name, "t")
    make_deployer().advance()
    assert ledger.get(12).state is S.CREATING  # still inside its window
    clock.now += 11
    make_deployer().advance()
    row = ledger.get(12)
    assert row.state is S.CREATED
    assert row.instance_id == created["clusterInstanceId"]
    assert len(creates(emulator)) == 1


class RefusedAtSend(SpheronTarget):
    """The real target, whose create request meets a closed port (connection refused): the
    lookup before it reached the emulator, the create cannot have."""

    def create(self, spec, *, name, secret_values, on_sending):
        def sending() -> None:
            on_sending()
            self._client._base_url = "http://127.0.0.1:1"

        return super().create(spec, name=name, secret_values=secret_values, on_sending=sending)


def test_a_create_that_never_reached_the_server_is_retried_without_waiting(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    record(13, spec_text())
    refused = RefusedAtSend(spheron_client_factory(emulator, max_retries=0))
    assert make_deployer(target=refused).advance() is False
    row = ledger.get(13)
    assert row.state is S.CREATING and row.in_flight_until is None
    assert "create request not delivered" in ledger.history(13)[-1].note
    make_deployer().advance()  # no window to wait for
    row = ledger.get(13)
    assert row.state is S.CREATED and row.attempts == 2
    assert len(creates(emulator)) == 1


def test_an_answered_server_error_waits_for_the_window_then_creates_once(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    record(15, spec_text())
    emulator.set_faults(FaultPlan(error_next=1, path=CREATE_PATH))
    deployer = make_deployer()
    assert deployer.advance() is False
    assert ledger.get(15).state is S.CREATING
    deployer.advance()
    assert ledger.get(15).state is S.CREATING  # a 5xx may still have created it
    clock.now += 8
    deployer.advance()
    row = ledger.get(15)
    assert row.state is S.CREATED and row.attempts == 2
    assert [e["status"] for e in creates(emulator)] == [503, 200]
    assert len(instances(emulator, spheron_client_factory, row.deployment_name)) == 1


def test_lost_create_answer_is_adopted_not_created_twice(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    record(16, spec_text())
    emulator.set_faults(FaultPlan(drop_response_next=1, path=CREATE_PATH))
    deployer = make_deployer()
    deployer.advance()
    assert ledger.get(16).state is S.CREATING
    clock.now += 8
    deployer.advance()
    row = ledger.get(16)
    assert row.state is S.CREATED and row.attempts == 1
    assert len(creates(emulator)) == 1
    assert len(instances(emulator, spheron_client_factory, row.deployment_name)) == 1


def test_several_namesakes_keep_the_oldest_and_close_the_others(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    spec = spec_text()
    record(17, spec)
    name = deployment_name(CHAIN_ID, DAO, 17)
    client = spheron_client_factory(emulator)
    made = []
    for topic in ("a", "b", "c"):
        made.append(create_directly(client, spec, name, topic)["clusterInstanceId"])
        time.sleep(0.002)
    metrics = BotMetrics()
    make_deployer(metrics=metrics).advance()
    row = ledger.get(17)
    assert row.state is S.CREATED and row.instance_id == made[0]
    states = {i.instance_id: i.closed for i in instances(emulator, spheron_client_factory, name)}
    assert states == {made[0]: False, made[1]: True, made[2]: True}
    notes = [entry.note for entry in ledger.history(17)]
    assert f"closed duplicate instance {made[1]}; kept {made[0]}" in notes
    assert f"closed duplicate instance {made[2]}; kept {made[0]}" in notes
    assert metric(metrics, "duplicate_instances_closed_total") == 2
    assert len(creates(emulator)) == 3  # the three made above; the deployer created none


def test_an_instance_closed_on_spheron_is_never_recreated_silently(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    record(18, spec_text())
    deployer = make_deployer()
    deployer.advance()
    row = ledger.get(18)
    SpheronTarget(spheron_client_factory(emulator)).close(row.instance_id)
    # The ledger is lost (or restored from an old copy): the row is seen again as new.
    record(19, spec_text())
    with closing(sqlite3.connect(ledger.path)) as raw, raw:
        raw.execute(
            "UPDATE deployments SET deployment_name = ? WHERE proposal_id = '19'",
            (row.deployment_name,),
        )
    ledger.mark_creating(19, row.deployment_name, in_flight_until=clock.now - 1)
    deployer.advance()
    failed = ledger.get(19)
    assert failed.state is S.FAILED
    assert "is Closed; a closed deployment is never recreated silently" in failed.reason
    assert len(creates(emulator)) == 1


def test_an_instance_without_an_active_deployment_is_not_created_again(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    spec = spec_text()
    record(20, spec)
    name = deployment_name(CHAIN_ID, DAO, 20)
    client = spheron_client_factory(emulator)
    create_directly(client, spec, name, "t")
    with emulator._lock:  # an instance whose active order the API does not report
        original = emulator._state.instance_json

        def without_order(instance_id):
            answer = original(instance_id)
            answer["activeOrder"] = None
            return answer

        emulator._state.instance_json = without_order
    make_deployer().advance()
    row = ledger.get(20)
    assert row.state is S.FAILED
    assert "exists but has no active deployment; not creating a second one" in row.reason
    assert len(creates(emulator)) == 1


def test_a_late_duplicate_of_a_retried_create_is_closed_when_deployed(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    """A server that completes a create even after the window (the documented assumption broken):
    the row needed two attempts, so it is looked up once more when deployed."""
    record(21, spec_text())
    emulator.set_faults(FaultPlan(error_next=1, path=CREATE_PATH))
    metrics = BotMetrics()
    deployer = make_deployer(metrics=metrics)
    deployer.advance()
    clock.now += 8
    deployer.advance()
    row = ledger.get(21)
    assert row.state is S.CREATED and row.attempts == 2
    client = spheron_client_factory(emulator)
    late = create_directly(client, spec_text(), row.deployment_name, "late")["clusterInstanceId"]
    row = settle(deployer, ledger, 21)
    assert row.state is S.DEPLOYED
    closed = {
        i.instance_id: i.closed
        for i in instances(emulator, spheron_client_factory, row.deployment_name)
    }
    assert closed == {row.instance_id: False, late: True}
    assert metric(metrics, "duplicate_instances_closed_total") == 1


# -- timeouts, credentials, dry runs, bad rows -----------------------------------------------------


def test_the_deploy_timeout_counts_from_the_stored_creation_time_across_restarts(
    ledger, record, unsettled_deployer, clock
):
    deployer = unsettled_deployer  # a fresh one each time: what a restart or a --once run does
    record(22, spec_text())
    deployer().advance()
    created_at = ledger.get(22).created_at
    clock.now += 20
    deployer().advance()
    assert ledger.get(22).state is S.CREATED
    assert ledger.get(22).deployment_status == "Queued"
    clock.now += 11
    deployer().advance()
    row = ledger.get(22)
    assert row.state is S.FAILED and row.created_at == created_at
    assert "did not settle within 30 s (last status Queued)" in row.reason


def test_bad_token_raises_auth_error(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    record(23, spec_text())
    target = SpheronTarget(spheron_client_factory(emulator, token="wrong-token"))
    with pytest.raises(TargetAuthError):
        make_deployer(target=target).advance()
    assert creates(emulator) == []


def test_dry_run_plans_and_a_later_real_run_deploys(ledger, record, emulator, make_deployer):
    record(24, spec_text())
    make_deployer(dry_run=True, target=None).advance()
    row = ledger.get(24)
    assert row.state is S.PLANNED
    assert row.deployment_name == deployment_name(CHAIN_ID, DAO, 24)
    assert creates(emulator) == []
    make_deployer().advance()
    assert ledger.get(24).state is S.CREATED
    assert len(creates(emulator)) == 1


def test_dry_run_leaves_rows_a_real_run_started_untouched(
    ledger, record, emulator, make_deployer, clock
):
    record(25, spec_text())
    record(26, spec_text())
    make_deployer().advance()  # both CREATED by a real run
    ledger.mark_progress(26, "Pending")
    record(27, spec_text())
    ledger.mark_creating(27, deployment_name(CHAIN_ID, DAO, 27), in_flight_until=clock.now - 1)
    dry = make_deployer(dry_run=True, target=None)
    dry.advance()
    assert [ledger.get(pid).state for pid in (25, 26, 27)] == [S.CREATED, S.CREATED, S.CREATING]
    assert not dry.has_pending_followups()
    assert len(creates(emulator)) == 2


def test_a_creating_row_that_a_changed_policy_refuses_is_rejected_not_a_restart_loop(
    ledger, record, emulator, make_deployer, clock
):
    record(28, spec_text(replicas=5))
    ledger.mark_creating(28, deployment_name(CHAIN_ID, DAO, 28), in_flight_until=clock.now - 1)
    record(29, spec_text())
    make_deployer(policy=DeployPolicy(max_replicas=2)).advance()
    assert ledger.get(28).state is S.REJECTED
    assert "exceeds the policy maximum of 2" in ledger.get(28).reason
    assert ledger.get(29).state is S.CREATED  # the rest goes on
    assert len(creates(emulator)) == 1


def test_an_unexpected_error_on_one_row_is_recorded_and_the_others_go_on(
    ledger, record, emulator, make_deployer
):
    class BrokenPolicy(DeployPolicy):
        def violations(self, spec):
            if spec.configuration.replicas == 3:
                raise KeyError("a policy bug")
            return super().violations(spec)

    record(30, spec_text(replicas=3))
    record(31, spec_text())
    make_deployer(policy=BrokenPolicy()).advance()
    assert ledger.get(30).state is S.FAILED
    assert ledger.get(30).reason == "unexpected KeyError: 'a policy bug'"
    assert ledger.get(31).state is S.CREATED


# -- replicas: claims -----------------------------------------------------------------------------


def test_a_row_another_replica_holds_is_left_alone_until_its_claim_expires(
    ledger, record, emulator, make_deployer, caplog
):
    caplog.set_level(logging.INFO, logger="services.bot.deployer")
    record(1, spec_text())
    record(2, spec_text(replicas=1))
    ledger.claim(1, "replica-b", lease_s=0.3)
    metrics = BotMetrics()
    deployer = make_deployer(replica="replica-a", metrics=metrics)
    deployer.advance()
    assert ledger.get(1).state is S.RECORDED and len(creates(emulator)) == 1
    assert ledger.get(2).state is S.CREATED  # the next row is not held up
    assert not any("took over" in m for m in deployer_messages(caplog))
    time.sleep(0.4)  # replica-b died: its lease runs out
    deployer.advance()
    row = ledger.get(1)
    assert row.state is S.CREATED and row.claimed_by == "replica-a"
    assert len(creates(emulator)) == 2
    assert metric(metrics, "claims_total") == 2 and metric(metrics, "takeovers_total") == 1
    took_over = [m for m in deployer_messages(caplog) if "took over" in m]
    assert took_over == ["proposal 1: took over from replica replica-b, whose claim expired"]


def test_a_replica_that_cannot_reach_spheron_lets_its_rows_go_at_once(
    ledger, record, emulator, make_deployer
):
    """Another replica may reach Spheron: a row this one cannot step is released, not held
    until the lease runs out."""
    record(1, spec_text())
    record(2, json.dumps({"action": "close", "target": 1}))  # waits; calls no Spheron API
    make_deployer(replica="replica-a").advance()
    assert [ledger.get(pid).claimed_by for pid in (1, 2)] == ["replica-a", "replica-a"]
    emulator.set_faults(FaultPlan(error_rate=1.0))
    steps = iter([False, True])  # proposal 1 only: stop before proposal 2
    assert make_deployer(replica="replica-a").advance(lambda: next(steps)) is False
    assert [ledger.get(pid).claimed_by for pid in (1, 2)] == [None, "replica-a"]
    emulator.set_faults(FaultPlan())
    make_deployer(replica="replica-b").advance()
    assert ledger.get(1).claimed_by == "replica-b"  # at once, not after replica-a's lease


def test_a_replica_that_lost_its_claim_during_the_lookup_sends_no_create(
    ledger, record, emulator, make_deployer, caplog
):
    """The lookup is slow; meanwhile the claim expires and another replica takes the row. The
    commit of CREATING, which checks the claim, stops the first replica before it sends."""
    record(1, spec_text())
    deployer = make_deployer(replica="replica-a", lease=0.2)
    ledger.claim(1, "replica-a", lease_s=0.2)  # replica-a holds the row first
    # The lookup lists the organisation's clusters: slower than the lease.
    emulator.set_faults(FaultPlan(delay_s=0.6, delay_next=1, path="/v1/organization/"))

    caplog.set_level(logging.INFO, logger="services.bot.deployer")
    with taken_over_when_expired(ledger, 1, "replica-b"):
        deployer.advance()
    row = ledger.get(1)
    assert row.state is S.RECORDED and row.claimed_by == "replica-b"
    assert creates(emulator) == []
    assert deployer_messages(caplog)[-1] == (
        "proposal 1: proposal 1 is claimed by replica-b, not replica-a; left to that replica"
    )


# -- what each step tells the operator, and exactly where it looks ---------------------------------


def deployer_messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "services.bot.deployer"]


def in_cluster(spec: str, cluster: str) -> str:
    data = json.loads(spec)
    data["clusterName"] = cluster
    return canonical_json(parse_spec(json.dumps(data), max_bytes=65_536))


def instance_listings(emulator) -> list[str]:
    """The clusters whose instances were listed, in order."""
    return [
        entry["path"].split("/")[3]
        for entry in emulator.request_log(all_requests=True)
        if entry["method"] == "GET" and entry["path"].endswith("/instances")
    ]


def cluster_listings(emulator) -> int:
    return sum(
        entry["method"] == "GET" and entry["path"].endswith("/clusters")
        for entry in emulator.request_log(all_requests=True)
    )


def foreign_namesake(emulator, spheron_client_factory, proposal_id: int) -> str:
    """An instance with the proposal's name in another cluster than its spec's: nothing the bot
    created for that spec (Spheron files an instance under its spec's cluster)."""
    client = spheron_client_factory(emulator)
    name = deployment_name(CHAIN_ID, DAO, proposal_id)
    spec = in_cluster(spec_text(), "other-cluster")
    return create_directly(client, spec, name)["clusterInstanceId"]


def test_deployment_names_spell_the_dao_address_in_lower_case():
    assert deployment_name(5, "0x" + "AbCd" * 10, 7) == "dao-5-0x" + "abcd" * 10 + "-7"


def test_a_real_run_without_a_target_is_refused(make_deployer):
    with pytest.raises(ValueError, match=r"^a deploy target is needed unless this is a dry run$"):
        make_deployer(target=None)


def test_a_stop_request_leaves_the_rows_not_reached_as_they_were(
    ledger, record, emulator, make_deployer
):
    record(40, spec_text())
    record(41, spec_text())
    metrics = BotMetrics()
    asked = []
    assert make_deployer(metrics=metrics).advance(lambda: asked.append(1) or len(asked) > 1)
    assert [ledger.get(pid).state for pid in (40, 41)] == [S.CREATED, S.RECORDED]
    assert len(creates(emulator)) == 1
    gauge = metrics.registry.get_sample_value
    assert (
        gauge("deployments", {"state": "CREATED"}),
        gauge("deployments", {"state": "RECORDED"}),
    ) == (1, 1)


def test_an_unavailable_spheron_is_logged_for_the_row_and_kept_as_the_outage_error(
    ledger, record, emulator, make_deployer, caplog
):
    caplog.set_level(logging.DEBUG, logger="services.bot.deployer")
    record(42, spec_text())
    emulator.set_faults(FaultPlan(error_rate=1.0))
    metrics = BotMetrics()
    assert make_deployer(metrics=metrics).advance() is False
    error = metrics.outages(time.time())["spheron"]["last_error"]
    assert "503" in error
    assert f"proposal 42: Spheron unavailable: {error}" in deployer_messages(caplog)
    kinds = {"service": "spheron", "kind": "unavailable"}
    assert metrics.registry.get_sample_value("api_errors_total", kinds) == 1


def test_a_dry_run_logs_the_name_it_would_deploy_as(ledger, record, make_deployer, caplog):
    caplog.set_level(logging.INFO, logger="services.bot.deployer")
    record(43, spec_text())
    make_deployer(dry_run=True, target=None).advance()
    name = deployment_name(CHAIN_ID, DAO, 43)
    assert deployer_messages(caplog) == [f"proposal 43: valid; dry run, would deploy as {name}"]


def test_the_lookup_before_a_create_reads_only_the_spec_s_cluster(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    spec = spec_text()
    foreign = foreign_namesake(emulator, spheron_client_factory, 44)
    record(44, spec)
    make_deployer().advance()
    row = ledger.get(44)
    assert row.state is S.CREATED and row.instance_id != foreign
    assert instance_listings(emulator) == []  # the spec's cluster did not exist yet
    assert len(creates(emulator)) == 2


def test_a_creating_row_is_looked_up_again_exactly_when_its_window_ends(
    ledger, record, emulator, make_deployer, clock, caplog
):
    caplog.set_level(logging.DEBUG, logger="services.bot.deployer")
    record(45, spec_text())
    ledger.mark_creating(45, deployment_name(CHAIN_ID, DAO, 45), in_flight_until=clock.now + 5)
    make_deployer().advance()
    assert ledger.get(45).state is S.CREATING
    assert emulator.request_log(all_requests=True) == []
    assert deployer_messages(caplog) == [
        "proposal 45: an earlier create may still be in flight; looking it up in 5 s"
    ]
    clock.now += 5
    make_deployer().advance()
    assert ledger.get(45).state is S.CREATED


def test_a_resumed_creating_row_looks_only_in_its_spec_s_cluster_even_for_a_large_spec(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    """A spec over the default 8 KB cap (the DAO allowed it) still names its cluster."""
    env = [{"key": f"SETTING_{i:02d}", "value": "v" * 180} for i in range(60)]
    spec = spec_text(environmentVariables=env)
    assert len(spec.encode()) > MAX_SPEC_BYTES
    foreign = foreign_namesake(emulator, spheron_client_factory, 46)
    record(46, spec)
    ledger.mark_creating(46, deployment_name(CHAIN_ID, DAO, 46), in_flight_until=clock.now - 1)
    make_deployer().advance()
    row = ledger.get(46)
    assert row.state is S.CREATED and row.instance_id != foreign
    assert len(creates(emulator)) == 2


def test_a_resumed_creating_row_is_created_with_its_secrets(
    ledger, record, emulator, make_deployer, clock
):
    record(47, spec_text("with-secret.json"))
    ledger.mark_creating(47, deployment_name(CHAIN_ID, DAO, 47), in_flight_until=clock.now - 1)
    make_deployer(environ={"DAO_SECRET_DB_PASSWORD": "s3cret-value"}).advance()
    assert ledger.get(47).state is S.CREATED
    [create] = creates(emulator)
    secrets = [e["value"] for e in create["body"]["configuration"]["env"] if e["isSecret"]]
    assert secrets == ["POSTGRES_PASSWORD=***"]  # sent (the emulator masks what it logs)


def test_every_policy_violation_is_in_the_reason_and_the_log(
    ledger, record, emulator, make_deployer, caplog
):
    spec = spec_text(replicas=5, storage=200)
    policy = DeployPolicy(max_replicas=2, max_storage_gb=100)
    violations = policy.violations(parse_spec(spec))
    assert len(violations) == 2
    record(48, spec)
    make_deployer(policy=policy).advance()
    row = ledger.get(48)
    assert row.reason == "refused by policy: " + "; ".join(violations)
    assert deployer_messages(caplog) == [f"proposal 48: rejected, {row.reason}"]


def test_a_missing_secret_is_logged_with_the_variable_it_needs(
    ledger, record, emulator, make_deployer, caplog
):
    record(49, spec_text("with-secret.json"))
    make_deployer(environ={"DAO_SECRET_DB_PASSWORD": ""}).advance()
    missing = MissingSecretError(["DAO_SECRET_DB_PASSWORD"])
    assert ledger.get(49).reason == f"missing secret: {missing}"
    assert deployer_messages(caplog) == [f"proposal 49: missing secret: {missing}"]


def test_closed_namesakes_fail_the_row_naming_each_and_nothing_else_goes_wrong(
    ledger, record, emulator, make_deployer, spheron_client_factory, caplog
):
    spec = spec_text()
    name = deployment_name(CHAIN_ID, DAO, 50)
    client = spheron_client_factory(emulator)
    made = [create_directly(client, spec, name, topic)["clusterInstanceId"] for topic in "ab"]
    for instance in made:
        SpheronTarget(client).close(instance)
    record(50, spec)
    metrics = BotMetrics()
    make_deployer(metrics=metrics).advance()
    row = ledger.get(50)
    assert row.reason == (
        f"instance {made[0]}, {made[1]} named {name} exists on Spheron but is Closed; a closed "
        "deployment is never recreated silently (propose it again to redeploy)"
    )
    assert deployer_messages(caplog) == [f"proposal 50: {row.reason}"]
    assert metrics.registry.get_sample_value(
        "api_errors_total", {"service": "spheron", "kind": "other"}
    ) in (None, 0)


def test_an_instance_without_an_active_deployment_fails_the_row_and_nothing_else_goes_wrong(
    ledger, record, emulator, make_deployer, spheron_client_factory, caplog
):
    spec = spec_text()
    name = deployment_name(CHAIN_ID, DAO, 51)
    create_directly(spheron_client_factory(emulator), spec, name)
    with emulator._lock:  # an instance whose active order the API does not report
        original = emulator._state.instance_json
        emulator._state.instance_json = lambda instance_id: {
            **original(instance_id),
            "activeOrder": None,
        }
    record(51, spec)
    metrics = BotMetrics()
    make_deployer(metrics=metrics).advance()
    assert ledger.get(51).state is S.FAILED
    assert deployer_messages(caplog) == [f"proposal 51: {ledger.get(51).reason}"]
    assert metrics.registry.get_sample_value(
        "api_errors_total", {"service": "spheron", "kind": "other"}
    ) in (None, 0)
    assert len(creates(emulator)) == 1


def test_adopting_and_closing_namesakes_is_logged(
    ledger, record, emulator, make_deployer, spheron_client_factory, caplog
):
    caplog.set_level(logging.INFO, logger="services.bot.deployer")
    spec = spec_text()
    name = deployment_name(CHAIN_ID, DAO, 52)
    client = spheron_client_factory(emulator)
    made = []
    for topic in "ab":
        made.append(create_directly(client, spec, name, topic)["clusterInstanceId"])
        time.sleep(0.002)
    record(52, spec)
    make_deployer().advance()
    assert deployer_messages(caplog) == [
        f"proposal 52: closed duplicate instance {made[1]} named {name}; kept {made[0]}",
        f"proposal 52: found instance {made[0]} created earlier as {name}; not creating again",
    ]


def test_a_create_and_its_outcome_are_logged(ledger, record, emulator, make_deployer, caplog):
    caplog.set_level(logging.INFO, logger="services.bot.deployer")
    record(53, spec_text())
    row = settle(make_deployer(), ledger, 53)
    assert deployer_messages(caplog) == [
        f"proposal 53: created instance {row.instance_id} (deployment {row.deployment_id}) "
        f"as {row.deployment_name}",
        f"proposal 53: Deployed (instance {row.instance_id}) {' '.join(row.urls)}",
    ]
    assert len(row.urls) >= 2


def test_a_failed_deployment_is_logged_with_its_status(ledger, record, make_deployer, caplog):
    spec = json.loads(spec_text())
    spec["configuration"]["image"] = "example/always-fails"
    record(54, canonical_json(parse_spec(json.dumps(spec))))
    settle(make_deployer(), ledger, 54)
    assert "proposal 54: deployment ended Failed" in deployer_messages(caplog)


class UnreachableForTheCreate(SpheronTarget):
    """The real target, whose create meets a closed port from its first request on (the machine
    image lookup that comes before the create itself): nothing is sent."""

    def create(self, spec, *, name, secret_values, on_sending):
        self._client._base_url = "http://127.0.0.1:1"
        return super().create(spec, name=name, secret_values=secret_values, on_sending=on_sending)


def test_a_failure_before_the_create_is_sent_leaves_the_row_to_try_again(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    record(55, spec_text(machineImageId=f"{0xE0000000:024x}", customSpecs=None))
    unreachable = UnreachableForTheCreate(spheron_client_factory(emulator, max_retries=0))
    assert make_deployer(target=unreachable).advance() is False
    assert ledger.get(55).state is S.RECORDED
    make_deployer().advance()
    assert ledger.get(55).state is S.CREATED
    assert len(creates(emulator)) == 1


def test_a_create_that_never_arrived_is_noted_with_its_error(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    record(56, spec_text())
    metrics = BotMetrics()
    refused = RefusedAtSend(spheron_client_factory(emulator, max_retries=0))
    make_deployer(target=refused, metrics=metrics).advance()
    error = metrics.outages(time.time())["spheron"]["last_error"]
    assert ledger.history(56)[-1].note == f"create request not delivered: {error}"


def test_a_create_that_may_have_arrived_is_logged_with_when_it_is_looked_up(
    ledger, record, emulator, make_deployer, caplog
):
    record(57, spec_text())
    emulator.set_faults(FaultPlan(error_next=1, path=CREATE_PATH))
    make_deployer(client_timeout=2, margin=5.0).advance()
    name = deployment_name(CHAIN_ID, DAO, 57)
    assert (
        f"proposal 57: the create may have reached Spheron; looking {name} up in 7 s before "
        "trying again"
    ) in deployer_messages(caplog)


def test_the_deploy_timeout_fails_the_row_once_only_after_the_full_time(
    ledger, record, unsettled_deployer, clock, caplog
):
    record(58, spec_text())
    metrics = BotMetrics()
    deployer = unsettled_deployer(metrics)
    deployer.advance()
    clock.now += 30
    deployer.advance()
    assert ledger.get(58).state is S.CREATED
    clock.now += 0.5
    deployer.advance()
    row = ledger.get(58)
    assert row.state is S.FAILED
    assert deployer_messages(caplog)[-1] == f"proposal 58: {row.reason}"
    labels = {"service": "spheron", "kind": "other"}  # not followed any further
    assert metrics.registry.get_sample_value("api_errors_total", labels) in (None, 0)


def test_a_row_created_at_the_first_attempt_is_not_looked_up_again_when_deployed(
    ledger, record, emulator, make_deployer
):
    record(59, spec_text())
    deployer = make_deployer()
    deployer.advance()
    lookups = cluster_listings(emulator)
    assert settle(deployer, ledger, 59).state is S.DEPLOYED
    assert cluster_listings(emulator) == lookups


def test_a_late_duplicate_is_closed_in_favour_of_the_row_s_instance(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    record(60, spec_text())
    emulator.set_faults(FaultPlan(error_next=1, path=CREATE_PATH))
    deployer = make_deployer()
    deployer.advance()
    clock.now += 8
    deployer.advance()
    row = ledger.get(60)
    client = spheron_client_factory(emulator)
    late = create_directly(client, spec_text(), row.deployment_name, "late")["clusterInstanceId"]
    foreign = foreign_namesake(emulator, spheron_client_factory, 60)
    settle(deployer, ledger, 60)
    notes = [entry.note for entry in ledger.history(60)]
    assert f"closed duplicate instance {late}; kept {row.instance_id}" in notes
    assert not any(foreign in (note or "") for note in notes)  # another cluster: not ours
    [other] = [
        i
        for i in instances(emulator, spheron_client_factory, row.deployment_name)
        if i.instance_id == foreign
    ]
    assert not other.closed


def test_an_unexpected_error_is_capped_to_500_characters_and_logged(
    ledger, record, emulator, make_deployer, caplog
):
    class BrokenPolicy(DeployPolicy):
        def violations(self, spec):
            raise KeyError("x" * 600)

    record(61, spec_text())
    make_deployer(policy=BrokenPolicy()).advance()
    reason = ledger.get(61).reason
    assert reason == f"unexpected KeyError: '{'x' * 600}'"[:500] and len(reason) == 500
    assert deployer_messages(caplog) == [f"proposal 61: {reason}"]


def test_an_unexpected_error_on_a_creating_row_is_noted_and_retried(
    ledger, record, emulator, make_deployer, clock
):
    class BrokenPolicy(DeployPolicy):
        def violations(self, spec):
            raise KeyError("a policy bug")

    record(62, spec_text())
    ledger.mark_creating(62, deployment_name(CHAIN_ID, DAO, 62), in_flight_until=clock.now - 1)
    make_deployer(policy=BrokenPolicy()).advance()
    assert ledger.get(62).state is S.CREATING
    assert ledger.history(62)[-1].note == "unexpected KeyError: 'a policy bug'; will retry"
    make_deployer().advance()
    assert ledger.get(62).state is S.CREATED


def test_a_ledger_locked_by_another_process_pauses_the_step_and_the_row_waits(
    tmp_path, emulator, make_deployer
):
    """A ledger that cannot be written is not an error of the row: the step stops (the bot
    pauses until the database answers) and the row is handled once the lock is gone."""
    path = tmp_path / "locked.sqlite3"
    with Ledger(path, chain_id=CHAIN_ID, dao_address=DAO, busy_timeout_ms=50) as ledger:
        event = NewEvent(
            proposal_id=63,
            sender="0x" + "cd" * 20,
            spec_json="not json",
            spec_hash="0x" + spec_hash("not json").hex(),
            block_number=1,
            tx_hash="0x" + "63" * 32,
            log_index=0,
        )
        ledger.record_batch([event], 1)
        deployer = Deployer(
            ledger,
            None,
            DeployPolicy(),
            BotMetrics(),
            DeployerOptions(chain_id=CHAIN_ID, dao_address=DAO, dry_run=True),
            environ={},
        )
        other = raw_engine(path)
        with other.connect() as locking:
            locking.exec_driver_sql("BEGIN IMMEDIATE")  # another writer holds the lock
            with pytest.raises(LedgerUnavailableError, match="database is locked"):
                deployer.advance()
            assert ledger.get(63).state is S.RECORDED
            locking.exec_driver_sql("ROLLBACK")
        other.dispose()
        deployer.advance()
        assert ledger.get(63).state is S.REJECTED


def test_an_invalid_spec_is_rejected_counted_and_logged_once(
    ledger, record, emulator, make_deployer, caplog
):
    record(64, "not json at all")
    metrics = BotMetrics()
    make_deployer(metrics=metrics).advance()
    row = ledger.get(64)
    assert row.state is S.REJECTED
    assert deployer_messages(caplog) == [f"proposal 64: rejected, {row.reason}"]
    assert metric(metrics, "events_rejected_total") == 1


def test_a_policy_refusal_is_counted_as_a_rejected_event(ledger, record, make_deployer):
    record(65, spec_text(replicas=5))
    metrics = BotMetrics()
    make_deployer(metrics=metrics, policy=DeployPolicy(max_replicas=2)).advance()
    assert metric(metrics, "events_rejected_total") == 1


def test_a_dry_run_plans_a_spec_whose_secret_the_bot_does_not_have(ledger, record, make_deployer):
    record(66, spec_text("with-secret.json"))
    make_deployer(dry_run=True, target=None, environ={}).advance()
    assert ledger.get(66).state is S.PLANNED


def test_a_refused_create_is_counted_and_logged_once(ledger, record, make_deployer, caplog):
    record(67, spec_text(region="mars"))
    metrics = BotMetrics()
    make_deployer(metrics=metrics).advance()
    row = ledger.get(67)
    assert row.state is S.FAILED
    assert deployer_messages(caplog) == [f"proposal 67: {row.reason}"]
    labels = {"service": "spheron", "kind": "rejected"}
    assert metrics.registry.get_sample_value("api_errors_total", labels) == 1


def test_rows_waiting_for_an_unreachable_spheron_block_deployments(
    ledger, record, emulator, make_deployer
):
    record(68, spec_text())
    record(69, spec_text())
    emulator.set_faults(FaultPlan(error_rate=1.0))
    metrics = BotMetrics()
    make_deployer(metrics=metrics).advance()
    later = time.time() + 100  # Spheron has failed for longer than the grace of 10 s
    assert metrics.unhealthy_reason(later, 10).startswith("deployments blocked: 2 waiting")


def test_an_unexpected_error_is_counted(ledger, record, make_deployer):
    class BrokenPolicy(DeployPolicy):
        def violations(self, spec):
            raise KeyError("a policy bug")

    record(71, spec_text())
    metrics = BotMetrics()
    make_deployer(metrics=metrics, policy=BrokenPolicy()).advance()
    labels = {"service": "spheron", "kind": "other"}
    assert metrics.registry.get_sample_value("api_errors_total", labels) == 1


def test_a_refusal_from_spheron_still_ends_an_outage(
    ledger, record, emulator, make_deployer, clock
):
    """Spheron no longer knows the order a row follows: it answers, so it is reachable."""
    record(72, spec_text())
    ledger.mark_creating(72, deployment_name(CHAIN_ID, DAO, 72), in_flight_until=clock.now)
    ledger.mark_created(72, "instance-gone", "order-gone", at=clock.now)
    metrics = BotMetrics()
    emulator.set_faults(FaultPlan(error_rate=1.0))
    make_deployer(metrics=metrics).advance()
    assert "spheron" in metrics.outages(time.time())
    emulator.set_faults(FaultPlan())
    make_deployer(metrics=metrics).advance()
    assert metrics.outages(time.time()) == {}
    assert ledger.get(72).state is S.CREATED  # noted and retried, see below
    assert ledger.history(72)[-1].note.endswith("; will retry")


def test_an_error_the_ledger_refuses_to_record_is_logged_and_the_run_goes_on(
    ledger, record, caplog
):
    class BrokenPolicy(DeployPolicy):
        def violations(self, spec):
            raise KeyError("a policy bug")

    record(73, spec_text())
    with Ledger.open_readonly(ledger.location) as reader:
        deployer = Deployer(
            reader,
            None,
            BrokenPolicy(),
            BotMetrics(),
            DeployerOptions(chain_id=CHAIN_ID, dao_address=DAO, dry_run=True),
            environ={},
        )
        assert deployer.advance() is True
    [refused] = [
        r for r in caplog.records if r.getMessage() == "proposal 73: could not record the error"
    ]
    assert refused.name == "services.bot.deployer" and refused.levelno == logging.ERROR
    assert refused.exc_info is not None and refused.exc_info[0] is LedgerReadOnlyError
    assert ledger.get(73).state is S.RECORDED
