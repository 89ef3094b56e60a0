"""A one-line message for any failure a user of the scripts can meet: a decoded revert, or an
exception Ape or the network raises (reverts Ape left undecoded, insufficient funds, a wrong
passphrase, an unknown network, an unreachable node); ``None`` for anything unrecognised.

Ape is imported lazily, inside :func:`explain`, so importing this module stays cheap.
"""

from __future__ import annotations

import re
from typing import Any

from services.chain.revert_decoding import DecodedRevert, decode_revert_data, raw_revert_data
from services.cli.error_catalogue import RevertContext, describe_custom_error
from services.common.formatting import format_ether

_TRANSFER_RE = re.compile(r"transfer_value=(\d+), balance=(\d+)")
_ACCOUNT_RE = re.compile(r"for account '(0x[0-9a-fA-F]{40})'")
_NOT_CONNECTED_HINTS = (
    "No (supported) node found",
    "Connection refused",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Name or service not known",
    "Temporary failure in name resolution",
    "timed out",
)


def _first_line(text: str) -> str:
    printable = "".join(char for char in text if char.isprintable() or char == "\n").strip()
    return printable.splitlines()[0].strip() if printable else ""


def _insufficient_funds(message: str) -> str:
    account = _ACCOUNT_RE.search(message)
    who = account.group(1) if account else "the account"
    amounts = _TRANSFER_RE.search(message)
    if amounts is None:
        return f"insufficient funds: {who} cannot pay for this transaction (value plus gas)"
    needed, balance = (int(group) for group in amounts.groups())
    return (
        f"insufficient funds: {who} has {format_ether(balance)}, the transaction needs about "
        f"{format_ether(needed)} (value plus the maximum gas fee)"
    )


def _not_connected(message: str) -> bool:
    return any(hint in message for hint in _NOT_CONNECTED_HINTS)


def _explain_revert(exc: Any, context: RevertContext) -> str:
    abi = getattr(exc, "abi", None)
    if abi is not None and getattr(abi, "type", None) == "error":
        return describe_custom_error(abi.name, dict(getattr(exc, "inputs", {}) or {}), context)
    # Ape did not decode it (it misses some encodings of the data): decode it here.
    data = raw_revert_data(exc)
    if data and (decoded := decode_revert_data(data, _error_abis_of(exc))) is not None:
        return describe_custom_error(decoded.name, decoded.args_by_name, context)
    message = _first_line(str(getattr(exc, "message", "") or exc))
    if not message or message in ("Transaction failed.", "reverted without message"):
        return "the transaction reverted (no reason given)"
    if data:
        return f"the transaction reverted with undecoded data 0x{data.hex()}"
    return f"the transaction reverted: {message}"


def _error_abis_of(exc: Any) -> list[dict[str, Any]]:
    """The error ABIs of the contract that reverted, when Ape knows its type."""
    contract_type = getattr(exc, "contract_type", None)
    address = getattr(exc, "contract_address", None)
    if contract_type is None and address:
        try:
            from ape import chain

            contract_type = chain.contracts.get(address, fetch_from_explorer=False)
        except Exception:  # no provider or no type: decode with the built-in errors only
            contract_type = None
    errors = getattr(contract_type, "errors", None) or []
    return [abi.model_dump(mode="json") for abi in errors]


def explain(exc: BaseException, context: RevertContext | None = None) -> str | None:
    """A one-line message for a failure from Ape or the network, or ``None`` if unrecognised."""
    import requests
    from ape.exceptions import (
        AccountsError,
        ContractLogicError,
        EcosystemNotFoundError,
        NetworkError,
        NetworkNotFoundError,
        OutOfGasError,
        ProviderError,
        ProviderNotConnectedError,
        ProviderNotFoundError,
        SignatureError,
        TransactionError,
    )

    context = context or RevertContext()
    text = str(exc)
    if isinstance(exc, DecodedRevert):
        return describe_custom_error(exc.name, exc.args_by_name, context)
    if isinstance(exc, ContractLogicError):
        return _explain_revert(exc, context)
    if isinstance(exc, OutOfGasError):
        return "the transaction ran out of gas"
    if type(exc).__name__ == "InvalidPasswordError":  # ape_accounts' keyfile error
        return "wrong passphrase for the account keyfile"
    if isinstance(exc, AccountsError) and "Transfer value meets or exceeds" in text:
        return _insufficient_funds(text)
    if isinstance(exc, SignatureError):
        return f"the transaction was not signed: {_first_line(text)}"
    if "insufficient funds" in text.lower():
        return f"insufficient funds: {_first_line(text)}"
    if isinstance(exc, EcosystemNotFoundError | NetworkNotFoundError | ProviderNotFoundError):
        return f"unknown network: {_first_line(text)}"
    if isinstance(exc, ProviderNotConnectedError):
        return "not connected to a node: pass --network ecosystem:network[:provider]"
    if type(exc).__name__ == "NodeSoftwareNotInstalledError":  # ape-node found nothing to use
        return (
            "cannot connect: no node answers at the --network URL (is it running and reachable?) "
            "and Ape cannot start one"
        )
    if isinstance(exc, requests.exceptions.RequestException):
        host = getattr(getattr(exc, "request", None), "url", None) or "the server"
        return f"cannot reach {_host_of(host)}: {_reason(text)}"
    if isinstance(exc, ProviderError | NetworkError) and _not_connected(text):
        return f"cannot reach the node: {_reason(text)}"
    if isinstance(exc, ConnectionError | TimeoutError):
        return f"network failure: {_reason(text)}"
    if isinstance(exc, ProviderError | NetworkError | TransactionError):
        return _first_line(text)
    return None


def _host_of(url: str) -> str:
    match = re.match(r"https?://([^/:?#]+)", url)
    return match.group(1) if match else url


def _reason(text: str) -> str:
    """The most specific reason in a chained network error message."""
    for hint in _NOT_CONNECTED_HINTS:
        if hint in text:
            return hint[:1].lower() + hint[1:]
    return _first_line(text)
