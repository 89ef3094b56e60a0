"""Leadership on PostgreSQL (a real server): one leader per (chain, DAO), taken over when its
session ends, with the session set to be dropped within the lease if its host vanishes, and ended
by a follower when the leader's process is frozen."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from services.bot.leadership import AdvisoryLeadership
from services.bot.ledger import LedgerLocation
from services.bot.ledger_lock import advisory_key
from services.bot.metrics import BotMetrics
from testbed.postgres import PostgresServer
from testbed.waiting import wait_until

CHAIN_ID = 11155111
DAO = "0x" + "5d" * 20


@pytest.fixture
def location(postgres_server: PostgresServer) -> LedgerLocation:
    return LedgerLocation.parse(postgres_server.create_database())


@pytest.fixture
def replicas(location: LedgerLocation) -> Iterator[list[tuple[AdvisoryLeadership, BotMetrics]]]:
    made = []
    for _ in range(2):
        metrics = BotMetrics()
        made.append((AdvisoryLeadership(location, CHAIN_ID, DAO, metrics, lease_s=12), metrics))
    yield made
    for leadership, _ in made:
        leadership.release()


def changes(metrics: BotMetrics, change: str) -> float:
    return metrics.registry.get_sample_value("leader_changes_total", {"change": change}) or 0.0


def test_one_leader_and_the_other_takes_over_when_it_steps_down(replicas):
    (first, first_metrics), (second, second_metrics) = replicas
    assert first.lead() and not second.lead()
    assert first.lead() and not second.lead()  # it stays so, poll after poll
    assert first_metrics.role()["role"] == "leader"
    assert second_metrics.role()["role"] == "follower"
    first.release()
    assert second.lead()
    assert changes(first_metrics, "acquired") == 1 and changes(first_metrics, "lost") == 1
    assert changes(second_metrics, "acquired") == 1


def test_a_leader_whose_session_the_server_ends_loses_the_lead_to_another(
    replicas, postgres_server: PostgresServer
):
    """What happens when the server drops a vanished host's session (keepalive, user timeout)."""
    (first, first_metrics), (second, _) = replicas
    assert first.lead()
    postgres_server.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    )
    assert second.lead()
    assert not first.lead()
    assert changes(first_metrics, "lost") == 1


def test_the_leader_s_session_is_dropped_by_the_server_within_the_lease(replicas):
    (first, _), _ = replicas
    assert first.lead()
    connection = first._lock._connection
    settings = {
        name: connection.exec_driver_sql(f"SHOW {name}").scalar_one()
        for name in (
            "tcp_keepalives_idle",
            "tcp_keepalives_interval",
            "tcp_keepalives_count",
            "tcp_user_timeout",
        )
    }
    assert settings == {
        "tcp_keepalives_idle": "4",
        "tcp_keepalives_interval": "2",
        "tcp_keepalives_count": "3",
        "tcp_user_timeout": "12000",  # ms
    }


def test_a_slow_leader_keeps_the_lead_while_its_heartbeat_speaks(location):
    """A leader busy for longer than the lease (a long poll) is alive: its heartbeat keeps its
    session from looking silent, so no follower deposes it."""
    first_metrics, second_metrics = BotMetrics(), BotMetrics()
    first = AdvisoryLeadership(location, CHAIN_ID, DAO, first_metrics, lease_s=3)
    second = AdvisoryLeadership(location, CHAIN_ID, DAO, second_metrics, lease_s=3)
    try:
        assert first.lead()
        deadline = time.monotonic() + 7.0  # over two leases without a poll of the leader
        while time.monotonic() < deadline:
            assert not second.lead()
            time.sleep(0.2)
        assert changes(second_metrics, "deposed") == 0
        assert first.lead() and first_metrics.role()["role"] == "leader"
    finally:
        first.release()
        second.release()


def test_a_frozen_leaders_silent_session_is_ended_and_the_lead_taken(location):
    """A session that took the lock and then went silent is what a stopped (SIGSTOP) or paused
    leader leaves: its host keeps the connection up, so only its silence gives it away."""
    metrics = BotMetrics()
    follower = AdvisoryLeadership(location, CHAIN_ID, DAO, metrics, lease_s=1.5)
    key = advisory_key(CHAIN_ID, DAO)
    url = sa.make_url(str(location.url)).set(drivername="postgresql").render_as_string(False)
    frozen = psycopg.connect(url, autocommit=True)
    try:
        frozen.execute("SELECT pg_advisory_lock(%s)", (key,))
        assert not follower.lead()  # silent for less than the lease: left alone
        time.sleep(2.0)
        follower.lead()  # silent for longer: its session is ended
        assert changes(metrics, "deposed") == 1
        wait_until(follower.lead, timeout_s=5, what="the lead taken", interval_s=0.1)
        with pytest.raises(psycopg.OperationalError):
            frozen.execute("SELECT 1")
    finally:
        frozen.close()
        follower.release()


def test_a_leader_whose_session_ends_says_so_at_its_next_heartbeat_without_a_poll(
    location, postgres_server: PostgresServer
):
    """A leader busy in a long poll must not go on saying it leads (nor check drift or notify)
    once its session is gone and another replica may lead."""
    metrics = BotMetrics()
    leader = AdvisoryLeadership(location, CHAIN_ID, DAO, metrics, lease_s=1.5)
    try:
        assert leader.lead() and leader.leading
        postgres_server.sql(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
        wait_until(lambda: not leader.leading, timeout_s=5, what="the loss noticed", interval_s=0.1)
        assert metrics.role()["role"] == "follower"
        assert changes(metrics, "lost") == 1
    finally:
        leader.release()
