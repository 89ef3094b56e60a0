"""How the scripts print facts and hashes."""

from __future__ import annotations

from typing import Any

import click


def fact(label: str, value: object) -> None:
    """Print one fact as ``label: value``."""
    click.echo(f"{label}: {value}")


def hex_hash(value: Any) -> str:
    """A transaction hash or bytes32 as ``0x``-prefixed lower-case hex."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    text = str(value)
    return text if text.startswith("0x") else "0x" + text
