"""Updates and closes through the deployer against the real Spheron emulator: exactly once, in
execution order, refused with the reason when their target cannot be changed; and drift."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest

from services.bot.deployer import Deployer, DeployerOptions
from services.bot.drift import DriftWatch
from services.bot.ledger import DeploymentState
from services.bot.metrics import BotMetrics
from services.spec.model import MAX_DAO_SPEC_BYTES, MAX_SPEC_BYTES, canonical_json, parse_spec
from services.spec.policy import DeployPolicy
from services.spec.proposal import canonical_proposal_json, parse_proposal
from services.targets.spheron import SpheronTarget
from testbed.emulators.spheron import FaultPlan
from testbed.postgres import free_port
from testbed.waiting import wait_until
from tests.bot.conftest import CHAIN_ID, DAO, FAILING_WEB_IMAGE, taken_over_when_expired
from tests.bot.test_deployer import EXAMPLES

S = DeploymentState
WEB = canonical_json(parse_spec((EXAMPLES / "web-service.json").read_text()))


def envelope(**body) -> str:
    return canonical_proposal_json(parse_proposal(json.dumps(body), max_bytes=MAX_DAO_SPEC_BYTES))


def update(target: int = 1, **changes) -> str:
    return envelope(action="update", target=target, changes=changes)


def close(target: int = 1) -> str:
    return envelope(action="close", target=target)


def settle(deployer, ledger, *ids, rounds=400):
    for _ in range(rounds):
        deployer.advance()
        if all(ledger.get(pid).state.is_terminal for pid in ids):
            return [ledger.get(pid) for pid in ids]
        time.sleep(0.005)
    raise AssertionError([ledger.get(pid) for pid in ids])


def deployed_instance(record, ledger, make_deployer) -> str:
    record(1, WEB)
    deployer = make_deployer()
    (row,) = settle(deployer, ledger, 1)
    assert row.state is S.DEPLOYED
    return row.instance_id


def updates(emulator) -> list[dict]:
    return [e for e in emulator.request_log(all_requests=True) if e["path"].endswith("/update")]


def closes(emulator) -> list[dict]:
    return [e for e in emulator.request_log(all_requests=True) if e["path"].endswith("/close")]


def test_an_update_rolls_out_once_and_becomes_the_voted_state(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28", replicas=3))
    deployer = make_deployer()
    (row,) = settle(deployer, ledger, 2)
    assert row.state is S.DEPLOYED and row.kind == "update" and row.target_id == 1
    assert row.instance_id == instance
    target = ledger.get(1)
    voted = parse_spec(target.voted_spec_json)
    assert (voted.configuration.tag, voted.configuration.replicas) == ("1.28", 3)
    running = SpheronTarget(spheron_client_factory(emulator)).inspect(instance).active
    assert (running.kind, running.tag, running.replicas) == ("UPDATE", "1.28", 3)
    assert len(updates(emulator)) == 1
    deployer.advance()
    assert len(updates(emulator)) == 1
    notes = [entry.note for entry in ledger.history(1)]
    assert "updated by proposal 2: tag 1.27 → 1.28, replicas 2 → 3" in notes
    (updated,) = [event for event in ledger.outbox() if event.kind == "updated"]
    assert updated.summary() == (
        "proposal 2 updated the instance of proposal 1: tag 1.27 → 1.28, replicas 2 → 3"
    )


def test_updates_to_one_instance_apply_in_execution_order(ledger, record, emulator, make_deployer):
    deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28"))
    record(3, update(replicas=3))
    settle(make_deployer(), ledger, 2, 3)
    voted = parse_spec(ledger.get(1).voted_spec_json)
    assert (voted.configuration.tag, voted.configuration.replicas) == ("1.28", 3)
    sent = updates(emulator)
    assert [e["body"]["tag"] for e in sent] == ["1.28", "1.28"]
    assert [e["body"]["instanceCount"] for e in sent] == [2, 3]


def test_a_change_waits_while_its_target_is_still_being_deployed(
    ledger, record, spheron_emulator_factory, spheron_client_factory, clock
):
    slow = spheron_emulator_factory(queued_s=0.5, pending_s=0.5)
    record(1, WEB)
    record(2, close())
    deployer = Deployer(
        ledger,
        SpheronTarget(spheron_client_factory(slow)),
        DeployPolicy(),
        BotMetrics(),
        DeployerOptions(chain_id=CHAIN_ID, dao_address=DAO),
        environ={},
        clock=clock,
    )
    deployer.advance()
    assert (ledger.get(1).state, ledger.get(2).state) == (S.CREATED, S.RECORDED)
    rows = settle(deployer, ledger, 1, 2)
    assert [row.state for row in rows] == [S.DEPLOYED, S.CLOSED]
    assert ledger.get(1).closed_by == 2


def test_a_close_closes_once_and_nothing_changes_the_instance_after_it(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, close())
    record(3, update(tag="1.29"))
    record(4, close())
    metrics = BotMetrics()
    deployer = make_deployer(metrics=metrics)
    rows = settle(deployer, ledger, 2, 3, 4)
    assert unexpected_errors(metrics) == 0
    assert [row.state for row in rows] == [S.CLOSED, S.REJECTED, S.REJECTED]
    assert rows[1].reason == "the instance of proposal 1 was closed by proposal 2"
    assert SpheronTarget(spheron_client_factory(emulator)).inspect(instance).closed
    closes = [e for e in emulator.request_log(all_requests=True) if e["path"].endswith("/close")]
    assert len(closes) == 1
    assert updates(emulator) == []


@pytest.mark.parametrize(
    ("target_json", "change", "reason"),
    [
        (None, update(target=9, tag="x"), "proposal 9 was not deployed by this DAO's bot"),
        (None, update(target=5, tag="x"), "proposal 5 is an update, not a deployment"),
        (update(tag="x"), update(target=1, tag="y"), "proposal 1 is an update, not a deployment"),
        (close(target=2), update(target=1, tag="y"), "proposal 1 is a close, not a deployment"),
        (
            WEB.replace('"replicas":2', '"replicas":0'),
            update(tag="y"),
            "its deployment REJECTED",
        ),
    ],
)
def test_a_change_of_what_cannot_be_changed_is_rejected_with_the_reason(
    ledger, record, emulator, make_deployer, target_json, change, reason
):
    if target_json is not None:
        record(1, target_json)
    record(5, change)
    settle(make_deployer(), ledger, 5)
    row = ledger.get(5)
    assert row.state is S.REJECTED and reason in row.reason
    assert updates(emulator) == []


def test_an_update_whose_result_breaks_the_rules_or_the_policy_is_rejected(
    ledger, record, emulator, make_deployer
):
    deployed_instance(record, ledger, make_deployer)
    record(2, update(healthCheckConfig={"path": "/", "port": 9999}))
    record(3, update(replicas=9, customSpecs={"cpu": 8, "memory": 4}))
    metrics = BotMetrics()
    settle(make_deployer(policy=DeployPolicy(max_replicas=3), metrics=metrics), ledger, 2, 3)
    assert ledger.get(2).reason.startswith("invalid update: updated spec: healthCheckConfig.port")
    assert ledger.get(3).reason == (
        "refused by policy: configuration.replicas: 9 exceeds the policy maximum of 3; "
        "configuration.customSpecs.cpu: 8 exceeds the policy maximum of 4"
    )
    assert updates(emulator) == []
    assert unexpected_errors(metrics) == 0


def test_an_update_in_flight_across_a_crash_is_recognised_not_sent_twice(
    ledger, record, emulator, make_deployer, clock
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28"))
    emulator.set_faults(
        FaultPlan(delay_s=1.0, delay_next=1, path=f"/v1/cluster-instance/{instance}/update")
    )
    assert make_deployer(client_timeout=0.3).advance() is False  # the client gave up
    assert ledger.get(2).state is S.CREATING
    make_deployer().advance()  # a restart at once: inside the window, nothing is sent
    time.sleep(1.2)  # the server completes the held update
    clock.now += 6
    metrics = BotMetrics()
    (row,) = settle(make_deployer(metrics=metrics), ledger, 2)
    assert row.state is S.DEPLOYED
    assert len(updates(emulator)) == 1
    assert any("recognised update" in (entry.note or "") for entry in ledger.history(2))
    assert unexpected_errors(metrics) == 0


def test_a_close_in_flight_across_a_crash_is_not_an_error(
    ledger, record, emulator, make_deployer, clock
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, close())
    emulator.set_faults(
        FaultPlan(drop_response_next=1, path=f"/v1/cluster-instance/{instance}/close")
    )
    make_deployer().advance()
    sent = closes(emulator)
    clock.now += 8
    metrics = BotMetrics()
    (row,) = settle(make_deployer(metrics=metrics), ledger, 2)
    assert row.state is S.CLOSED
    assert closes(emulator) == sent  # recognised as done, not sent again
    assert unexpected_errors(metrics) == 0


def test_drift_of_each_kind_is_recorded_and_cleared(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    instance = deployed_instance(record, ledger, make_deployer)
    target = SpheronTarget(spheron_client_factory(emulator))
    metrics = BotMetrics()
    watch = DriftWatch(ledger, target, metrics, interval_s=0)
    assert watch.check() == {"changed": 0, "closed": 0, "failed": 0}
    assert ledger.get(1).drift is None

    emulator.change_outside_the_dao(instance, tag="latest", instanceCount=5)
    assert watch.check()["changed"] == 1
    drift = ledger.get(1).drift
    assert drift["kind"] == "changed"
    assert drift["differences"] == [
        "tag: voted 1.27, running latest",
        "replicas: voted 2, running 5",
    ]
    assert metrics.registry.get_sample_value("drifted_instances", {"kind": "changed"}) == 1

    emulator.fail_instance(instance)
    assert watch.check()["failed"] == 1
    target.close(instance)
    assert watch.check()["closed"] == 1
    assert ledger.get(1).drift["kind"] == "closed"
    kinds = [event.fields.get("drift_kind") for event in ledger.outbox() if event.kind == "drift"]
    assert kinds == ["changed", "failed", "closed"]


def test_an_update_resolves_its_secrets_from_the_bots_environment(
    ledger, record, emulator, make_deployer
):
    deployed_instance(record, ledger, make_deployer)
    secret = [{"key": "API_TOKEN", "value": "${secret:API_TOKEN}"}]
    record(2, update(secretEnvironmentVariables=secret))
    metrics = BotMetrics()
    settle(make_deployer(environ={}, metrics=metrics), ledger, 2)
    assert ledger.get(2).state is S.FAILED and "DAO_SECRET_API_TOKEN" in ledger.get(2).reason
    assert unexpected_errors(metrics) == 0
    assert updates(emulator) == []

    record(3, update(tag="1.28"))  # a failed change does not block the next one
    record(4, update(secretEnvironmentVariables=secret))
    settle(make_deployer(environ={"DAO_SECRET_API_TOKEN": "tok-s3cret-value"}), ledger, 3, 4)
    assert (ledger.get(3).state, ledger.get(4).state) == (S.DEPLOYED, S.DEPLOYED)
    [_, sent] = updates(emulator)
    assert {"value": "API_TOKEN=***", "isSecret": True} in sent["body"]["env"]
    assert "tok-s3cret-value" not in json.dumps(emulator.request_log(all_requests=True))
    assert "tok-s3cret-value" not in json.dumps([r.to_dict() for r in ledger.rows()])


def test_an_update_of_an_instance_closed_outside_the_dao_fails_with_spherons_answer(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    instance = deployed_instance(record, ledger, make_deployer)
    SpheronTarget(spheron_client_factory(emulator)).close(instance)
    record(2, update(tag="1.28"))
    record(3, close())
    metrics = BotMetrics()
    settle(make_deployer(metrics=metrics), ledger, 2, 3)
    assert unexpected_errors(metrics) == 0
    row = ledger.get(2)
    assert row.state is S.FAILED
    assert row.reason == f"Spheron refused the change: Instance {instance} is closed"
    assert len(updates(emulator)) == 1
    assert ledger.get(3).state is S.CLOSED  # closing what is already closed is done, not an error
    assert parse_spec(ledger.get(1).voted_spec_json).configuration.tag == "1.27"


def test_an_update_whose_request_was_dropped_is_sent_again_and_applied_once(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28"))
    emulator.set_faults(FaultPlan(drop_next=1, path=f"/v1/cluster-instance/{instance}/update"))
    make_deployer(client_timeout=2, margin=5.0).advance()
    in_flight = ledger.get(2)
    assert in_flight.state is S.CREATING  # it may have landed: wait out the window
    assert in_flight.in_flight_until == clock.now + 2 + 5.0  # the client's timeout + the margin
    clock.now += 8
    (row,) = settle(make_deployer(), ledger, 2)
    assert row.state is S.DEPLOYED
    assert len(updates(emulator)) == 2
    view = SpheronTarget(spheron_client_factory(emulator)).inspect(instance)
    assert len(view.deployment_ids) == 2  # the deployment and one update
    assert view.active is not None and view.active.tag == "1.28"


def test_an_update_in_progress_is_not_mistaken_for_drift(
    ledger, record, spheron_emulator_factory, spheron_client_factory, clock
):
    slow = spheron_emulator_factory(queued_s=0.3, pending_s=0.3)
    target = SpheronTarget(spheron_client_factory(slow))
    deployer = Deployer(
        ledger,
        target,
        DeployPolicy(),
        BotMetrics(),
        DeployerOptions(chain_id=CHAIN_ID, dao_address=DAO),
        environ={},
        clock=clock,
    )
    record(1, WEB)
    settle(deployer, ledger, 1)
    record(2, update(tag="1.28"))
    deployer.advance()
    assert ledger.get(2).state is S.CREATED  # Spheron runs 1.28; the vote still says 1.27
    watch = DriftWatch(ledger, target, BotMetrics(), interval_s=0)
    assert watch.check()["changed"] == 0 and ledger.get(1).drift is None
    settle(deployer, ledger, 2)
    assert watch.check()["changed"] == 0 and ledger.get(1).drift is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"action":"restart","target":1}', 'action: "restart" is not an action'),
        (
            '{"action":"update","target":1,"changes":{"image":"evil/miner"}}',
            "image cannot change in place on Spheron; redeploy instead",
        ),
        (
            '{"action":"update","target":1,"changes":{"ports":[],"region":"us-east"}}',
            "region, ports cannot change in place",
        ),
        ('{"action":"update","target":1,"changes":{}}', "an update must change something"),
        ('{"action":"close","target":1,"changes":{"tag":"x"}}', "changes"),
        ('{"action":"update","target":1,"changes":{"tag":"1.28"},"x":1}', "x"),
        ('{"action":"close","target":0}', "target"),
    ],
)
def test_a_bad_envelope_is_rejected_with_what_is_wrong_and_changes_nothing(
    ledger, record, emulator, make_deployer, text, reason
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, text)
    metrics = BotMetrics()
    (row,) = settle(make_deployer(metrics=metrics), ledger, 2)
    assert row.state is S.REJECTED and reason in row.reason, row.reason
    assert unexpected_errors(metrics) == 0
    assert updates(emulator) == []
    assert closes(emulator) == []
    assert ledger.get(1).voted_spec_json == ledger.get(1).spec_json
    assert instance == ledger.get(1).instance_id


def test_a_dry_run_plans_each_change_and_says_what_it_would_do(
    ledger, record, emulator, make_deployer, caplog
):
    caplog.set_level(logging.INFO, logger="services.bot.changes")
    deployed_instance(record, ledger, make_deployer)
    record(3, WEB)
    settle(make_deployer(), ledger, 3)
    record(4, update(tag="1.28"))
    record(5, close(3))
    dry = Deployer(
        ledger,
        None,
        DeployPolicy(),
        BotMetrics(),
        DeployerOptions(chain_id=CHAIN_ID, dao_address=DAO, dry_run=True),
        environ={},
    )
    dry.advance()
    planned = [ledger.get(pid) for pid in (4, 5)]
    assert [row.state for row in planned] == [S.PLANNED, S.PLANNED]
    assert [row.deployment_name for row in planned] == [
        ledger.get(1).deployment_name,
        ledger.get(3).deployment_name,
    ]
    messages = [r.getMessage() for r in caplog.records if r.name == "services.bot.changes"]
    assert messages == [
        "proposal 4: valid; dry run, would update the instance of proposal 1",
        "proposal 5: valid; dry run, would close the instance of proposal 3",
    ]
    assert updates(emulator) == []
    assert closes(emulator) == []


def unexpected_errors(metrics) -> float:
    return (
        metrics.registry.get_sample_value(
            "api_errors_total", {"service": "spheron", "kind": "other"}
        )
        or 0
    )


def crashed_while_sending(ledger, clock, emulator, spheron_client_factory, pid, *, window_s):
    """Leave change `pid` as a crash leaves it: CREATING, with the instance's deployments as
    they were before its request, in flight for `window_s` more seconds."""
    target = ledger.get(ledger.get(pid).target_id)
    before = SpheronTarget(spheron_client_factory(emulator)).inspect(target.instance_id)
    ledger.mark_creating(
        pid,
        target.deployment_name,
        in_flight_until=clock.now + window_s,
        deployments_before=before.deployment_ids,
    )


def test_a_change_in_flight_is_resumed_exactly_when_its_window_ends(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28"))
    crashed_while_sending(ledger, clock, emulator, spheron_client_factory, 2, window_s=5)
    make_deployer().advance()
    assert ledger.get(2).state is S.CREATING and updates(emulator) == []
    clock.now += 5
    make_deployer().advance()
    assert ledger.get(2).state is S.CREATED and len(updates(emulator)) == 1


def test_an_earlier_update_that_runs_the_same_spec_is_not_taken_for_this_one(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28"))
    (earlier,) = settle(make_deployer(), ledger, 2)
    record(3, update(tag="1.28"))  # asks again for what already runs
    crashed_while_sending(ledger, clock, emulator, spheron_client_factory, 3, window_s=-1)
    (row,) = settle(make_deployer(), ledger, 3)
    assert row.state is S.DEPLOYED and row.deployment_id != earlier.deployment_id
    assert len(updates(emulator)) == 2
    view = SpheronTarget(spheron_client_factory(emulator)).inspect(instance)
    assert view.deployment_ids[-1] == row.deployment_id


def test_an_update_made_outside_the_dao_is_not_taken_for_the_one_in_flight(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28"))
    crashed_while_sending(ledger, clock, emulator, spheron_client_factory, 2, window_s=-1)
    foreign = SpheronTarget(spheron_client_factory(emulator)).update(
        instance,
        parse_spec(WEB.replace('"tag":"1.27"', '"tag":"9.9"')),
        secret_values={},
        request_key="outside-the-dao",
        on_sending=lambda: None,
    )
    (row,) = settle(make_deployer(), ledger, 2)
    assert row.state is S.DEPLOYED and row.deployment_id != foreign
    running = SpheronTarget(spheron_client_factory(emulator)).inspect(instance).active
    assert running.tag == "1.28"


def test_a_change_in_flight_that_the_policy_now_refuses_is_rejected_without_an_error(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    deployed_instance(record, ledger, make_deployer)
    record(2, update(replicas=3))
    crashed_while_sending(ledger, clock, emulator, spheron_client_factory, 2, window_s=-1)
    metrics = BotMetrics()
    make_deployer(policy=DeployPolicy(max_replicas=2), metrics=metrics).advance()
    row = ledger.get(2)
    assert row.state is S.REJECTED and row.reason.startswith("refused by policy: ")
    assert unexpected_errors(metrics) == 0 and updates(emulator) == []


def test_a_close_that_landed_before_a_crash_is_recognised_not_sent_again(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, close())
    crashed_while_sending(ledger, clock, emulator, spheron_client_factory, 2, window_s=-1)
    SpheronTarget(spheron_client_factory(emulator)).close(instance)  # the request that landed
    sent = closes(emulator)
    metrics = BotMetrics()
    make_deployer(metrics=metrics).advance()
    assert ledger.get(2).state is S.CLOSED and ledger.get(1).closed_by == 2
    assert closes(emulator) == sent
    assert unexpected_errors(metrics) == 0


def test_an_update_that_does_not_settle_in_time_fails_with_its_last_status(
    ledger, record, unsettled_deployer, clock
):
    """The deploy timeout counts from when Spheron accepted the update (stored), and is checked
    before the status is read: at the timeout it still waits, past it the update fails and the
    instance's voted state stays as it was."""
    deployer = unsettled_deployer
    record(1, WEB)
    deployer().advance()
    ledger.mark_deployed(1, "Deployed")  # its own order never settles on this slow server
    record(2, update(tag="1.28"))
    deployer().advance()
    sent = ledger.get(2)
    assert sent.state is S.CREATED and sent.created_at == clock.now
    clock.now += 30  # exactly the deploy timeout: not past it
    deployer().advance()
    assert ledger.get(2).state is S.CREATED and ledger.get(2).deployment_status == "Queued"
    clock.now += 1
    metrics = BotMetrics()
    deployer(metrics).advance()
    row = ledger.get(2)
    assert row.state is S.FAILED and row.created_at == sent.created_at
    assert unexpected_errors(metrics) == 0  # failed, and not followed any further
    assert row.reason == (
        f"update {sent.deployment_id} did not settle within 30 s (last status Queued)"
    )
    assert ledger.get(1).voted_spec_json == WEB


