"""Three `ape run watcher` replicas on one PostgreSQL ledger (a real server): exactly once while
the leader and random replicas are killed with SIGKILL and the database restarts, under faults
on both stand-ins; a replica that loses the database pauses and resumes; a frozen leader is
deposed; and an instance's whole life (update, drift, close, notifications) governed by replicas
whose leader is killed."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from services.bot.ledger import DeploymentState, read_rows
from testbed.bot_process import WatcherProcess
from testbed.emulators.etherscan import Faults
from testbed.emulators.spheron import CREATE_PATH, FaultPlan
from testbed.postgres import PostgresServer
from testbed.waiting import wait_until
from testbed.webhook_receiver import WebhookReceiver
from tests.bot.process.conftest import wait_for
from tests.bot.process.test_faults_and_kills import (
    WATCH_ARGS,
    add_events,
    example,
    instances_by_name,
)
from tests.bot.process.test_hardening import deployed
from tests.bot.process.test_lifecycle import envelope, in_state, propose, requests_to, row

#: Short leases keep takeovers quick in tests (the default is 30 s).
LEASE_S = 3
S = DeploymentState
T = TypeVar("T")


@pytest.fixture
def replica_env(bot_env, postgres_server: PostgresServer) -> dict[str, str]:
    """The bot's environment with a new PostgreSQL database as the shared ledger."""
    return dict(
        bot_env, DEPLOYBOT_DB=postgres_server.create_database(), DEPLOYBOT_LEASE=str(LEASE_S)
    )


@pytest.fixture
def start_replica(tmp_path: Path, replica_env) -> Iterator[Callable[[], WatcherProcess]]:
    """Start one more replica, with its own log and status server; all are killed at the end."""
    started: list[WatcherProcess] = []

    def start() -> WatcherProcess:
        log = tmp_path / f"replica-{len(started) + 1}.log"
        replica = WatcherProcess([*WATCH_ARGS, "--status-port", "0"], replica_env, log).start()
        started.append(replica)
        return replica

    yield start
    for replica in started:
        replica.kill()


