"""Answers in Etherscan's shapes: JSON bodies, NOTOK errors and log items."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.chain.events import RawLog
from services.common.http_server import JSON_CONTENT_TYPE


@dataclass(frozen=True)
class Answer:
    """An answer the handler writes as it is (status, body bytes, content type)."""

    status: int
    body: bytes
    content_type: str = JSON_CONTENT_TYPE


def json_answer(payload: object, status: int = 200) -> Answer:
    return Answer(status, json.dumps(payload).encode())


def notok(cause: str) -> Answer:
    return json_answer({"status": "0", "message": "NOTOK", "result": cause})


def _quantity(value: int) -> str:
    """Etherscan's way for some fields: zero as the bare "0x"."""
    return "0x" if value == 0 else hex(value)


def log_json(log: RawLog) -> dict[str, Any]:
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
