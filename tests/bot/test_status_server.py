"""The status server over real HTTP on loopback, reading a real ledger; and BotMetrics itself."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from services.bot.ledger import Ledger, NewEvent
from services.bot.metrics import BotMetrics
from services.bot.status_server import StatusServer

CHAIN_ID = 11155111
DAO = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MEMBER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
START = 1_700_000_000.0
MAX_AGE = 60.0


@dataclass
class ManualClock:
    """A clock the test moves by hand, so the health rule is checked without waiting."""

    now: float = START

    def __call__(self) -> float:
        return self.now


def event(pid: int, spec: dict[str, object]) -> NewEvent:
    spec_json = json.dumps(spec)
    return NewEvent(
        proposal_id=pid,
        sender=MEMBER,
        spec_json=spec_json,
        spec_hash="0x" + hashlib.sha256(spec_json.encode()).hexdigest(),
        block_number=1000 + pid,
        tx_hash="0x" + hashlib.sha256(f"tx{pid}".encode()).hexdigest(),
        log_index=0,
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """Writer ledger with one row in each of DEPLOYED, FAILED, RECORDED."""
    with Ledger(tmp_path / "ledger.sqlite3", chain_id=CHAIN_ID, dao_address=DAO) as writer:
        writer.record_batch(
            [
                event(1, {"clusterName": "web", "configuration": {"image": "nginx"}}),
                event(2, {"clusterName": "db"}),
                event(3, {"clusterName": "queued"}),
            ],
            checkpoint_block=1010,
        )
        writer.mark_creating(1, "dao-11155111-1", in_flight_until=1.8e9)
        writer.mark_created(1, "inst-aaa", "order-aaa", at=1.8e9)
        writer.mark_deployed(1, "Deployed", ["https://web.example", "https://web2.example"])
        writer.mark_failed(2, "secret DB_PASSWORD is not set")
        yield writer


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def metrics() -> BotMetrics:
    return BotMetrics(started_at=START)


@pytest.fixture
def server(ledger: Ledger, metrics: BotMetrics, clock: ManualClock) -> Iterator[StatusServer]:
    with StatusServer(ledger.path, metrics, max_poll_age_s=MAX_AGE, clock=clock) as running:
        yield running


def get(server: StatusServer, path: str) -> requests.Response:
    return requests.get(server.url + path, timeout=5)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parse Prometheus text into {(sample name, sorted labels): value}."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


# -- /healthz -------------------------------------------------------------------------------------


def test_health_flips_to_503_when_polls_stop_and_back_when_they_resume(
    server: StatusServer, metrics: BotMetrics, clock: ManualClock
) -> None:
    response = get(server, "/healthz")
    assert response.status_code == 200  # grace period after start
    assert response.json()["last_successful_poll"] is None

    clock.now = START + MAX_AGE + 1
    response = get(server, "/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert "no successful poll" in response.json()["reason"]

    metrics.record_poll(success=True, at=clock.now)
    metrics.set_head(1020)
    response = get(server, "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert response.headers["Content-Type"].startswith("application/json")
    assert body["status"] == "ok" and "reason" not in body
    assert body["chain_id"] == CHAIN_ID and body["dao_address"] == DAO.lower()
    assert (body["checkpoint_block"], body["head_block"]) == (1010, 1020)

    clock.now += MAX_AGE  # exactly at the limit: still healthy
    assert get(server, "/healthz").status_code == 200

    metrics.record_poll(success=False)  # failed polls do not count as progress
    clock.now += 1
    response = get(server, "/healthz")
    assert response.status_code == 503
    assert "last successful poll was 61.0s ago" in response.json()["reason"]


def test_an_outage_is_degraded_then_unhealthy_once_deployments_are_blocked(
    server: StatusServer, metrics: BotMetrics, clock: ManualClock
) -> None:
    metrics.record_poll(success=True, at=clock.now)
    metrics.set_blocked_rows(2)
    metrics.service_failed("spheron", "connection refused", at=clock.now)
    response = get(server, "/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["deployments_blocked"] is False
    assert body["outages"]["spheron"]["last_error"] == "connection refused"
    assert body["outages"]["spheron"]["failures"] == 1

    clock.now += MAX_AGE / 2
    metrics.record_poll(success=True, at=clock.now)  # polls keep succeeding: Etherscan is fine
    metrics.service_failed("spheron", "HTTP 503", at=clock.now)
    clock.now += MAX_AGE / 2 + 1
    metrics.record_poll(success=True, at=clock.now)
    response = get(server, "/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy" and body["deployments_blocked"] is True
    assert body["reason"] == (
        "deployments blocked: 2 waiting while Spheron has failed for 61s (HTTP 503)"
    )
    assert body["outages"]["spheron"]["failures"] == 2

    metrics.service_ok("spheron", at=clock.now)
    response = get(server, "/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert response.json()["outages"] == {}


def test_a_long_outage_blocks_nothing_when_no_row_waits(
    server: StatusServer, metrics: BotMetrics, clock: ManualClock
) -> None:
    metrics.set_blocked_rows(0)
    metrics.service_failed("spheron", "down", at=clock.now)
    clock.now += 10 * MAX_AGE
    metrics.record_poll(success=True, at=clock.now)
    response = get(server, "/healthz")
    assert response.status_code == 200 and response.json()["status"] == "degraded"


def test_outages_are_logged_once_when_they_start_and_once_when_they_end(
    metrics: BotMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="services.bot.metrics")
    for _ in range(5):
        metrics.service_failed("etherscan", "HTTP 500", at=START)
    metrics.service_ok("etherscan", at=START + 42)
    metrics.service_ok("etherscan", at=START + 43)
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        "Etherscan API unreachable: HTTP 500; retrying on every poll (see /healthz)",
        "Etherscan API reachable again after 42 s (5 failed attempts)",
    ]


def test_the_status_server_can_serve_other_hosts(
    ledger: Ledger, metrics: BotMetrics, clock: ManualClock
) -> None:
    """Bound to every interface (what the container image does), it answers on a non-loopback
    address of this machine, as Prometheus in another container would reach it."""
    address = non_loopback_address()
    with StatusServer(
        ledger.path, metrics, host="0.0.0.0", port=0, max_poll_age_s=MAX_AGE, clock=clock
    ) as srv:
        port = srv.url.rsplit(":", 1)[1]
        response = requests.get(f"http://{address}:{port}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json()["chain_id"] == CHAIN_ID
    with StatusServer(ledger.path, metrics, port=0, max_poll_age_s=MAX_AGE) as loopback_only:
        port = loopback_only.url.rsplit(":", 1)[1]
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://{address}:{port}/healthz", timeout=5)


def non_loopback_address() -> str:
    """An IPv4 address of this machine other than 127.x (no packet is sent to find it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.254", 9))
        address = probe.getsockname()[0]
    assert not address.startswith("127."), "this machine has no non-loopback IPv4 address"
    return address


# -- /metrics -------------------------------------------------------------------------------------


def test_metrics_endpoint_serves_parsable_prometheus_text(
    server: StatusServer, metrics: BotMetrics
) -> None:
    metrics.record_events_seen(3)
    metrics.record_events_rejected()
    metrics.record_api_error("etherscan", "rate_limit")
    metrics.record_api_error("etherscan", "rate_limit")
    metrics.record_api_error("spheron", "http_5xx")
    metrics.record_poll(success=True, at=START + 5)
    metrics.record_poll(success=False)
    metrics.set_head(1032, confirmed=1030)

    response = get(server, "/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    values = samples(response.text)

    assert values[("events_seen_total", ())] == 3
    assert values[("events_rejected_total", ())] == 1
    assert values[("api_errors_total", (("kind", "rate_limit"), ("service", "etherscan")))] == 2
    assert values[("api_errors_total", (("kind", "http_5xx"), ("service", "spheron")))] == 1
    assert values[("polls_total", (("outcome", "success"),))] == 1
    assert values[("polls_total", (("outcome", "error"),))] == 1
    assert values[("last_successful_poll_timestamp", ())] == START + 5
    # Refreshed from the ledger on every scrape:
    assert values[("checkpoint_block", ())] == 1010
    assert values[("head_block", ())] == 1032
    assert values[("confirmed_block", ())] == 1030
    assert values[("checkpoint_lag_blocks", ())] == 20  # confirmed minus checkpoint
    assert values[("deployments", (("state", "DEPLOYED"),))] == 1
    assert values[("deployments", (("state", "FAILED"),))] == 1
    assert values[("deployments", (("state", "RECORDED"),))] == 1
    assert values[("deployments", (("state", "CREATING"),))] == 0


def test_metrics_follow_the_ledger_between_scrapes(server: StatusServer, ledger: Ledger) -> None:
    ledger.mark_creating(3, "dao-11155111-3", in_flight_until=1.8e9)
    ledger.record_batch([event(4, {"clusterName": "new"})], checkpoint_block=1050)
    values = samples(get(server, "/metrics").text)
    assert values[("deployments", (("state", "CREATING"),))] == 1
    assert values[("deployments", (("state", "RECORDED"),))] == 1
    assert values[("checkpoint_block", ())] == 1050


# -- /deployments ---------------------------------------------------------------------------------


def test_deployments_lists_ledger_rows_as_json(server: StatusServer) -> None:
    response = get(server, "/deployments")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    rows = response.json()
    assert [row["proposal_id"] for row in rows] == [1, 2, 3]
    web = rows[0]
    assert web["state"] == "DEPLOYED"
    assert web["instance_id"] == "inst-aaa" and web["deployment_id"] == "order-aaa"
    assert web["deployment_status"] == "Deployed"
    assert web["urls"] == ["https://web.example", "https://web2.example"]
    assert json.loads(web["spec_json"])["configuration"]["image"] == "nginx"
    assert rows[1]["reason"] == "secret DB_PASSWORD is not set"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?state=FAILED", [2]),
        ("?state=recorded", [3]),
        ("?state=CREATING", []),
        ("?limit=2", [2, 3]),
    ],
)
def test_deployments_filters(server: StatusServer, query: str, expected: list[int]) -> None:
    response = get(server, "/deployments" + query)
    assert response.status_code == 200
    assert [row["proposal_id"] for row in response.json()] == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?state=DONE", "unknown state 'DONE'"),
        ("?limit=-1", "limit must be"),
        ("?state=FAILED&state=DEPLOYED", "at most once"),
        ("?owner=me", "unknown query parameter"),
    ],
)
def test_deployments_bad_query_is_400(server: StatusServer, query: str, message: str) -> None:
    response = get(server, "/deployments" + query)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_unknown_path_is_404(server: StatusServer) -> None:
    response = get(server, "/admin")
    assert response.status_code == 404
    assert "/healthz" in response.json()["endpoints"]