def test_an_update_as_large_as_the_dao_allows_rolls_out(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    """Both the deployed spec and the update are larger than a spec proposed by hand may be (the
    DAO allows up to 64 KiB): the bot plans, sends and settles the update all the same."""

    def variables(count: int, fill: str) -> list[dict]:
        return [{"key": f"SETTING_{n}", "value": fill * 1000} for n in range(count)]

    data = json.loads(WEB)
    data["configuration"]["environmentVariables"] = variables(9, "a")
    large = canonical_json(parse_spec(json.dumps(data), max_bytes=MAX_DAO_SPEC_BYTES))
    assert len(large.encode()) > MAX_SPEC_BYTES
    record(1, large)
    settle(make_deployer(), ledger, 1)
    change = update(environmentVariables=variables(10, "b"))
    assert len(change.encode()) > MAX_SPEC_BYTES
    record(2, change)
    (row,) = settle(make_deployer(), ledger, 2)
    assert row.state is S.DEPLOYED, row.reason
    voted = parse_spec(ledger.get(1).voted_spec_json, max_bytes=MAX_DAO_SPEC_BYTES)
    assert [v.value[0] for v in voted.configuration.environmentVariables] == ["b"] * 10
    running = SpheronTarget(spheron_client_factory(emulator)).inspect(row.instance_id).active
    assert running.kind == "UPDATE"


def test_each_step_of_a_change_tells_the_operator_what_it_did(
    ledger, record, emulator, make_deployer, caplog
):
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28"))
    record(3, close())
    caplog.set_level(logging.DEBUG, logger="services.bot.changes")
    deployer = make_deployer()
    deployer.advance()
    created = ledger.get(2)
    settle(deployer, ledger, 2, 3)
    messages = [r.getMessage() for r in caplog.records if r.name == "services.bot.changes"]
    assert messages[:3] == [
        f"proposal 2: updating instance {instance} (deployment {created.deployment_id})",
        "proposal 3: waits for proposal 2 first",
        "proposal 3: waits for proposal 2 first",
    ]
    assert "proposal 2: updated the instance of proposal 1 (Deployed)" in messages
    assert messages[-1] == f"proposal 3: closed instance {instance}"

    record(5, WEB)  # an instance still being deployed
    record(6, close(5))
    caplog.clear()
    make_deployer().advance()
    messages = [r.getMessage() for r in caplog.records if r.name == "services.bot.changes"]
    assert messages == ["proposal 6: waits for the deployment of the instance of proposal 5"]


def test_an_update_that_fails_on_spheron_leaves_the_voted_state_and_the_next_goes_on(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    deployed_instance(record, ledger, make_deployer)
    image, tag = FAILING_WEB_IMAGE.split(":")
    assert parse_spec(WEB).configuration.image == image
    record(2, update(tag=tag))
    record(3, update(replicas=3))
    metrics = BotMetrics()
    rows = settle(make_deployer(metrics=metrics), ledger, 2, 3)
    assert [row.state for row in rows] == [S.FAILED, S.DEPLOYED]
    assert unexpected_errors(metrics) == 0
    assert rows[0].reason == "Spheron update status is Failed"
    assert rows[0].deployment_status == "Failed"
    voted = parse_spec(ledger.get(1).voted_spec_json)
    assert (voted.configuration.tag, voted.configuration.replicas) == ("1.27", 3)
    assert [entry.note for entry in ledger.history(1)][-1] == (
        "updated by proposal 3: replicas 2 → 3"
    )


def test_an_applied_update_moves_the_health_check_and_the_instances_urls(
    ledger, record, emulator, make_deployer, spheron_client_factory
):
    instance = deployed_instance(record, ledger, make_deployer)
    before = ledger.get(1).urls
    record(2, update(tag="1.28", healthCheckConfig={"path": "/healthz", "port": 80}))
    (row,) = settle(make_deployer(), ledger, 2)
    assert row.state is S.DEPLOYED
    check = spheron_client_factory(emulator).get_instance(instance)["healthCheck"]
    assert (check["url"], check["port"]) == ("/healthz", 80)
    # The update's own order serves the instance now, on URLs of its own.
    assert row.urls and set(row.urls).isdisjoint(before)
    assert ledger.get(1).urls == row.urls


def test_a_replica_that_lost_its_claim_while_inspecting_the_instance_sends_no_update(
    ledger, record, emulator, make_deployer
):
    """Reading the instance's deployments is slow; meanwhile the claim expires and another
    replica takes the row. The commit of CREATING, which checks the claim, stops the update."""
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28"))
    deployer = make_deployer(replica="replica-a", lease=0.2)
    ledger.claim(2, "replica-a", lease_s=0.2)
    emulator.set_faults(
        FaultPlan(delay_s=0.6, delay_next=1, path=f"/v1/cluster-instance/{instance}")
    )

    with taken_over_when_expired(ledger, 2, "replica-b"):
        deployer.advance()
    row = ledger.get(2)
    assert row.state is S.RECORDED and row.claimed_by == "replica-b"
    assert updates(emulator) == []


def test_a_lost_update_is_sent_again_though_an_earlier_update_ran_the_same_spec(
    ledger, record, emulator, make_deployer, spheron_client_factory, clock
):
    """The instance's deployments before the request are read when it is sent: an older update
    that ran the same spec is not taken for this one, whose request never arrived."""
    instance = deployed_instance(record, ledger, make_deployer)
    record(2, update(tag="1.28"))
    record(3, update(tag="1.27"))
    settle(make_deployer(), ledger, 2, 3)
    record(4, update(tag="1.28"))  # what proposal 2 already ran once
    emulator.set_faults(FaultPlan(drop_next=1, path=f"/v1/cluster-instance/{instance}/update"))
    make_deployer().advance()
    assert ledger.get(4).state is S.CREATING
    clock.now += 8
    (row,) = settle(make_deployer(), ledger, 4)
    assert row.state is S.DEPLOYED
    assert not any("recognised" in (entry.note or "") for entry in ledger.history(4))
    assert len(updates(emulator)) == 4  # 2, 3, the lost 4 and 4 again
    view = SpheronTarget(spheron_client_factory(emulator)).inspect(instance)
    assert view.deployment_ids[-1] == row.deployment_id
    assert view.active.tag == "1.28"


def test_a_close_that_never_reached_spheron_is_sent_as_soon_as_spheron_is_back(
    ledger, record, spheron_emulator_factory, spheron_client_factory, clock
):
    server = spheron_emulator_factory(port=free_port())
    metrics = BotMetrics()
    deployer = Deployer(
        ledger,
        SpheronTarget(spheron_client_factory(server)),
        DeployPolicy(),
        metrics,
        DeployerOptions(chain_id=CHAIN_ID, dao_address=DAO),
        environ={},
        clock=clock,
    )
    record(1, WEB)
    settle(deployer, ledger, 1)
    record(2, close())
    server.stop()
    assert deployer.advance() is False
    row = ledger.get(2)
    assert row.state is S.CREATING and row.in_flight_until is None  # certainly not sent
    instance = ledger.get(1).instance_id
    assert ledger.history(2)[-1].note.startswith(
        f"close request not delivered: Spheron API GET /v1/cluster-instance/{instance} "
        "failed after 4 attempt(s); last problem: ConnectionError"
    )
    server.start()
    deployer.advance()  # no in-flight window to wait out: the clock has not moved
    assert ledger.get(2).state is S.CLOSED
    assert len(closes(server)) == 1
    assert unexpected_errors(metrics) == 0


def test_a_change_applies_to_a_deployment_executed_before_it_in_the_same_block_only(
    ledger, record, emulator, make_deployer
):
    record(1, WEB, block=40, log_index=0)
    record(2, update(target=1, tag="1.28"), block=40, log_index=1)  # after it: applies
    record(4, close(target=5), block=50, log_index=0)  # before its target: refused
    record(5, WEB, block=50, log_index=1)
    rows = settle(make_deployer(), ledger, 1, 2, 4, 5)
    assert [row.state for row in rows] == [S.DEPLOYED, S.DEPLOYED, S.REJECTED, S.DEPLOYED]
    assert rows[2].reason == (
        "the instance of proposal 5: proposal 5 was executed after this change"
    )
    assert closes(emulator) == []


def test_an_update_that_finds_spheron_down_before_sending_is_sent_once_it_is_back(
    ledger, record, emulator, make_deployer
):
    """Naming a machine plan needs a lookup before the request: when that lookup finds Spheron
    down, nothing was sent, and the update goes out as soon as Spheron answers again."""
    deployed_instance(record, ledger, make_deployer)
    record(2, update(machineImageId=f"{0xE0000000:024x}"))
    emulator.set_faults(FaultPlan(error_next=4, path="/v1/compute-machine-image"))  # 1 + 3 retries
    metrics = BotMetrics()
    assert make_deployer(metrics=metrics).advance() is False
    row = ledger.get(2)
    assert (row.state, row.attempts, row.in_flight_until) == (S.RECORDED, 0, None)
    assert updates(emulator) == [] and unexpected_errors(metrics) == 0
    (row,) = settle(make_deployer(), ledger, 2)
    assert row.state is S.DEPLOYED and len(updates(emulator)) == 1


def test_an_update_that_loses_spheron_between_its_reads_and_its_request_is_not_taken_as_sent(
    ledger, record, spheron_emulator_factory, spheron_client_factory, make_deployer
):
    """Spheron goes away after the instance's deployments were read and before the update is
    sent (the organisation is still to be looked up): nothing was sent, so the row stays as it
    was, and the update goes out once Spheron is back."""
    server = spheron_emulator_factory(port=free_port())

    def deployer(metrics=None):
        return make_deployer(target=SpheronTarget(spheron_client_factory(server)), metrics=metrics)

    record(1, WEB)
    settle(deployer(), ledger, 1)
    active = f"/v1/cluster-instance/order/{ledger.get(1).deployment_id}"  # read last
    record(2, update(tag="1.28"))
    server.set_faults(FaultPlan(delay_s=5, delay_next=1, path=active))

    earlier = len(server.request_log(all_requests=True))

    def stop_while_the_instance_is_read() -> None:
        wait_until(
            lambda: any(
                e["path"] == active for e in server.request_log(all_requests=True)[earlier:]
            ),
            timeout_s=5,
            what="the instance's order to be read",
            interval_s=0.01,
        )
        server.stop()  # the read is answered; the next connection is refused

    metrics = BotMetrics()
    during_the_outage = deployer(metrics)
    stopper = threading.Thread(target=stop_while_the_instance_is_read)
    stopper.start()
    assert during_the_outage.advance() is False
    stopper.join()
    row = ledger.get(2)
    assert (row.state, row.attempts) == (S.RECORDED, 0)
    assert unexpected_errors(metrics) == 0
    server.start()
    (row,) = settle(deployer(), ledger, 2)
    assert row.state is S.DEPLOYED and len(updates(server)) == 1
