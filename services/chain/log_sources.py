"""Where the bot reads `DeployEvent` logs from: the Etherscan V2 API or a JSON-RPC node.

Both sources answer the same two questions — the head block, and every DeployEvent log of the DAO in
a block range, in complete ascending batches — so the watcher cannot tell them apart. Each source
talks to exactly one outside service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from services.chain.etherscan import EtherscanClient, iter_deploy_logs
from services.chain.events import LogBatch, RawLog, checksum_address, deploy_event_topic0, within

ProgressCallback = Callable[[int, int, int], None]


class LogSource(Protocol):
    """A reader of the DAO's DeployEvent logs."""

    name: str

    def head(self) -> int:
        """The newest block this source can serve logs for."""
        ...

    def batches(
        self, from_block: int, to_block: int, on_progress: ProgressCallback | None = None
    ) -> Iterator[LogBatch]:
        """Every DeployEvent log in `from_block..to_block`, in complete, contiguous batches."""
        ...


class LogSourceUnavailable(RuntimeError):
    """The node could not answer (connection refused, timeout, an error reply); retry later."""


class EtherscanLogSource:
    """Logs from the Etherscan V2 API (no RPC connection needed)."""

    name = "etherscan"

    def __init__(self, client: EtherscanClient, dao_address: str, *, page_size: int) -> None:
        self._client = client
        self._dao_address = dao_address
        self._page_size = page_size
        self._topic0 = deploy_event_topic0()  # read now: a missing build stops the bot at start

    def head(self) -> int:
        """Etherscan's indexed head: logs are read from the same source as the head."""
        return self._client.block_number()

    def batches(
        self, from_block: int, to_block: int, on_progress: ProgressCallback | None = None
    ) -> Iterator[LogBatch]:
        return iter_deploy_logs(
            self._client,
            self._dao_address,
            self._topic0,
            from_block,
            to_block,
            page_size=self._page_size,
            on_progress=on_progress,
        )


class RpcLogSource:
    """Logs from `eth_getLogs` through a connected Ape provider (`provider.make_request`).

    Block ranges are read `max_range` blocks at a time; when a node refuses a range as too large
    (nodes cap blocks or results per call), the range is halved and asked again.
    """

    name = "rpc"

    def __init__(
        self, request: Callable[[str, list[Any]], Any], dao_address: str, *, max_range: int = 5_000
    ) -> None:
        self._request = request
        self._dao_address = dao_address
        self._max_range = max_range
        self._topic0 = deploy_event_topic0()  # read now: a missing build stops the bot at start

    def head(self) -> int:
        return _quantity(self._call("eth_blockNumber", []))

    def _call(self, method: str, params: list[Any]) -> Any:
        try:
            return self._request(method, params)
        except Exception as error:  # web3 and Ape raise many types for one failed request
            raise LogSourceUnavailable(f"{method} failed: {error}") from error

    def batches(
        self, from_block: int, to_block: int, on_progress: ProgressCallback | None = None
    ) -> Iterator[LogBatch]:
        calls = 0
        low = from_block
        span = self._max_range
        while low <= to_block:
            high = min(to_block, low + span - 1)
            calls += 1
            try:
                answer = self._call(
                    "eth_getLogs",
                    [
                        {
                            "address": self._dao_address,
                            "topics": [self._topic0],
                            "fromBlock": hex(low),
                            "toBlock": hex(high),
                        }
                    ],
                )
            except LogSourceUnavailable as error:
                if high > low and _is_range_too_large(error):
                    span = max(1, (high - low + 1) // 2)
                    continue
                raise
            logs = sorted(
                within([log_from_rpc(item) for item in answer], low, high), key=log_position
            )
            yield LogBatch(from_block=low, to_block=high, logs=tuple(logs))
            if on_progress is not None:
                on_progress(high, to_block, calls)
            low = high + 1


def log_position(log: RawLog) -> tuple[int, int]:
    """Sort key: (block number, log index)."""
    return (log.block_number, log.log_index)


def _is_range_too_large(error: Exception) -> bool:
    text = str(error).lower()
    return any(
        marker in text
        for marker in ("range", "too many", "limit exceeded", "more than", "10000", "timeout")
    )


def _quantity(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    text = str(value)
    return int(text, 16) if text.startswith("0x") else int(text)


def _hex(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if hasattr(value, "hex") and not isinstance(value, str):
        text = value.hex()
        return text if text.startswith("0x") else "0x" + text
    return str(value)


def log_from_rpc(item: Any) -> RawLog:
    """A JSON-RPC log object as a RawLog: a plain dict of hex strings (`eth_getLogs`), or web3's
    AttributeDict with HexBytes and ints (receipts). `blockTimestamp` is kept when the node
    reports it."""
    get = item.get if hasattr(item, "get") else lambda key: getattr(item, key, None)
    block_hash = get("blockHash")
    timestamp = get("blockTimestamp")
    return RawLog(
        address=checksum_address(_hex(get("address"))),
        topics=tuple(_hex(topic).lower() for topic in get("topics")),
        data=_hex(get("data")).lower(),
        block_number=_quantity(get("blockNumber")),
        transaction_hash=_hex(get("transactionHash")).lower(),
        log_index=_quantity(get("logIndex")),
        transaction_index=_quantity(get("transactionIndex")),
        block_hash=_hex(block_hash).lower() if block_hash is not None else None,
        timestamp=_quantity(timestamp) if timestamp else None,
    )