# -- lifecycle ------------------------------------------------------------------------------------


def test_deployments_follow_writer_commits_while_serving(
    server: StatusServer, ledger: Ledger
) -> None:
    get(server, "/deployments")  # the server's reader is open; the writer must not be blocked
    ledger.mark_failed(3, "spheron: 400 invalid region")
    assert get(server, "/deployments?state=FAILED").json()[-1]["proposal_id"] == 3


def test_stop_releases_the_port_and_start_requires_an_existing_ledger(
    ledger: Ledger, metrics: BotMetrics, clock: ManualClock, tmp_path: Path
) -> None:
    server = StatusServer(ledger.path, metrics, max_poll_age_s=MAX_AGE, clock=clock).start()
    url = server.url
    assert requests.get(url + "/healthz", timeout=5).status_code == 200
    server.stop()
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/healthz", timeout=5)
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.url
    with pytest.raises(FileNotFoundError, match="no ledger"):
        StatusServer(tmp_path / "missing.sqlite3", metrics, max_poll_age_s=MAX_AGE).start()


# -- BotMetrics on its own ------------------------------------------------------------------------


def test_each_metrics_object_has_its_own_registry() -> None:
    first, second = BotMetrics(started_at=START), BotMetrics(started_at=START)
    first.record_events_seen(5)
    assert samples(second.render().decode())[("events_seen_total", ())] == 0
    assert samples(first.render().decode())[("events_seen_total", ())] == 5


