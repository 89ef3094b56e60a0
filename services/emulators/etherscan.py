"""A LOCAL STAND-IN for the Etherscan V2 API, for tests, benchmarks and the local demo.

It is not Etherscan. It answers `GET /v2/api` for `module=logs&action=getLogs` and
`module=proxy&action=eth_blockNumber` in Etherscan's JSON shapes (hex-string numbers, zero written
as the bare "0x" in some fields, the "No records found" answer, NOTOK errors with HTTP 200), checks
`apikey` and `chainid` like Etherscan, and answers a V1-style path (`/api`) with the deprecation
error. Logs come from a `LogSource`: `GeneratedLogs` (an in-memory list tests fill) or `RpcLogs`
(a real JSON-RPC node such as anvil).

Faults can be injected (see `Faults`), at construction or with `POST /standin/faults` (a JSON object
of the fields to change, plus an optional `seed` to reseed the random draws). `GET /standin/faults`
shows them; `GET /standin/stats` counts calls by action and faults by kind.

Run against a node: `python -m services.emulators.etherscan --port N --api-key K --chain-id C
--rpc-url URL`.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import random
import re
import signal
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import requests
from eth_utils import keccak

from services.events import RawLog, checksum_address, encode_deploy_event

API_PATH = "/v2/api"
MAX_OFFSET = 1000
MAX_RESULT_WINDOW = 10_000

DEPRECATED_V1 = "You are using a deprecated V1 endpoint, switch to Etherscan API V2."
MISSING_CHAINID = (
    "Missing or unsupported chainid parameter (required for v2 api), please see "
    "https://api.etherscan.io/v2/chainlist for the list of supported chainids"
)
INVALID_API_KEY = "Invalid API Key (#err2)|NewSession"
TOO_MANY_INVALID_KEYS = "Too many invalid api key attempts, please try again later"
RATE_LIMIT = "Max calls per sec rate limit reached (3/sec)"
DAILY_LIMIT = "Max daily rate limit reached. 100000 (100%) of 100000 calls used"
QUERY_TIMEOUT = "Query Timeout occured. Please select a smaller result dataset"
RESULT_WINDOW = (
    "Result window is too large, PageNo x Offset size must be less than or equal to 10000"
)
MALFORMED_BODY = b'{"status":"1","message":"OK","result":[{"address":"0x'

_AFTER_ANY_INDEX = 2**64
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TOPIC = re.compile(r"^0x[0-9a-fA-F]{64}$")


class LogSource(Protocol):
    """Where the stand-in's chain data comes from."""

    def head_block(self) -> int:
        """The newest block of the chain."""
        ...

    def logs(
        self, from_block: int, to_block: int, address: str | None, topic0: str | None
    ) -> list[RawLog]:
        """Logs in `from_block..to_block` matching address and topic0 (None: any), ascending."""
        ...


class LogSourceError(RuntimeError):
    """The log source could not answer (e.g. the JSON-RPC node returned an error)."""


class GeneratedLogs:
    """An in-memory chain of logs: tests append logs and move `head` (the newest block)."""

    def __init__(self, logs: list[RawLog] | None = None, head: int = 0) -> None:
        self._lock = threading.Lock()
        self._logs: list[RawLog] = []
        self._keys: list[tuple[int, int]] = []
        self.head = head
        self.extend(logs or [])

    def append(self, log: RawLog) -> None:
        with self._lock:
            self._insert(log)

    def extend(self, logs: list[RawLog]) -> None:
        with self._lock:
            for log in logs:
                self._insert(log)

    def _insert(self, log: RawLog) -> None:
        key = (log.block_number, log.log_index)
        position = bisect.bisect_right(self._keys, key)
        self._keys.insert(position, key)
        self._logs.insert(position, log)

    def add_deploy_event(
        self,
        contract: str,
        proposal_id: int,
        sender: str,
        msg: str,
        spec_json: str,
        *,
        block_number: int,
        timestamp: int | None = None,
    ) -> RawLog:
        """Append the log `contract` emits for `DeployEvent(...)` as the next log of its block.

        Each such log gets its own made-up transaction (hash derived from block and log index).
        """
        topics, data = encode_deploy_event(proposal_id, sender, msg, spec_json)
        with self._lock:
            end = bisect.bisect_right(self._keys, (block_number, _AFTER_ANY_INDEX))
            in_block = end > 0 and self._keys[end - 1][0] == block_number
            log_index = self._keys[end - 1][1] + 1 if in_block else 0
            log = RawLog(
                address=checksum_address(contract),
                topics=topics,
                data=data,
                block_number=block_number,
                transaction_hash="0x" + keccak(text=f"standin-tx:{block_number}:{log_index}").hex(),
                log_index=log_index,
                transaction_index=log_index,
                timestamp=timestamp,
            )
            self._insert(log)
        return log

    def head_block(self) -> int:
        return self.head

    def logs(
        self, from_block: int, to_block: int, address: str | None, topic0: str | None
    ) -> list[RawLog]:
        with self._lock:
            start = bisect.bisect_left(self._keys, (from_block, -1))
            stop = bisect.bisect_right(self._keys, (to_block, _AFTER_ANY_INDEX))
            window = self._logs[start:stop]
        return [log for log in window if _matches(log, address, topic0)]


