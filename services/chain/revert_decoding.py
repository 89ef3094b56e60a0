"""Revert data, decoded: the custom error (or ``Error(string)`` / ``Panic(uint256)``) a contract
reverted with, by name and arguments, from raw data and the contract's error ABIs. The words for
each error are the scripts' business (`services.cli.error_catalogue`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string), from require/revert("...")
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256), from assert and checked arithmetic


class DecodedRevert(Exception):
    """A revert decoded from its data: a custom error ``name`` with ``args`` by parameter name,
    or ``Error`` (``{"message": ...}``) / ``Panic`` (``{"code": ...}``)."""

    def __init__(self, name: str, args: Mapping[str, Any]) -> None:
        self.name = name
        self.args_by_name = dict(args)
        super().__init__(f"{name}({', '.join(f'{k}={v}' for k, v in self.args_by_name.items())})")


def _error_signature(abi: Mapping[str, Any]) -> str:
    return f"{abi['name']}({','.join(_canonical_type(item) for item in abi.get('inputs', []))})"


def _canonical_type(item: Mapping[str, Any]) -> str:
    kind = str(item["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_canonical_type(component) for component in item.get("components", []))
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def decode_revert_data(
    data: bytes | str, error_abis: Iterable[Mapping[str, Any]]
) -> DecodedRevert | None:
    """Decode revert ``data`` against JSON error ABIs (``{"type": "error", "name", "inputs"}``);
    ``Error(string)`` and ``Panic(uint256)`` are always known. None if nothing matches."""
    from eth_abi import decode
    from eth_utils import keccak, to_checksum_address

    raw = bytes.fromhex(data.removeprefix("0x")) if isinstance(data, str) else bytes(data)
    selector, body = raw[:4], raw[4:]
    if len(selector) < 4 or len(body) % 32:  # ABI encoding is whole 32-byte words
        return None
    try:
        if selector == _ERROR_STRING_SELECTOR:
            return DecodedRevert("Error", {"message": decode(["string"], body)[0]})
        if selector == _PANIC_SELECTOR:
            return DecodedRevert("Panic", {"code": decode(["uint256"], body)[0]})
        for abi in error_abis:
            if abi.get("type", "error") != "error":
                continue
            if keccak(text=_error_signature(abi))[:4] != selector:
                continue
            inputs = list(abi.get("inputs", []))
            values = decode([_canonical_type(item) for item in inputs], body)
            args = {
                item.get("name") or f"arg{index}": (
                    to_checksum_address(value) if item["type"] == "address" else value
                )
                for index, (item, value) in enumerate(zip(inputs, values, strict=True))
            }
            return DecodedRevert(str(abi["name"]), args)
    except Exception:  # malformed data is "not decodable", not a crash
        return None
    return None


_BYTES_REPR_RE = re.compile(r"""b(?:'.*'|".*")""", re.DOTALL)
_HEX_DATA_RE = re.compile(r"0x(?:[0-9a-fA-F]{2}){4,}")


def raw_revert_data(exc: Any) -> bytes | None:
    """The revert data of an Ape ``ContractLogicError``, wherever the provider left it: the
    underlying web3 error's ``data``, a ``0x`` hex message, or a message that is the ``repr`` of
    the bytes (Ape's test provider)."""
    from ast import literal_eval

    base_data = getattr(getattr(exc, "base_err", None), "data", None)
    if isinstance(base_data, str) and _HEX_DATA_RE.fullmatch(base_data):
        return bytes.fromhex(base_data[2:])
    message = str(getattr(exc, "message", "") or "")
    if _HEX_DATA_RE.fullmatch(message):
        return bytes.fromhex(message[2:])
    if _BYTES_REPR_RE.fullmatch(message):
        try:
            value = literal_eval(message)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else None
    return None