def test_lag_never_negative_and_labels_are_checked() -> None:
    metrics = BotMetrics(started_at=START)
    metrics.set_head(100)
    metrics.set_checkpoint(120)
    assert samples(metrics.render().decode())[("checkpoint_lag_blocks", ())] == 0
    with pytest.raises(ValueError, match="unknown service"):
        metrics.record_api_error("github", "timeout")
    with pytest.raises(ValueError, match="unknown error kind"):
        metrics.record_api_error("rpc", "cosmic_ray")
    with pytest.raises(ValueError, match="count"):
        metrics.record_events_seen(-1)


def test_health_rule() -> None:
    metrics = BotMetrics(started_at=START)
    assert metrics.healthy(START + 10, 10)
    assert not metrics.healthy(START + 11, 10)
    metrics.record_poll(success=True, at=START + 100)
    assert metrics.healthy(START + 110, 10)
    assert not metrics.healthy(START + 110.5, 10)
    with pytest.raises(ValueError, match="max_poll_age_s"):
        metrics.healthy(START, 0)


# -- replicas -------------------------------------------------------------------------------------


def test_health_and_metrics_report_the_replica_s_role_lease_claims_and_takeovers(
    ledger: Ledger, metrics: BotMetrics, clock: ManualClock
) -> None:
    ledger.claim(3, "host-1-42-abc", lease_s=30)
    metrics.record_poll(success=True, at=clock())
    with StatusServer(
        ledger.path,
        metrics,
        max_poll_age_s=MAX_AGE,
        clock=clock,
        replica="host-1-42-abc",
        lease_s=30,
    ) as running:
        assert get(running, "/healthz").json()["replica"] == {
            "id": "host-1-42-abc",
            "role": "follower",
            "leader_since": None,
            "lease_s": 30,
            "claims_held": 1,
        }
        metrics.set_leader(True, at=START + 5)
        metrics.record_claim(taken_over=True)
        replica = get(running, "/healthz").json()["replica"]
        assert (replica["role"], replica["leader_since"]) == ("leader", START + 5)
        metrics.service_failed("ledger", "connection refused", at=clock())
        body = get(running, "/healthz").json()
        assert body["replica"]["role"] == "paused" and body["status"] == "degraded"
        assert body["outages"]["ledger"]["last_error"] == "connection refused"
        values = samples(get(running, "/metrics").text)
    assert values[("leader", ())] == 1
    assert values[("leader_changes_total", (("change", "acquired"),))] == 1
    assert values[("claims_total", ())] == 1 and values[("takeovers_total", ())] == 1
    assert values[("service_up", (("service", "ledger"),))] == 0
