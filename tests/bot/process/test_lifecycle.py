"""`ape run watcher` as a process governing an instance's whole life: an update held in flight
across `kill -9` is applied once, a close whose answer was lost is not an error, drift made behind
the DAO's back is reported, and every event reaches the webhooks even when one is down for a while
and the bot is killed in between."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable

import requests

from services.bot.ledger import DeploymentRow, DeploymentState, read_rows
from services.spec.proposal import canonical_proposal_json, parse_proposal
from services.targets.spheron import SpheronClient, SpheronTarget
from testbed.emulators.etherscan import Faults
from testbed.emulators.spheron import FaultPlan
from testbed.webhook_receiver import WebhookReceiver
from tests.bot.process.conftest import DAO, SENDER, SPHERON_TOKEN, wait_for
from tests.bot.process.test_faults_and_kills import WATCH_ARGS, example

S = DeploymentState


def propose(chain, proposal_id: int, text: str, block: int) -> None:
    chain.add_deploy_event(DAO, proposal_id, SENDER, "Deploy", text, block_number=block)
    chain.head = block + 3


def envelope(**body) -> str:
    return canonical_proposal_json(parse_proposal(json.dumps(body)))


def row(db: str, proposal_id: int) -> DeploymentRow | None:
    return next((r for r in read_rows(db) if r.proposal_id == proposal_id), None)


def in_state(db: str, proposal_id: int, state: DeploymentState) -> Callable[[], bool]:
    def check() -> bool:
        current = row(db, proposal_id)
        return current is not None and current.state is state

    return check


def spheron_target(spheron) -> SpheronTarget:
    return SpheronTarget(SpheronClient(spheron.url, SPHERON_TOKEN))


def requests_to(spheron, suffix: str, status: int | None = None) -> int:
    """Requests to paths ending in `suffix` (that were answered `status`, if given)."""
    return sum(
        1
        for e in spheron.request_log(all_requests=True)
        if e["path"].endswith(suffix) and (status is None or e["status"] == status)
    )


def test_an_update_held_across_kill_9_is_applied_once_then_the_close_once(
    generated_chain, spheron, start_bot, bot_env
):
    db = bot_env["DEPLOYBOT_DB"]
    env = dict(bot_env, DEPLOYBOT_INFLIGHT_MARGIN="10")  # window 2 s + 10 s > the 6 s hold
    propose(generated_chain, 1, example("web-service.json", "life"), 20)
    bot = start_bot(*WATCH_ARGS, env=env)
    wait_for(in_state(db, 1, S.DEPLOYED), timeout=60, what="proposal 1 deployed")
    instance = row(db, 1).instance_id

    spheron.set_faults(
        FaultPlan(delay_s=6, delay_next=1, path=f"/v1/cluster-instance/{instance}/update")
    )
    propose(generated_chain, 2, envelope(action="update", target=1, changes={"tag": "1.28"}), 30)
    wait_for(lambda: requests_to(spheron, "/update") == 1, timeout=60, what="the update sent")
    bot.kill()
    bot = start_bot(*WATCH_ARGS, env=env)
    wait_for(in_state(db, 2, S.DEPLOYED), timeout=90, what="proposal 2 updated")
    assert requests_to(spheron, "/update") == 1
    view = spheron_target(spheron).inspect(instance)
    assert len(view.deployment_ids) == 2 and view.active.tag == "1.28"
    assert json.loads(row(db, 1).voted_spec_json)["configuration"]["tag"] == "1.28"

    spheron.set_faults(
        FaultPlan(drop_response_next=1, path=f"/v1/cluster-instance/{instance}/close")
    )
    propose(generated_chain, 3, envelope(action="close", target=1), 40)
    propose(generated_chain, 4, envelope(action="update", target=1, changes={"tag": "9"}), 42)
    wait_for(in_state(db, 4, S.REJECTED), timeout=90, what="the update after the close refused")
    assert bot.stop() == 0
    assert row(db, 3).state is S.CLOSED and row(db, 1).closed_by == 3
    assert row(db, 4).reason == "the instance of proposal 1 was closed by proposal 3"
    assert spheron_target(spheron).inspect(instance).closed
    assert requests_to(spheron, "/close", status=200) == 1  # any repeat found it closed
    assert requests_to(spheron, "/update") == 1


def test_drift_and_every_event_reach_the_webhooks_across_an_outage_and_kill_9(
    generated_chain, spheron, start_bot, bot_env
):
    db = bot_env["DEPLOYBOT_DB"]
    with WebhookReceiver() as receiver:
        receiver.fail_with("ops", 503)  # down from the start
        env = dict(
            bot_env,
            DEPLOYBOT_NOTIFY=f"json:{receiver.url_for('ops')},slack:{receiver.url_for('chat')}",
            DEPLOYBOT_DRIFT_INTERVAL="3600",  # overridden by --drift-interval
        )
        args = (*WATCH_ARGS, "--drift-interval", "1", "--status-port", "0")
        propose(generated_chain, 1, example("web-service.json", "watched"), 20)
        bot = start_bot(*args, env=env)
        wait_for(in_state(db, 1, S.DEPLOYED), timeout=60, what="proposal 1 deployed")
        wait_for(lambda: len(receiver.received("chat")) >= 2, timeout=30, what="chat notified")
        instance = row(db, 1).instance_id

        spheron.change_outside_the_dao(instance, tag="evil")
        wait_for(lambda: row(db, 1).drift is not None, timeout=30, what="the drift seen")
        assert row(db, 1).drift["differences"] == ["tag: voted 1.27, running evil"]
        status = re.search(r"status on (http://\S+) ", bot.log_path.read_text()).group(1)
        health = requests.get(f"{status}/healthz", timeout=5)
        # A dead sink shows in the details and never makes the bot unhealthy.
        assert health.status_code == 200 and health.json()["status"] == "ok"
        (failing,) = health.json()["notification_sinks_failing"]
        assert failing.startswith("json-")
        metrics = requests.get(f"{status}/metrics", timeout=5).text
        assert f'notification_sink_up{{sink="{failing}"}} 0.0' in metrics
        assert 'drifted_instances{kind="changed"} 1.0' in metrics
        (shown,) = requests.get(f"{status}/deployments", timeout=5).json()
        assert shown["drift"]["kind"] == "changed"
        assert receiver.url_for("ops") not in health.text + metrics
        bot.kill()  # the JSON sink has not received anything yet

        receiver.heal("ops")
        bot = start_bot(*args, env=env)
        wait_for(lambda: len(receiver.received("ops")) >= 3, timeout=60, what="ops catches up")
        assert bot.stop() == 0
        ops = receiver.received("ops")
        chat = receiver.received("chat")
        urls = (receiver.url_for("ops"), receiver.url_for("chat"))
    assert [(body["event"], body["proposal_id"]) for body in ops] == [
        ("executed", 1),
        ("deployed", 1),
        ("drift", 1),
    ]
    assert ops[2]["drift_kind"] == "changed"
    assert len({body["event_id"] for body in ops}) == 3
    assert any("drift on the instance of proposal 1 (changed)" in body["text"] for body in chat)
    log = bot.log_path.read_text()
    assert "notification sink json-" in log  # the outage was reported, by the sink's id
    assert not any(url in log for url in urls)


def test_15_lives_with_faults_and_kill_9_are_each_applied_exactly_once(
    generated_chain, etherscan_standin, spheron, start_bot, bot_env
):
    """15 instances, each deployed, updated twice and closed (60 proposals), while Spheron fails
    one request in ten, drops some before and some after acting, Etherscan rate-limits, fails and
    garbles answers, and the bot is killed four times: every change is applied once, in order."""
    rng = random.Random(20261130)
    etherscan_standin.reseed(5)
    etherscan_standin.set_faults(
        Faults(rate_limit_probability=0.1, http_500_probability=0.1, malformed_probability=0.05)
    )
    count = 15
    texts = {}
    for pid in range(1, count + 1):
        texts[pid] = example("web-service.json", f"life{pid}")
        texts[count + pid] = envelope(action="update", target=pid, changes={"tag": "1.28"})
        texts[2 * count + pid] = envelope(
            action="update", target=pid, changes={"tag": "1.29", "replicas": 3}
        )
        texts[3 * count + pid] = envelope(action="close", target=pid)
    for block, pid in enumerate(sorted(texts), start=20):
        generated_chain.add_deploy_event(DAO, pid, SENDER, "Deploy", texts[pid], block_number=block)
    generated_chain.head = 20 + len(texts) + 3
    spheron.set_faults(FaultPlan(error_rate=0.1, drop_rate=0.05, drop_response_next=8, seed=11))

    for _ in range(4):
        bot = start_bot(*WATCH_ARGS)
        time.sleep(rng.uniform(3.0, 6.0))
        bot.kill()
    bot = start_bot(*WATCH_ARGS)
    db = bot_env["DEPLOYBOT_DB"]

    def settled() -> bool:
        rows = read_rows(db)
        return len(rows) == len(texts) and all(r.state.is_terminal for r in rows)

    wait_for(settled, timeout=240, what="60 proposals settled")
    assert bot.stop() == 0
    rows = {r.proposal_id: r for r in read_rows(db)}
    expected = [S.DEPLOYED] * (3 * count) + [S.CLOSED] * count
    assert [rows[pid].state for pid in sorted(rows)] == expected, [
        (pid, rows[pid].state.value, rows[pid].reason) for pid in sorted(rows)
    ]
    target = spheron_target(spheron)
    for pid in range(1, count + 1):
        view = target.inspect(rows[pid].instance_id)
        kinds = [target.running(order).kind for order in view.deployment_ids]
        assert kinds == ["DEPLOY", "UPDATE", "UPDATE"], (pid, kinds)
        assert [target.running(order).tag for order in view.deployment_ids] == [
            "1.27",
            "1.28",
            "1.29",
        ]
        assert view.closed and rows[pid].closed_by == 3 * count + pid
    closes = requests_to(spheron, "/close", status=200)
    assert closes == count
