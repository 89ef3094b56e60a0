"""Constants and helpers shared by the service tests (fixtures live in `conftest.py`)."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

#: The chain id the Etherscan tests use (Sepolia's), the stand-in's default in `conftest.py`.
CHAIN_ID = 11155111
#: The member that emits the DeployEvents in the Etherscan tests.
SENDER = to_checksum_address("0x" + "a1" * 20)


class _Delete:
    """Pass `DELETE` as the value to `set_path` to delete the entry instead."""

    def __repr__(self) -> str:  # test ids that show it stay the same from run to run
        return "DELETE"


DELETE = _Delete()


def set_path(doc: Any, path: str, value: object) -> None:
    """Set the value at a dotted path in `doc` (numeric parts index lists); `DELETE` removes it."""
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    target = doc
    for part in parents:
        target = target[part]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value
