"""Where the stand-in's logs come from: `GeneratedLogs` (in memory) or `RpcLogs` (a node)."""

from __future__ import annotations

import bisect
import itertools
import threading
from typing import Any, Protocol

import requests
from eth_utils import keccak

from services.chain.events import RawLog, checksum_address
from services.chain.log_sources import log_from_rpc
from testbed.deploy_events import encode_deploy_event

_AFTER_ANY_INDEX = 2**64


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
        logs = [log_from_rpc(item) for item in items if not item.get("removed")]
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
