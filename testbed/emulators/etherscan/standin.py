"""`EtherscanStandIn`: the server, its controls, and the V2 API over a `LogSource`."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter, deque
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from typing import Any

from services.common.http_server import BackgroundHTTPServer, bind_handler
from testbed.emulators.etherscan import messages
from testbed.emulators.etherscan.answers import Answer, json_answer, log_json, notok
from testbed.emulators.etherscan.constants import API_PATH, MAX_OFFSET, MAX_RESULT_WINDOW
from testbed.emulators.etherscan.faults import Faults
from testbed.emulators.etherscan.handler import Handler
from testbed.emulators.etherscan.log_sources import LogSource, LogSourceError

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TOPIC = re.compile(r"^0x[0-9a-fA-F]{64}$")


class _BadParameter(ValueError):
    """A request parameter Etherscan would reject; the message is Etherscan's answer."""


class EtherscanStandIn(BackgroundHTTPServer):
    """A loopback HTTP server speaking the Etherscan V2 API over a `LogSource`.

    `stop()` also wakes slow answers (they send nothing) and waits for every handler thread.
    """

    thread_name = "etherscan-standin"
    service_name = "the stand-in"
    poll_interval_s = 0.02  # so stop() returns quickly

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
        super().__init__(host, port)
        self.api_key = api_key
        self.chain_id = chain_id
        self.log_source = log_source
        self._faults = faults or Faults()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._fault_counts: Counter[str] = Counter()
        self._rejections: Counter[str] = Counter()
        self._arrivals: deque[float] = deque(maxlen=100_000)
        self._answered: deque[float] = deque()

    # ---------------------------------------------------------------- lifecycle (see the base)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return bind_handler(Handler, standin=self)

    @property
    def url(self) -> str:
        """The V2 endpoint, e.g. http://127.0.0.1:54321/v2/api."""
        return f"{super().url}{API_PATH}"

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

    def answer_api(self, params: dict[str, str]) -> Answer | None:
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
                return Answer(
                    500, b"<html><body>500 Internal Server Error</body></html>", "text/html"
                )
            if self._draw("malformed"):
                return Answer(200, messages.MALFORMED_BODY)
            rejection = self._check_credentials(params)
            if rejection is not None:
                return rejection
            limited = self._limited()
        if limited is not None:
            return notok(limited)
        try:
            return self._dispatch(params)
        except _BadParameter as exc:
            return notok(str(exc))
        except LogSourceError as exc:
            self._count_fault("source_error")
            return Answer(502, f"log source error: {exc}".encode(), "text/plain")

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

    def _check_credentials(self, params: dict[str, str]) -> Answer | None:
        """Etherscan's chainid and apikey checks (lock held)."""
        if params.get("chainid") != str(self.chain_id):
            self._rejections["missing_chainid"] += 1
            return notok(messages.MISSING_CHAINID)
        if params.get("apikey") != self.api_key:
            self._rejections["invalid_api_key"] += 1
            lockout = self._faults.invalid_key_lockout_after
            if lockout is not None and self._rejections["invalid_api_key"] > lockout:
                return notok(messages.TOO_MANY_INVALID_KEYS)
            return notok(messages.INVALID_API_KEY)
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
                return messages.RATE_LIMIT
            self._answered.append(now)
        if self._draw("rate_limit"):
            return messages.RATE_LIMIT
        if self._draw("daily_limit"):
            return messages.DAILY_LIMIT
        return None

    def _dispatch(self, params: dict[str, str]) -> Answer:
        module, action = params.get("module"), params.get("action")
        if module == "proxy" and action == "eth_blockNumber":
            return json_answer({"jsonrpc": "2.0", "id": 83, "result": hex(self._indexed_head())})
        if module == "logs" and action == "getLogs":
            return self._get_logs(params)
        if module not in ("proxy", "logs"):
            return notok("Error! Missing Or invalid Module name")
        return notok("Error! Missing Or invalid Action name")

    def _indexed_head(self) -> int:
        return max(0, self.log_source.head_block() - self._faults.indexing_lag_blocks)

    def _get_logs(self, params: dict[str, str]) -> Answer:
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
            raise _BadParameter(messages.RESULT_WINDOW)
        over = self._faults.query_timeout_over_blocks
        if over is not None and to_block - from_block + 1 > over:
            self._count_fault("query_timeout")
            return notok(messages.QUERY_TIMEOUT)
        to_block = min(to_block, head - self._faults.log_index_lag_blocks)
        if self._faults.ignore_paging:
            page = 1
        logs = (
            self.log_source.logs(from_block, to_block, address, topic0)
            if from_block <= to_block
            else []
        )
        selected = logs[(page - 1) * offset : page * offset]
        if not selected:
            return json_answer({"status": "0", "message": "No records found", "result": []})
        return json_answer(
            {"status": "1", "message": "OK", "result": [log_json(log) for log in selected]}
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