def _matches(log: RawLog, address: str | None, topic0: str | None) -> bool:
    if address is not None and log.address.lower() != address.lower():
        return False
    return topic0 is None or (bool(log.topics) and log.topics[0].lower() == topic0.lower())


class RpcLogs:
    """Reads the head and logs from a JSON-RPC node (eth_blockNumber, eth_getLogs)."""

    def __init__(self, rpc_url: str, *, timeout_s: float = 10.0) -> None:
        self.rpc_url = rpc_url
        self._timeout_s = timeout_s
        self._ids = itertools.count(1)
        self._id_lock = threading.Lock()

    def head_block(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def logs(
        self, from_block: int, to_block: int, address: str | None, topic0: str | None
    ) -> list[RawLog]:
        log_filter: dict[str, Any] = {"fromBlock": hex(from_block), "toBlock": hex(to_block)}
        if address is not None:
            log_filter["address"] = address
        if topic0 is not None:
            log_filter["topics"] = [topic0]
        items = self._rpc("eth_getLogs", [log_filter])
        logs = [_log_from_rpc(item) for item in items if not item.get("removed")]
        return sorted(logs, key=lambda log: (log.block_number, log.log_index))

    def _rpc(self, method: str, params: list[Any]) -> Any:
        with self._id_lock:
            request_id = next(self._ids)
        payload = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            response = requests.post(self.rpc_url, json=payload, timeout=self._timeout_s)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise LogSourceError(f"{method} to the JSON-RPC node failed: {exc}") from None
        if "error" in body:
            raise LogSourceError(f"{method}: JSON-RPC node answered an error: {body['error']}")
        return body["result"]


def _log_from_rpc(item: dict[str, Any]) -> RawLog:
    timestamp = item.get("blockTimestamp")
    return RawLog(
        address=checksum_address(item["address"]),
        topics=tuple(topic.lower() for topic in item["topics"]),
        data=item["data"].lower(),
        block_number=int(item["blockNumber"], 16),
        transaction_hash=item["transactionHash"].lower(),
        log_index=int(item["logIndex"], 16),
        transaction_index=int(item["transactionIndex"], 16),
        block_hash=item.get("blockHash"),
        timestamp=int(timestamp, 16) if timestamp else None,
    )


@dataclass(frozen=True)
class Faults:
    """What the stand-in does wrong, on purpose.

    `*_next` fault the next N calls to `/v2/api`; `*_probability` fault each call with that
    probability (seeded RNG). Checked in this order: slow, HTTP 500, malformed body, then (after
    the chainid and apikey checks) the server-side rate limit, rate-limit NOTOK, daily-limit NOTOK.
    """

    rate_limit_probability: float = 0.0
    rate_limit_next: int = 0
    daily_limit_next: int = 0
    http_500_probability: float = 0.0
    http_500_next: int = 0
    slow_probability: float = 0.0
    slow_next: int = 0
    #: How long a slow answer waits (make it longer than the client's timeout).
    slow_s: float = 1.0
    malformed_probability: float = 0.0
    malformed_next: int = 0
    #: getLogs over more than this many blocks answers "Query Timeout occured ..." (0: always).
    query_timeout_over_blocks: int | None = None
    #: The indexer's head (reported and searched) trails the source's head by this many blocks.
    indexing_lag_blocks: int = 0
    #: Server-side limit over a sliding 1 s window of answered calls; None: no limit.
    max_calls_per_sec: float | None = None
    #: After this many invalid-key answers, answer "Too many invalid api key attempts".
    invalid_key_lockout_after: int | None = None

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("_probability") and not (
                isinstance(value, (int, float)) and 0 <= value <= 1
            ):
                raise ValueError(f"{field.name} must be a number in [0, 1], got {value!r}")
            if field.name.endswith("_next") and not (isinstance(value, int) and value >= 0):
                raise ValueError(f"{field.name} must be an integer >= 0, got {value!r}")
        if not (isinstance(self.slow_s, (int, float)) and self.slow_s >= 0):
            raise ValueError(f"slow_s must be a number >= 0, got {self.slow_s!r}")
        if not (isinstance(self.indexing_lag_blocks, int) and self.indexing_lag_blocks >= 0):
            raise ValueError(
                f"indexing_lag_blocks must be an integer >= 0, got {self.indexing_lag_blocks!r}"
            )
        for name in ("query_timeout_over_blocks", "invalid_key_lockout_after"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and value >= 0):
                raise ValueError(f"{name} must be an integer >= 0 or null, got {value!r}")
        limit = self.max_calls_per_sec
        if limit is not None and not (isinstance(limit, (int, float)) and limit > 0):
            raise ValueError(f"max_calls_per_sec must be a number > 0 or null, got {limit!r}")

    def updated(self, changes: dict[str, Any]) -> Faults:
        """A copy with `changes` applied; ValueError on an unknown field or a bad value."""
        unknown = set(changes) - {field.name for field in fields(self)}
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        return replace(self, **changes)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"


def _json_answer(payload: object, status: int = 200) -> _Answer:
    return _Answer(status, json.dumps(payload).encode())


def _notok(cause: str) -> _Answer:
    return _json_answer({"status": "0", "message": "NOTOK", "result": cause})


def _quantity(value: int) -> str:
    """Etherscan's way for some fields: zero as the bare "0x"."""
    return "0x" if value == 0 else hex(value)


def _log_json(log: RawLog) -> dict[str, Any]:
    item: dict[str, Any] = {
        "address": log.address.lower(),
        "topics": list(log.topics),
        "data": log.data,
        "blockNumber": hex(log.block_number),
    }
    if log.block_hash is not None:
        item["blockHash"] = log.block_hash
    if log.timestamp is not None:
        item["timeStamp"] = hex(log.timestamp)
    item.update(
        {
            # The stand-in does not know gas figures; zero is written the way Etherscan does.
            "gasPrice": "0x",
            "gasUsed": "0x",
            "logIndex": _quantity(log.log_index),
            "transactionHash": log.transaction_hash,
            "transactionIndex": _quantity(log.transaction_index),
        }
    )
    return item


class _BadParameter(ValueError):
    """A request parameter Etherscan would reject; the message is Etherscan's answer."""


class EtherscanStandIn:
    """A loopback HTTP server speaking the Etherscan V2 API over a `LogSource`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str = "standin-key",
        chain_id: int = 31337,
        log_source: LogSource,
        faults: Faults | None = None,
        seed: int | None = None,
    ) -> None:
        self.api_key = api_key
        self.chain_id = chain_id
        self.log_source = log_source
        self._address = (host, port)
        self._faults = faults or Faults()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._calls: Counter[str] = Counter()
        self._fault_counts: Counter[str] = Counter()
        self._rejections: Counter[str] = Counter()
        self._arrivals: deque[float] = deque(maxlen=100_000)
        self._answered: deque[float] = deque()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> EtherscanStandIn:
        standin = self

        class Handler(_Handler):
            owner = standin

        self._stopping.clear()
        self._server = _Server(self._address, Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},  # so stop() returns quickly
            name="etherscan-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake slow answers, and wait for every handler thread."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> EtherscanStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The V2 endpoint, e.g. http://127.0.0.1:54321/v2/api."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}{API_PATH}"

    # ---------------------------------------------------------------- control

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults | None = None, /, **changes: Any) -> Faults:
        """Replace the faults, or change some fields; returns the faults now in force."""
        with self._lock:
            self._faults = (faults or self._faults).updated(changes)
            return self._faults

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng.seed(seed)

    def stats(self) -> dict[str, dict[str, int]]:
        """Counts: `calls` by action, `faults` injected by kind, `rejected` requests by cause."""
        with self._lock:
            return {
                "calls": dict(self._calls),
                "faults": dict(self._fault_counts),
                "rejected": dict(self._rejections),
            }

    def arrival_times(self) -> list[float]:
        """`time.monotonic()` at the arrival of each `/v2/api` request, oldest first."""
        with self._lock:
            return list(self._arrivals)

    # ---------------------------------------------------------------- the API

    def answer_api(self, params: dict[str, str]) -> _Answer | None:
        """Answer one `/v2/api` request; None means: send no answer (the stand-in is stopping)."""
        action = params.get("action", "")
        with self._lock:
            self._arrivals.append(time.monotonic())
            self._calls[action if action in ("getLogs", "eth_blockNumber") else "other"] += 1
            slow = self._draw("slow")
            faults = self._faults
        if slow and self._stopping.wait(faults.slow_s):
            return None
        with self._lock:
            if self._draw("http_500"):
                return _Answer(
                    500, b"<html><body>500 Internal Server Error</body></html>", "text/html"
                )
            if self._draw("malformed"):
                return _Answer(200, MALFORMED_BODY)
            rejection = self._check_credentials(params)
            if rejection is not None:
                return rejection
            limited = self._limited()
        if limited is not None:
            return _notok(limited)
        try:
            return self._dispatch(params)
        except _BadParameter as exc:
            return _notok(str(exc))
        except LogSourceError as exc:
            self._count_fault("source_error")
            return _Answer(502, f"log source error: {exc}".encode(), "text/plain")

    def _draw(self, kind: str) -> bool:
        """Whether fault `kind` hits this call (lock held); counts and consumes it if so."""
        faults = self._faults
        pending = getattr(faults, f"{kind}_next")
        if pending > 0:
            self._faults = replace(faults, **{f"{kind}_next": pending - 1})
        else:
            probability = getattr(faults, f"{kind}_probability", 0.0)
            if not (probability and self._rng.random() < probability):
                return False
        self._fault_counts[kind] += 1
        return True

    def _count_fault(self, kind: str) -> None:
        with self._lock:
            self._fault_counts[kind] += 1

    def _check_credentials(self, params: dict[str, str]) -> _Answer | None:
        """Etherscan's chainid and apikey checks (lock held)."""
        if params.get("chainid") != str(self.chain_id):
            self._rejections["missing_chainid"] += 1
            return _notok(MISSING_CHAINID)
        if params.get("apikey") != self.api_key:
            self._rejections["invalid_api_key"] += 1
            lockout = self._faults.invalid_key_lockout_after
            if lockout is not None and self._rejections["invalid_api_key"] > lockout:
                return _notok(TOO_MANY_INVALID_KEYS)
            return _notok(INVALID_API_KEY)
        return None

    def _limited(self) -> str | None:
        """Rate-limit answers (lock held): server-side window, then injected limits."""
        limit = self._faults.max_calls_per_sec
        if limit is not None:
            now = time.monotonic()
            while self._answered and self._answered[0] <= now - 1.0:
                self._answered.popleft()
            if len(self._answered) >= limit:
                self._fault_counts["server_rate_limit"] += 1
                return RATE_LIMIT
            self._answered.append(now)
        if self._draw("rate_limit"):
            return RATE_LIMIT
        if self._draw("daily_limit"):
            return DAILY_LIMIT
        return None

    def _dispatch(self, params: dict[str, str]) -> _Answer:
        module, action = params.get("module"), params.get("action")
        if module == "proxy" and action == "eth_blockNumber":
            return _json_answer({"jsonrpc": "2.0", "id": 83, "result": hex(self._indexed_head())})
        if module == "logs" and action == "getLogs":
            return self._get_logs(params)
        if module not in ("proxy", "logs"):
            return _notok("Error! Missing Or invalid Module name")
        return _notok("Error! Missing Or invalid Action name")

    def _indexed_head(self) -> int:
        return max(0, self.log_source.head_block() - self._faults.indexing_lag_blocks)

    def _get_logs(self, params: dict[str, str]) -> _Answer:
        head = self._indexed_head()
        from_block = _block_param(params.get("fromBlock", "0"), head, "fromBlock")
        to_block = _block_param(params.get("toBlock", "latest"), head, "toBlock")
        address = params.get("address") or None
        if address is not None and not _ADDRESS.match(address):
            raise _BadParameter("Error! Invalid address format")
        topic0 = params.get("topic0") or None
        if topic0 is not None and not _TOPIC.match(topic0):
            raise _BadParameter("Error! Invalid topic0 format")
        page = _positive_int(params.get("page", "1"), "page")
        offset = min(_positive_int(params.get("offset", str(MAX_OFFSET)), "offset"), MAX_OFFSET)
        if page * offset > MAX_RESULT_WINDOW:
            raise _BadParameter(RESULT_WINDOW)
        over = self._faults.query_timeout_over_blocks
        if over is not None and to_block - from_block + 1 > over:
            self._count_fault("query_timeout")
            return _notok(QUERY_TIMEOUT)
        to_block = min(to_block, head)
        logs = (
            self.log_source.logs(from_block, to_block, address, topic0)
            if from_block <= to_block
            else []
        )
        selected = logs[(page - 1) * offset : page * offset]
        if not selected:
            return _json_answer({"status": "0", "message": "No records found", "result": []})
        return _json_answer(
            {"status": "1", "message": "OK", "result": [_log_json(log) for log in selected]}
        )


def _block_param(value: str, head: int, name: str) -> int:
    if value == "latest":
        return head
    if value == "earliest":
        return 0
    if not value.isdigit():
        raise _BadParameter(f"Error! Invalid {name}: use a decimal block number or latest")
    return int(value)


def _positive_int(value: str, name: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise _BadParameter(f"Error! Invalid {name}: use an integer >= 1")
    return int(value)


class _Server(ThreadingHTTPServer):
    """Handler threads are joined on close, so a stopped stand-in leaves no thread behind."""

    daemon_threads = False


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0 handler: one request per connection, so stopping never waits on idle sockets."""

    owner: EtherscanStandIn
    timeout = 10

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = {key: values[0] for key, values in parse_qs(url.query).items()}
        if url.path == API_PATH:
            answer = self.owner.answer_api(params)
            if answer is not None:
                self._send(answer)
        elif url.path == "/standin/stats":
            self._send(_json_answer(self.owner.stats()))
        elif url.path == "/standin/faults":
            self._send(_json_answer(asdict(self.owner.faults)))
        elif url.path.rstrip("/") == "/api":
            self._send(_notok(DEPRECATED_V1))
        else:
            self._send(_json_answer({"error": f"no such path: {url.path}"}, 404))

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/standin/faults":
            self._send(_json_answer({"error": "POST only to /standin/faults"}, 404))
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            changes = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("the body must be a JSON object")
            seed = changes.pop("seed", None)
            faults = self.owner.set_faults(**changes)
            if seed is not None:
                self.owner.reseed(int(seed))
        except (ValueError, TypeError) as exc:
            self._send(_json_answer({"error": str(exc)}, 400))
            return
        self._send(_json_answer(asdict(faults)))

    def _send(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry the API key."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.emulators.etherscan",
        description="Local stand-in of the Etherscan V2 API over a JSON-RPC node (not Etherscan).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("ETHERSCAN_API_KEY", "standin-key"),
        help="the key clients must send (default: $ETHERSCAN_API_KEY or 'standin-key')",
    )
    parser.add_argument("--chain-id", type=int, default=31337)
    parser.add_argument("--rpc-url", default="http://127.0.0.1:8545")
    parser.add_argument(
        "--max-calls-per-sec", type=float, default=3.0, help="server-side limit; 0 turns it off"
    )
    parser.add_argument("--indexing-lag", type=int, default=0, help="blocks the head trails by")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    faults = Faults(
        max_calls_per_sec=args.max_calls_per_sec or None, indexing_lag_blocks=args.indexing_lag
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    rpc = urlsplit(args.rpc_url)
    with EtherscanStandIn(
        args.host,
        args.port,
        api_key=args.api_key,
        chain_id=args.chain_id,
        log_source=RpcLogs(args.rpc_url),
        faults=faults,
        seed=args.seed,
    ) as standin:
        print(
            f"Local stand-in of the Etherscan V2 API (not Etherscan) at {standin.url}, "
            f"chain id {args.chain_id}, logs from {rpc.scheme}://{rpc.netloc}",
            flush=True,
        )
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
