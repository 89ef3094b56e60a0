"""The local Etherscan V2 stand-in, spoken to with plain HTTP: shapes, checks, faults, stats,
its two log sources and its command line."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import requests
from eth_utils import to_checksum_address

from services.chain.events import RawLog, decode_deploy_event, deploy_event_topic0
from services.common.http_server import BackgroundHTTPServer, JsonRequestHandler, bind_handler
from testbed.emulators.etherscan import (
    DEPRECATED_V1,
    INVALID_API_KEY,
    MISSING_CHAINID,
    QUERY_TIMEOUT,
    RATE_LIMIT,
    RESULT_WINDOW,
    TOO_MANY_INVALID_KEYS,
    EtherscanStandIn,
    Faults,
    GeneratedLogs,
    RpcLogs,
)
from tests.helpers import CHAIN_ID, SENDER

API_KEY = "standin-test-key"
CONTRACT = to_checksum_address("0x" + "c3" * 20)
OTHER = to_checksum_address("0x" + "b2" * 20)


@pytest.fixture
def source() -> GeneratedLogs:
    return GeneratedLogs(head=500)


@pytest.fixture
def standin(
    source: GeneratedLogs, etherscan_standin_factory: Callable[..., EtherscanStandIn]
) -> EtherscanStandIn:
    return etherscan_standin_factory(source, api_key=API_KEY, seed=11)


def api(standin: EtherscanStandIn, timeout: float = 5.0, **params: object) -> requests.Response:
    """One V2 call with the right chain id and key unless `params` overrides them."""
    query = {"chainid": CHAIN_ID, "apikey": API_KEY, **params}
    return requests.get(standin.url, params=query, timeout=timeout)


def get_logs(standin: EtherscanStandIn, **params: object) -> dict[str, Any]:
    query = {"module": "logs", "action": "getLogs", "fromBlock": 0, "toBlock": "latest"}
    return api(standin, **{**query, **params}).json()


def notok(cause: str) -> dict[str, str]:
    return {"status": "0", "message": "NOTOK", "result": cause}


# ------------------------------------------------------------------------- shapes


def test_get_logs_answers_etherscans_shape(
    source: GeneratedLogs, standin: EtherscanStandIn
) -> None:
    first = source.add_deploy_event(CONTRACT, 1, SENDER, "a", "{}", block_number=16, timestamp=255)
    source.add_deploy_event(CONTRACT, 2, SENDER, "b", "{}", block_number=16)

    body = get_logs(standin, address=CONTRACT, topic0=deploy_event_topic0())

    assert (body["status"], body["message"]) == ("1", "OK")
    assert body["result"][0] == {
        "address": CONTRACT.lower(),
        "topics": list(first.topics),
        "data": first.data,
        "blockNumber": "0x10",
        "timeStamp": "0xff",
        "gasPrice": "0x",
        "gasUsed": "0x",
        "logIndex": "0x",
        "transactionHash": first.transaction_hash,
        "transactionIndex": "0x",
    }
    assert body["result"][1]["logIndex"] == "0x1"
    assert "timeStamp" not in body["result"][1]


def test_no_records_found_shape(standin: EtherscanStandIn) -> None:
    assert get_logs(standin, address=CONTRACT) == {
        "status": "0",
        "message": "No records found",
        "result": [],
    }


def test_filters_by_address_topic0_and_block_range(
    source: GeneratedLogs, standin: EtherscanStandIn
) -> None:
    for block in (5, 6, 7):
        source.add_deploy_event(CONTRACT, block, SENDER, "m", "{}", block_number=block)
        source.add_deploy_event(OTHER, block, SENDER, "m", "{}", block_number=block)
    source.append(
        RawLog(CONTRACT, ("0x" + "00" * 32,), "0x", 6, "0x" + "11" * 32, 9, 0, block_hash="0xbb")
    )

    body = get_logs(standin, address=CONTRACT, topic0=deploy_event_topic0(), fromBlock=6, toBlock=7)
    everything = get_logs(standin, fromBlock=6, toBlock=6)

    assert [int(item["blockNumber"], 16) for item in body["result"]] == [6, 7]
    assert {item["address"] for item in body["result"]} == {CONTRACT.lower()}
    assert len(everything["result"]) == 3
    assert everything["result"][-1]["blockHash"] == "0xbb"


def test_pages_ascend_and_offset_is_capped_at_1000(
    source: GeneratedLogs, standin: EtherscanStandIn
) -> None:
    for index in range(1_200):
        source.add_deploy_event(CONTRACT, index, SENDER, "m", "{}", block_number=1 + index // 7)

    first = get_logs(standin, offset=5_000)["result"]
    second = get_logs(standin, offset=1_000, page=2)["result"]

    assert len(first) == 1_000
    assert len(second) == 200
    keys = [
        (int(i["blockNumber"], 16), int(i["logIndex"], 16) if i["logIndex"] != "0x" else 0)
        for i in first + second
    ]
    assert keys == sorted(keys)
    assert len(set(keys)) == 1_200


def test_result_window_is_limited_to_10000(standin: EtherscanStandIn) -> None:
    assert get_logs(standin, page=11, offset=1_000) == notok(RESULT_WINDOW)
    assert get_logs(standin, page=10, offset=1_000)["message"] == "No records found"


def test_head_and_latest_follow_the_indexing_lag(
    source: GeneratedLogs, standin: EtherscanStandIn
) -> None:
    source.add_deploy_event(CONTRACT, 1, SENDER, "m", "{}", block_number=495)
    source.add_deploy_event(CONTRACT, 2, SENDER, "m", "{}", block_number=499)
    standin.set_faults(indexing_lag_blocks=3)

    head = api(standin, module="proxy", action="eth_blockNumber").json()
    logs = get_logs(standin, fromBlock=0, toBlock=10_000)["result"]
    latest_only = get_logs(standin, fromBlock="latest", toBlock="latest")

    assert head == {"jsonrpc": "2.0", "id": 83, "result": hex(497)}
    assert [item["blockNumber"] for item in logs] == [hex(495)]
    assert latest_only["message"] == "No records found"


# ------------------------------------------------------------------------- request checks


@pytest.mark.parametrize(
    ("params", "answer"),
    [
        ({"apikey": "nope"}, notok(INVALID_API_KEY)),
        ({"apikey": ""}, notok(INVALID_API_KEY)),
        ({"chainid": ""}, notok(MISSING_CHAINID)),
        ({"chainid": 1}, notok(MISSING_CHAINID)),
        ({"module": "stats"}, notok("Error! Missing Or invalid Module name")),
        ({"action": "getBalance"}, notok("Error! Missing Or invalid Action name")),
        (
            {"fromBlock": "0x10"},
            notok("Error! Invalid fromBlock: use a decimal block number or latest"),
        ),
        ({"offset": "0"}, notok("Error! Invalid offset: use an integer >= 1")),
        ({"address": "0x12"}, notok("Error! Invalid address format")),
        ({"topic0": "0x12"}, notok("Error! Invalid topic0 format")),
    ],
    ids=[
        "wrong-key",
        "empty-key",
        "no-chainid",
        "other-chainid",
        "bad-module",
        "bad-action",
        "hex-block",
        "zero-offset",
        "bad-address",
        "bad-topic",
    ],
)
def test_bad_requests_get_etherscans_notok_answers(
    standin: EtherscanStandIn, params: dict[str, object], answer: dict[str, str]
) -> None:
    query = {"module": "logs", "action": "getLogs", "fromBlock": 0, "toBlock": 1, **params}
    response = api(standin, **query)

    assert response.status_code == 200
    assert response.json() == answer


def test_v1_path_answers_the_deprecation(standin: EtherscanStandIn) -> None:
    v1 = standin.url.replace("/v2/api", "/api")

    response = requests.get(v1, params={"module": "proxy", "action": "eth_blockNumber"}, timeout=5)

    assert response.status_code == 200
    assert response.json() == notok(DEPRECATED_V1)


def test_invalid_key_lockout(standin: EtherscanStandIn) -> None:
    standin.set_faults(invalid_key_lockout_after=2)
    answers = [
        api(standin, apikey="x", module="proxy", action="eth_blockNumber").json()["result"]
        for _ in range(3)
    ]

    assert answers == [INVALID_API_KEY, INVALID_API_KEY, TOO_MANY_INVALID_KEYS]


# ------------------------------------------------------------------------- faults and stats


def test_faults_are_set_over_http_and_counted(standin: EtherscanStandIn) -> None:
    faults_url = standin.url.replace("/v2/api", "/standin/faults")
    stats_url = standin.url.replace("/v2/api", "/standin/stats")

    posted = requests.post(faults_url, json={"rate_limit_next": 1, "http_500_next": 1}, timeout=5)
    shown = requests.get(faults_url, timeout=5).json()
    first = api(standin, module="proxy", action="eth_blockNumber")
    second = api(standin, module="proxy", action="eth_blockNumber")
    third = api(standin, module="logs", action="getLogs")

    assert posted.status_code == 200
    assert shown["rate_limit_next"] == 1
    assert shown["http_500_next"] == 1
    assert first.status_code == 500
    assert second.json() == notok(RATE_LIMIT)
    assert third.json()["message"] == "No records found"
    assert requests.get(stats_url, timeout=5).json() == {
        "calls": {"eth_blockNumber": 2, "getLogs": 1},
        "faults": {"http_500": 1, "rate_limit": 1},
        "rejected": {},
    }


@pytest.mark.parametrize(
    "body",
    [{"no_such_fault": 1}, {"rate_limit_probability": 2}, {"slow_next": -1}, [1, 2]],
    ids=["unknown-field", "probability-above-1", "negative-count", "not-an-object"],
)
def test_bad_fault_settings_are_refused(standin: EtherscanStandIn, body: object) -> None:
    before = standin.faults

    response = requests.post(
        standin.url.replace("/v2/api", "/standin/faults"), json=body, timeout=5
    )

    assert response.status_code == 400
    assert response.json()["error"]
    assert standin.faults == before


def test_the_same_seed_gives_the_same_faults(standin: EtherscanStandIn) -> None:
    faults_url = standin.url.replace("/v2/api", "/standin/faults")

    def draw() -> list[str]:
        return [
            api(standin, module="proxy", action="eth_blockNumber").json().get("result", "")
            for _ in range(16)
        ]

    requests.post(faults_url, json={"rate_limit_probability": 0.5, "seed": 99}, timeout=5)
    first = draw()
    requests.post(faults_url, json={"seed": 99}, timeout=5)
    second = draw()

    assert first == second
    assert RATE_LIMIT in first
    assert any(result.startswith("0x") for result in first)


def test_malformed_bodies_are_not_json(standin: EtherscanStandIn) -> None:
    standin.set_faults(malformed_next=1)

    response = api(standin, module="proxy", action="eth_blockNumber")

    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_slow_answers_outlast_the_client_and_do_not_outlive_the_server(
    source: GeneratedLogs,
) -> None:
    before = set(threading.enumerate())
    with EtherscanStandIn(api_key=API_KEY, chain_id=CHAIN_ID, log_source=source) as standin:
        standin.set_faults(slow_next=1, slow_s=30.0)
        with pytest.raises(requests.Timeout):
            api(standin, timeout=0.2, module="proxy", action="eth_blockNumber")
        assert standin.stats()["faults"] == {"slow": 1}

    assert set(threading.enumerate()) <= before


def test_query_timeout_for_wide_ranges(standin: EtherscanStandIn) -> None:
    standin.set_faults(query_timeout_over_blocks=10)

    assert get_logs(standin, fromBlock=0, toBlock=10) == notok(QUERY_TIMEOUT)
    assert get_logs(standin, fromBlock=1, toBlock=10)["message"] == "No records found"


def test_server_side_rate_limit_counts_a_sliding_second(standin: EtherscanStandIn) -> None:
    standin.set_faults(max_calls_per_sec=5)

    answers = [
        api(standin, module="proxy", action="eth_blockNumber").json().get("result")
        for _ in range(8)
    ]

    assert answers[:5] == [hex(500)] * 5
    assert RATE_LIMIT in answers[5:]  # unless the machine stalled for a whole second
    assert standin.stats()["faults"]["server_rate_limit"] == answers.count(RATE_LIMIT)


def test_faults_validate_at_construction() -> None:
    with pytest.raises(ValueError, match="rate_limit_probability"):
        Faults(rate_limit_probability=1.5)
    with pytest.raises(ValueError, match="max_calls_per_sec"):
        Faults(max_calls_per_sec=0)


# ------------------------------------------------------------------------- log sources


def test_generated_logs_number_logs_within_each_block() -> None:
    source = GeneratedLogs()
    a = source.add_deploy_event(CONTRACT, 1, SENDER, "m", '{"n":1}', block_number=9)
    b = source.add_deploy_event(CONTRACT, 2, SENDER, "m", "{}", block_number=3)
    c = source.add_deploy_event(CONTRACT, 3, SENDER, "m", "{}", block_number=9)

    assert [(log.block_number, log.log_index) for log in (a, b, c)] == [(9, 0), (3, 0), (9, 1)]
    assert source.logs(0, 100, None, None) == [b, a, c]
    assert source.logs(4, 9, CONTRACT.lower(), "0x" + deploy_event_topic0()[2:].upper()) == [a, c]
    assert source.logs(0, 100, OTHER, None) == []
    assert source.logs(0, 100, None, "0x" + "00" * 32) == []
    assert decode_deploy_event(a).spec_json == '{"n":1}'
    assert len({a.transaction_hash, b.transaction_hash, c.transaction_hash}) == 3


class _NodeHandler(JsonRequestHandler):
    node: FakeNode
    json_content_type = "application/json"

    def do_POST(self) -> None:
        request = json.loads(self.read_body() or b"{}")
        self.send_json(200, {"jsonrpc": "2.0", "id": request["id"], **self.node.answer(request)})


class FakeNode(BackgroundHTTPServer):
    """A tiny JSON-RPC node on loopback: eth_blockNumber and eth_getLogs over a fixed list."""

    thread_name = "fake-node"
    service_name = "the fake node"
    poll_interval_s = 0.02

    def __init__(self, head: int, logs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.head = head
        self.logs = logs
        self.fail = False

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return bind_handler(_NodeHandler, node=self)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.fail:
            return {"error": {"code": -32000, "message": "node is unhappy"}}
        if request["method"] == "eth_blockNumber":
            return {"result": hex(self.head)}
        (log_filter,) = request["params"]
        low, high = int(log_filter["fromBlock"], 16), int(log_filter["toBlock"], 16)
        topic0 = log_filter.get("topics", [None])[0]
        return {
            "result": [
                log
                for log in self.logs
                if low <= int(log["blockNumber"], 16) <= high
                and log["address"] == log_filter.get("address", log["address"]).lower()
                and topic0 in (None, log["topics"][0])
            ]
        }


def node_log(block: int, index: int, contract: str = CONTRACT) -> dict[str, Any]:
    reference = GeneratedLogs().add_deploy_event(
        contract, block, SENDER, "m", "{}", block_number=block
    )
    return {
        "address": contract.lower(),
        "topics": list(reference.topics),
        "data": reference.data,
        "blockNumber": hex(block),
        "blockHash": "0x" + f"{block:064x}",
        "blockTimestamp": hex(1_000 + block),
        "transactionHash": "0x" + f"{block:032x}{index:032x}",
        "transactionIndex": hex(index),
        "logIndex": hex(index),
        "removed": False,
    }


def test_rpc_logs_serve_a_nodes_chain_through_the_v2_api() -> None:
    node_logs = [node_log(7, 0), node_log(7, 1), node_log(9, 0), node_log(9, 1, OTHER)]
    with (
        FakeNode(head=12, logs=node_logs) as node,
        EtherscanStandIn(
            api_key=API_KEY, chain_id=CHAIN_ID, log_source=RpcLogs(node.url)
        ) as standin,
    ):
        head = api(standin, module="proxy", action="eth_blockNumber").json()["result"]
        body = get_logs(standin, address=CONTRACT, topic0=deploy_event_topic0(), toBlock=100)
        node.fail = True
        failed = api(standin, module="logs", action="getLogs", fromBlock=0, toBlock=5)

    assert head == "0xc"
    assert [(item["blockNumber"], item["logIndex"]) for item in body["result"]] == [
        ("0x7", "0x"),
        ("0x7", "0x1"),
        ("0x9", "0x"),
    ]
    assert body["result"][0]["timeStamp"] == hex(1_007)
    assert body["result"][0]["blockHash"] == "0x" + f"{7:064x}"
    assert failed.status_code == 502
    assert "node is unhappy" in failed.text


def test_command_line_runs_against_a_node_and_stops_on_sigterm() -> None:
    with FakeNode(head=42, logs=[]) as node:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "testbed.emulators.etherscan",
                "--port",
                "0",
                "--api-key",
                API_KEY,
                "--chain-id",
                str(CHAIN_ID),
                "--rpc-url",
                node.url,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            url = line.split(" at ")[1].split(",")[0]
            head = requests.get(
                url,
                params={
                    "chainid": CHAIN_ID,
                    "apikey": API_KEY,
                    "module": "proxy",
                    "action": "eth_blockNumber",
                },
                timeout=5,
            ).json()
        finally:
            process.terminate()
            code = process.wait(timeout=10)
            process.stdout.close()

    assert line.startswith("Local stand-in of the Etherscan V2 API (not Etherscan)")
    assert API_KEY not in line
    assert head["result"] == hex(42)
    assert code == 0
