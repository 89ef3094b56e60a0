"""What the status server offers web pages: CORS for the configured origins only (never `*` unless
given), and `/policy` with the operator's verdict on a spec."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from services.bot.ledger import Ledger
from services.bot.metrics import BotMetrics
from services.bot.status_server import StatusServer
from services.common.cors import cors_headers, parse_origins
from services.spec.model import canonical_json, parse_spec
from services.spec.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
APP = "http://127.0.0.1:8000"
DAO = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    with Ledger(path, chain_id=1337, dao_address=DAO):
        pass
    return path


def serve(ledger_path: Path, **options) -> StatusServer:
    return StatusServer(ledger_path, BotMetrics(), max_poll_age_s=60, **options)


@pytest.fixture
def server(ledger_path: Path) -> Iterator[StatusServer]:
    policy = load_policy(ROOT / "examples" / "policy.yaml")
    with serve(ledger_path, allowed_origins=(APP,), policy=policy) as running:
        yield running


@pytest.mark.parametrize("path", ["/deployments", "/healthz", "/metrics", "/policy", "/nope"])
def test_a_configured_origin_may_read_every_answer(server: StatusServer, path: str) -> None:
    response = requests.get(server.url + path, headers={"Origin": APP}, timeout=5)
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert response.headers["Vary"] == "Origin"


def test_other_origins_and_requests_without_one_get_no_grant(server: StatusServer) -> None:
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {}):
        response = requests.get(server.url + "/deployments", headers=headers, timeout=5)
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response.headers


def test_without_configured_origins_nothing_is_granted(ledger_path: Path) -> None:
    with serve(ledger_path) as running:
        response = requests.get(running.url + "/deployments", headers={"Origin": APP}, timeout=5)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Vary" not in response.headers


def test_preflight_allows_get_only(server: StatusServer) -> None:
    response = requests.options(server.url + "/deployments", headers={"Origin": APP}, timeout=5)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Methods"] == "GET"
    assert response.headers["Access-Control-Allow-Origin"] == APP


def test_policy_gives_the_limits_and_the_verdict_on_a_spec(server: StatusServer) -> None:
    policy = requests.get(server.url + "/policy", timeout=5).json()
    assert policy["policy"]["max_replicas"] == 3
    assert "nginx:*" in policy["policy"]["allowed_images"]
    assert "violations" not in policy

    good = (ROOT / "examples" / "web-service.json").read_text()
    verdict = requests.get(server.url + "/policy", params={"spec": good}, timeout=5).json()
    assert verdict["violations"] == []

    miner = (ROOT / "examples" / "refused-by-policy" / "gpu-miner.json").read_text()
    verdict = requests.get(server.url + "/policy", params={"spec": miner}, timeout=5).json()
    expected = server.policy.violations(parse_spec(miner))
    assert verdict["violations"] == expected
    assert any(v.startswith('configuration.image: "evil/xmrig:latest"') for v in expected)

    broken = json.dumps({"clusterName": "x"})
    answer = requests.get(server.url + "/policy", params={"spec": broken}, timeout=5).json()
    assert "configuration: required field is missing" in answer["spec_errors"]
    assert "violations" not in answer


def test_policy_refuses_unknown_parameters(server: StatusServer) -> None:
    spec = canonical_json(parse_spec((ROOT / "examples" / "web-service.json").read_text()))
    response = requests.get(server.url + "/policy", params={"spec": spec, "x": "1"}, timeout=5)
    assert response.status_code == 400
    assert "unknown query parameter(s): x" in response.json()["error"]


def test_origins_are_normalised_and_checked() -> None:
    assert parse_origins(["HTTP://127.0.0.1:8000/", "https://app.example, http://[::1]:9"]) == (
        "http://127.0.0.1:8000",
        "https://app.example",
        "http://[::1]:9",
    )
    assert parse_origins(["", " , "]) == ()
    for bad in ("127.0.0.1:8000", "http://app.example/path", "ftp://x", "http://u:p@x"):
        with pytest.raises(ValueError, match="is not an origin"):
            parse_origins([bad])


def test_any_origin_only_when_asked_for() -> None:
    assert cors_headers(APP, ("*",))["Access-Control-Allow-Origin"] == "*"
    assert cors_headers(APP, ()) == {}
    assert "Access-Control-Allow-Origin" not in cors_headers(None, (APP,))
