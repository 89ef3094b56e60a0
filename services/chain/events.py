"""The DAO's `DeployEvent` log: its raw shape as read from a log source, and its ABI decoding.

The event comes from `SpheronDevsDAO`'s compiled ABI (Ape's build, `.build/__local__.json` in the
project folder, read once on first use without Ape or a network): its topic is the keccak256 of
the signature found there. Indexed arguments go to topics, the two strings to ABI-encoded data:

    event DeployEvent(uint256 indexed proposalId, address indexed _from, string msg,
                      string spheronInstanceJson);
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from eth_abi import decode
from eth_abi.exceptions import DecodingError
from eth_utils import keccak, to_checksum_address

#: Ape's compiled project, relative to the project folder.
BUILD_FILE = Path(".build") / "__local__.json"

#: (type, indexed) of each DeployEvent input, in order: the layout this module decodes.
_DECODED_LAYOUT = (("uint256", True), ("address", True), ("string", False), ("string", False))

_TOPIC_HEX_CHARS = 64
_ADDRESS_BYTES = 20


@lru_cache(maxsize=4096)
def checksum_address(address: str | bytes) -> str:
    """`eth_utils.to_checksum_address`, cached: it costs a keccak per call, and log streams repeat
    the same few addresses. Raises ValueError for anything that is not a 20-byte address."""
    return to_checksum_address(address)


class EventDecodeError(ValueError):
    """A log is not a well-formed `DeployEvent`; the message names the reason."""


class ContractBuildError(RuntimeError):
    """The compiled contracts are missing, unreadable, or their `DeployEvent` is not the one
    this module decodes; the message says what to do."""


def deploy_event_abi(project_root: Path | None = None) -> dict[str, Any]:
    """The `DeployEvent` entry of `SpheronDevsDAO`'s ABI in the project's build (the project is
    the working directory, as for Ape, unless `project_root` is given)."""
    path = (Path.cwd() if project_root is None else project_root) / BUILD_FILE
    try:
        build = json.loads(path.read_text(encoding="utf-8"))
        abi = build["contractTypes"]["SpheronDevsDAO"]["abi"]
    except FileNotFoundError:
        raise ContractBuildError(
            f"{path} not found: compile the contracts first (`ape compile`, or `make install`, "
            "in the project folder)"
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ContractBuildError(
            f"cannot read SpheronDevsDAO's ABI from {path}: {error!r}"
        ) from None
    events = [
        item for item in abi if item.get("type") == "event" and item.get("name") == "DeployEvent"
    ]
    if len(events) != 1:
        raise ContractBuildError(
            f"SpheronDevsDAO in {path} has {len(events)} DeployEvent events, not 1"
        )
    [event] = events
    layout = tuple((item["type"], bool(item.get("indexed"))) for item in event["inputs"])
    if layout != _DECODED_LAYOUT:
        raise ContractBuildError(
            f"SpheronDevsDAO's DeployEvent in {path} has inputs (type, indexed) {layout}; "
            f"this decoder reads {_DECODED_LAYOUT}"
        )
    return event


@lru_cache(maxsize=1)
def deploy_event_topic0() -> str:
    """topic0 of `DeployEvent` (0x-prefixed lowercase hex): the keccak256 of its signature in the
    compiled ABI, read on the first call. Raises ContractBuildError if the build is missing."""
    event = deploy_event_abi()
    signature = f"{event['name']}({','.join(item['type'] for item in event['inputs'])})"
    return "0x" + keccak(text=signature).hex()


@dataclass(frozen=True)
class RawLog:
    """One log as a log source reports it, normalised.

    `address` is checksummed; `topics` are 0x-prefixed lowercase hex; `data` is 0x-prefixed hex.
    `block_hash` and `timestamp` are optional because not every source reports them.
    """

    address: str
    topics: tuple[str, ...]
    data: str
    block_number: int
    transaction_hash: str
    log_index: int
    transaction_index: int
    block_hash: str | None = None
    timestamp: int | None = None

    @property
    def key(self) -> tuple[str, int]:
        """Identity of the log on its chain: (transaction hash, log index)."""
        return (self.transaction_hash, self.log_index)


@dataclass(frozen=True)
class LogBatch:
    """Every matching log in blocks `from_block..to_block` (inclusive), ascending.

    A batch is complete for its range, so a caller may checkpoint `to_block` once it is handled.
    """

    from_block: int
    to_block: int
    logs: tuple[RawLog, ...]


def within(logs: Sequence[RawLog], low: int, high: int) -> list[RawLog]:
    """The logs in blocks `low..high`; a server that ignores the range must not leak others in."""
    return [log for log in logs if low <= log.block_number <= high]


@dataclass(frozen=True)
class DeployEventRecord:
    """A decoded `DeployEvent` with where it was emitted."""

    proposal_id: int
    sender: str
    msg: str
    spec_json: str
    block_number: int
    transaction_hash: str
    log_index: int

    @property
    def key(self) -> tuple[str, int]:
        """Identity of the event on its chain: (transaction hash, log index)."""
        return (self.transaction_hash, self.log_index)


def _topic_bytes(topics: tuple[str, ...], index: int) -> bytes:
    topic = topics[index]
    body = topic[2:] if topic[:2] in ("0x", "0X") else None
    if body is None or len(body) != _TOPIC_HEX_CHARS:
        raise EventDecodeError(f"topic {index} is not 0x-prefixed 32-byte hex: {topic[:80]!r}")
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise EventDecodeError(f"topic {index} is not valid hex: {topic[:80]!r}") from None


def _utf8(raw: bytes, field: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EventDecodeError(
            f"DeployEvent field {field!r} is not valid UTF-8 ({exc.reason} at byte {exc.start})"
        ) from None


def decode_deploy_event(log: RawLog) -> DeployEventRecord:
    """Decode a `DeployEvent` log; raise `EventDecodeError` naming what is wrong with it."""
    if not log.topics:
        raise EventDecodeError("log has no topics, so it is not a DeployEvent")
    topic0 = deploy_event_topic0()
    if log.topics[0].lower() != topic0:
        raise EventDecodeError(
            f"topic0 {log.topics[0][:80]!r} is not the DeployEvent topic {topic0}"
        )
    if len(log.topics) != 3:
        raise EventDecodeError(
            f"DeployEvent has 3 topics (signature, proposalId, _from), this log has "
            f"{len(log.topics)}"
        )
    proposal_id = int.from_bytes(_topic_bytes(log.topics, 1), "big")
    sender_word = _topic_bytes(log.topics, 2)
    if any(sender_word[:-_ADDRESS_BYTES]):
        raise EventDecodeError("topic 2 (_from) is not a zero-padded 20-byte address")
    sender = checksum_address(sender_word[-_ADDRESS_BYTES:])

    data = log.data[2:] if log.data[:2] in ("0x", "0X") else log.data
    try:
        payload = bytes.fromhex(data)
    except ValueError:
        raise EventDecodeError(f"log data is not valid hex ({len(log.data)} chars)") from None
    try:
        raw_msg, raw_spec = decode(["bytes", "bytes"], payload)
    except DecodingError as exc:
        raise EventDecodeError(
            f"log data is not an ABI-encoded (string, string) pair: {exc}"
        ) from None

    return DeployEventRecord(
        proposal_id=proposal_id,
        sender=sender,
        msg=_utf8(raw_msg, "msg"),
        spec_json=_utf8(raw_spec, "spheronInstanceJson"),
        block_number=log.block_number,
        transaction_hash=log.transaction_hash,
        log_index=log.log_index,
    )