def the_leader(replicas: list[WatcherProcess]) -> WatcherProcess:
    """Wait until exactly one live replica says it leads; that one."""

    def one_leader() -> WatcherProcess | None:
        leaders = [r for r in replicas if r.running and r.role() == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    return wait_for_value(one_leader, timeout=60, what="one leader")


def wait_for_value(condition: Callable[[], T | None], timeout: float, what: str) -> T:
    return wait_until(condition, timeout_s=timeout, what=what, interval_s=0.2)


def test_three_replicas_deploy_100_proposals_exactly_once_through_kills_and_a_restart(
    generated_chain, etherscan_standin, spheron, postgres_server, start_replica, replica_env
):
    rng = random.Random(20261130)
    etherscan_standin.reseed(11)
    etherscan_standin.set_faults(
        Faults(rate_limit_probability=0.1, http_500_probability=0.15, malformed_probability=0.05)
    )
    spheron.set_faults(
        FaultPlan(
            error_rate=0.15,
            drop_rate=0.1,
            delay_rate=0.05,
            delay_s=3,  # slower than the client's 2 s: answers that complete after it gave up
            drop_response_next=10,
            seed=5,
        )
    )
    add_events(generated_chain, range(1, 51), first_block=20)
    replicas = [start_replica() for _ in range(3)]
    leaders_killed = 0
    for round_ in range(6):
        time.sleep(rng.uniform(2.0, 4.0))
        if round_ % 2 == 0:
            victim = the_leader(replicas)
            leaders_killed += 1
        else:
            victim = rng.choice([r for r in replicas if r.running])
        victim.kill()
        replicas.remove(victim)
        replicas.append(start_replica())  # what systemd or the orchestrator does
        if round_ == 1:
            add_events(generated_chain, range(51, 101), first_block=generated_chain.head + 1)
        if round_ == 3:
            postgres_server.restart(mode="immediate")  # a crash of the database server

    db = replica_env["DEPLOYBOT_DB"]
    wait_for(deployed(db, 100), timeout=240, what="100 deployments")
    assert all(r.running for r in replicas), [r.log_tail(40) for r in replicas if not r.running]
    the_leader(replicas)
    for replica in replicas:
        assert replica.stop() == 0

    names = instances_by_name(spheron)
    assert len(names) == 100, "every executed proposal has an instance"
    assert max(names.values()) == 1, f"duplicates: {[n for n, c in names.items() if c > 1]}"
    assert sorted(r.proposal_id for r in read_rows(db)) == list(range(1, 101))
    logs = "".join(path.read_text() for path in replicas[0].log_path.parent.glob("replica-*.log"))
    assert logs.count("this replica leads") >= leaders_killed + 1
    assert "Ledger database unreachable" in logs  # the restart was felt, and survived


def test_a_replica_that_loses_the_database_pauses_and_resumes_losing_nothing(
    generated_chain, spheron, postgres_server, start_replica, replica_env
):
    db = replica_env["DEPLOYBOT_DB"]
    add_events(generated_chain, [1, 2], first_block=20)
    replica = start_replica()
    wait_for(deployed(db, 2), timeout=60, what="2 deployments")
    assert replica.role() == "leader"
    postgres_server.stop()
    try:
        body = wait_for_value(
            lambda: (h := replica.health()) and h["replica"]["role"] == "paused" and h,
            timeout=30,
            what="the replica to pause",
        )
        assert body["status"] in ("degraded", "unhealthy")
        assert "ledger" in body["outages"]
        add_events(generated_chain, [3, 4], first_block=generated_chain.head + 1)
        time.sleep(2)  # executed while the replica cannot record them
        assert replica.running and replica.role() == "paused"
    finally:
        postgres_server.start()
    wait_for(deployed(db, 4), timeout=60, what="the events of the outage, deployed")
    wait_for(lambda: replica.role() == "leader", timeout=30, what="the replica to lead again")
    assert replica.stop() == 0
    assert "Ledger database reachable again" in replica.log_path.read_text()
    assert sorted(instances_by_name(spheron).values()) == [1, 1, 1, 1]


def test_a_replica_killed_with_a_create_in_flight_is_taken_over_without_a_second_create(
    generated_chain, spheron, start_replica, replica_env
):
    """Spheron holds the create for 6 s; the replica that sent it is killed. The other takes the
    row over once the lease has expired, waits for the in-flight window, and adopts the
    instance the dead replica's request created."""
    replica_env["DEPLOYBOT_INFLIGHT_MARGIN"] = "6"  # the window, 2 s + 6 s, outlasts the hold
    spheron.set_faults(FaultPlan(delay_s=6, delay_next=1, path=CREATE_PATH))
    replicas = [start_replica(), start_replica()]
    the_leader(replicas)
    add_events(generated_chain, [1], first_block=20)
    wait_for(lambda: spheron.request_log(), timeout=60, what="the create to arrive")
    (row,) = read_rows(replica_env["DEPLOYBOT_DB"])
    sender_name = row.claimed_by or ""
    (sender,) = [r for r in replicas if f"-{r.pid}-" in sender_name]
    sender.kill()
    (survivor,) = [r for r in replicas if r is not sender]
    wait_for(deployed(replica_env["DEPLOYBOT_DB"], 1), timeout=90, what="proposal 1 deployed")
    assert survivor.stop() == 0
    assert list(instances_by_name(spheron).values()) == [1]
    assert len(spheron.request_log()) == 1  # one create, ever
    (row,) = read_rows(replica_env["DEPLOYBOT_DB"])
    assert row.attempts == 1
    assert f"took over from replica {sender_name}" in survivor.log_path.read_text()


def test_replicas_govern_an_instances_life_once_and_notify_each_event_through_a_leader_kill(
    generated_chain, spheron, start_replica, replica_env
):
    """Deploy, update, drift and close with two replicas; the leader is killed -9 once the update
    is recorded. The update and the close are each sent once, the drift is found by whoever leads
    and written once, and every event reaches the webhook, delivered by the leader of the time."""
    db = replica_env["DEPLOYBOT_DB"]
    with WebhookReceiver() as receiver:
        replica_env["DEPLOYBOT_NOTIFY"] = f"json:{receiver.url_for('ops')}"
        replica_env["DEPLOYBOT_DRIFT_INTERVAL"] = "1"
        replicas = [start_replica(), start_replica()]
        propose(generated_chain, 1, example("web-service.json", "shared"), 20)
        wait_for(in_state(db, 1, S.DEPLOYED), timeout=90, what="proposal 1 deployed")
        instance = row(db, 1).instance_id

        propose(
            generated_chain, 2, envelope(action="update", target=1, changes={"tag": "1.28"}), 30
        )
        wait_for(lambda: row(db, 2) is not None, timeout=60, what="the update recorded")
        leader = the_leader(replicas)
        leader.kill()
        replicas.append(start_replica())
        wait_for(in_state(db, 2, S.DEPLOYED), timeout=90, what="proposal 2 updated")

        spheron.change_outside_the_dao(instance, tag="evil")
        wait_for(lambda: row(db, 1).drift is not None, timeout=60, what="the drift seen")
        propose(generated_chain, 3, envelope(action="close", target=1), 40)
        wait_for(in_state(db, 3, S.CLOSED), timeout=90, what="proposal 3 closed the instance")

        expected = {
            ("executed", 1), ("deployed", 1), ("executed", 2), ("updated", 2), ("drift", 1),
            ("executed", 3), ("closed", 3),
        }  # fmt: skip
        wait_for(
            lambda: {(b["event"], b["proposal_id"]) for b in receiver.received("ops")} == expected,
            timeout=60,
            what="every event notified",
        )
        for replica in replicas:
            if replica.running:
                assert replica.stop() == 0
        received = receiver.received("ops")
    # Each event was written once (one id each); a delivery repeated across the kill carries
    # the same id, so a receiver can tell.
    ids = {(body["event"], body["proposal_id"]): set() for body in received}
    for body in received:
        ids[(body["event"], body["proposal_id"])].add(body["event_id"])
    assert all(len(event_ids) == 1 for event_ids in ids.values()), ids
    assert requests_to(spheron, "/update") == 1
    assert requests_to(spheron, "/close", status=200) == 1
    drift = next(body for body in received if body["event"] == "drift")
    assert drift["differences"] == ["tag: voted 1.28, running evil"]
    assert list(instances_by_name(spheron).values()) == [1]


def test_a_frozen_leader_is_deposed_and_the_chain_read_by_another(
    generated_chain, spheron, start_replica, replica_env
):
    """SIGSTOP the leader: its host keeps its database connection up, so only its silence shows.
    A follower ends its session after the lease and reads the chain; the leader, woken, follows."""
    db = replica_env["DEPLOYBOT_DB"]
    replicas = [start_replica(), start_replica()]
    frozen = the_leader(replicas)
    (other,) = [r for r in replicas if r is not frozen]
    os.kill(frozen.pid, signal.SIGSTOP)
    try:
        add_events(generated_chain, [1, 2], first_block=20)
        wait_for(deployed(db, 2), timeout=60, what="events read while the leader is frozen")
        assert other.role() == "leader"
        assert other.health()["replica"]["role"] == "leader"
    finally:
        os.kill(frozen.pid, signal.SIGCONT)
    wait_for(lambda: frozen.role() == "follower", timeout=30, what="the woken leader to follow")
    add_events(generated_chain, [3], first_block=generated_chain.head + 1)
    wait_for(deployed(db, 3), timeout=60, what="proposal 3 deployed")
    for replica in replicas:
        assert replica.stop() == 0
    assert sorted(instances_by_name(spheron).values()) == [1, 1, 1]
    assert "ended it; the lead goes to the next replica" in other.log_path.read_text()
