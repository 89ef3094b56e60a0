"""One line of plain English for each failure a user of the scripts can meet.

- :data:`ERROR_MESSAGES` has a message for every custom error in the ABIs of ``SpheronDevsNFT`` and
  ``SpheronDevsDAO`` (their own errors and the OpenZeppelin ones they inherit); a test compares the
  table with the compiled contract types, so a new error cannot be forgotten.
- :func:`decode_revert_data` decodes raw revert data against error ABIs (plus ``Error(string)``
  and ``Panic(uint256)``) into a :class:`DecodedRevert`; :func:`raw_revert_data` finds that data
  in a revert Ape left undecoded.
- :func:`explain` turns a :class:`DecodedRevert` or an exception Ape raises (decoded custom errors,
  reverts, insufficient funds, wrong passphrase, unknown network, unreachable node) into such a
  line, or returns ``None`` for anything it does not recognise.

Ape is imported lazily, inside :func:`explain`, so the formatting helpers stay cheap to import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

WEI_PER_ETHER = 10**18


@dataclass(frozen=True)
class RevertContext:
    """What a message can add when known: the chain's time and the DAO's proposal count."""

    now: int | None = None
    """Timestamp of the latest block (chain time, which differs from the wall clock on a local
    chain that travelled in time)."""
    num_proposals: int | None = None


# ---------------------------------------------------------------------------------------------
# Formatting helpers (shared with the scripts)
# ---------------------------------------------------------------------------------------------


def format_utc(timestamp: int) -> str:
    """``1795480985`` → ``"2026-11-24 10:03:05 UTC"``."""
    moment = datetime.fromtimestamp(int(timestamp), tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(seconds: int) -> str:
    """A length of time in at most two units: ``45 s``, ``5 min``, ``4 min 59 s``, ``2 h 5 min``,
    ``3 days 4 h``."""
    seconds = abs(int(seconds))
    units = (("day", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        amount, seconds = divmod(seconds, size)
        if amount and len(parts) < 2:
            label = f"{name}s" if name == "day" and amount != 1 else name
            parts.append(f"{amount} {label}")
        elif parts:
            break
    return " ".join(parts) or "0 s"


def format_relative(timestamp: int, now: int) -> str:
    """``"in 12 min"``, ``"3 h 2 min ago"`` or ``"now"``, relative to chain time ``now``."""
    delta = int(timestamp) - int(now)
    if delta == 0:
        return "now"
    return f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(delta)} ago"


def format_when(timestamp: int, now: int | None) -> str:
    """``"2026-11-24 10:00:00 UTC (in 12 min)"``; the relative part only when ``now`` is known."""
    text = format_utc(timestamp)
    return text if now is None else f"{text} ({format_relative(timestamp, now)})"


def format_ether(wei: int) -> str:
    """``10**16`` → ``"0.01 ETH"``: exact, no float rounding."""
    amount = Decimal(int(wei)) / Decimal(WEI_PER_ETHER)
    text = format(amount.normalize(), "f") if amount else "0"
    return f"{text} ETH"


def plural(count: int, noun: str) -> str:
    """``plural(1, "vote")`` → ``"1 vote"``; ``plural(3, "vote")`` → ``"3 votes"``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# ---------------------------------------------------------------------------------------------
# Custom errors
# ---------------------------------------------------------------------------------------------

ErrorFormatter = Callable[[Mapping[str, Any], RevertContext], str]

_PARAMETER_RULES = {
    "token": "the token address has no contract code",
    "votingPeriod": "must be 1 second to 2^32 seconds (about 136 years)",
    "quorumBps": "must be 1 to 10000 basis points (0.01 % to 100 %)",
    "proposalThreshold": "must be at least 1 vote",
    "maxSpecBytes": "must be 1 to 65536 bytes",
}


def _nonexistent(args: Mapping[str, Any], ctx: RevertContext) -> str:
    text = f"proposal {args['proposalId']} not found"
    if ctx.num_proposals == 0:
        return text + " (the DAO has no proposals yet)"
    if ctx.num_proposals is not None:
        ids = "id 1" if ctx.num_proposals == 1 else f"ids 1 to {ctx.num_proposals}"
        return f"{text} (the DAO has {plural(ctx.num_proposals, 'proposal')}, {ids})"
    return text


def _closed(args: Mapping[str, Any], ctx: RevertContext) -> str:
    when = format_when(args["deadline"], ctx.now)
    return f"voting on proposal {args['proposalId']} closed at {when}"


def _not_ended(args: Mapping[str, Any], ctx: RevertContext) -> str:
    return (
        f"proposal {args['proposalId']} is open for votes until "
        f"{format_when(args['deadline'], ctx.now)}; it can be executed after that"
    )


def _insufficient_power(args: Mapping[str, Any], _: RevertContext) -> str:
    return (
        f"not enough voting power to propose: {args['account']} had "
        f"{plural(args['votes'], 'vote')} at the snapshot block, {args['threshold']} needed "
        "(mint or receive a SpheronDevsNFT first; votes count from the next block on)"
    )


def _sold_out(args: Mapping[str, Any], _: RevertContext) -> str:
    if args["remaining"] == 0:
        return f"sold out: all tokens are minted ({args['requested']} requested)"
    return f"sold out: {args['requested']} requested but only {args['remaining']} left"


ERROR_MESSAGES: dict[str, ErrorFormatter] = {
    # SpheronDevsDAO
    "SpheronDevsDAOInvalidParameter": lambda a, _: (
        f"invalid DAO parameter {a['parameter']}: "
        f"{_PARAMETER_RULES.get(a['parameter'], 'out of range')}"
    ),
    "SpheronDevsDAONonexistentProposal": _nonexistent,
    "SpheronDevsDAOInsufficientVotingPower": _insufficient_power,
    "SpheronDevsDAONotMember": lambda a, _: f"not a member: {a['account']} holds no SpheronDevsNFT",
    "SpheronDevsDAOEmptySpec": lambda a, _: "the proposal spec is empty",
    "SpheronDevsDAOSpecTooLarge": lambda a, _: (
        f"the spec is {a['size']} bytes; this DAO accepts at most {a['maxSize']} bytes"
    ),
    "SpheronDevsDAOSpecMismatch": lambda a, _: (
        f"the JSON given for proposal {a['proposalId']} is not the JSON it was created with "
        "(its keccak256 differs from the stored spec hash)"
    ),
    "SpheronDevsDAOVotingClosed": _closed,
    "SpheronDevsDAOVotingNotEnded": _not_ended,
    "SpheronDevsDAOAlreadyVoted": lambda a, _: (
        f"{a['voter']} already voted on proposal {a['proposalId']}"
    ),
    "SpheronDevsDAONoVotingPower": lambda a, _: (
        f"{a['voter']} had no voting power at the snapshot of proposal {a['proposalId']} "
        "(tokens received after the proposal was created do not count)"
    ),
    "SpheronDevsDAOInvalidVoteType": lambda a, _: (
        f"invalid vote type {a['support']}: use 0 (against), 1 (for) or 2 (abstain)"
    ),
    "SpheronDevsDAOAlreadyExecuted": lambda a, _: (
        f"proposal {a['proposalId']} was already executed"
    ),
    # SpheronDevsNFT
    "SpheronDevsNFTZeroQuantity": lambda a, _: "the quantity to mint must be at least 1",
    "SpheronDevsNFTWrongPayment": lambda a, _: (
        f"wrong payment: the mint costs exactly {format_ether(a['expected'])}, "
        f"{format_ether(a['sent'])} was sent"
    ),
    "SpheronDevsNFTSoldOut": _sold_out,
    "SpheronDevsNFTZeroMaxSupply": lambda a, _: "the maximum supply must be at least 1",
    "EnforcedPause": lambda a, _: "minting is paused by the NFT owner",
    "ExpectedPause": lambda a, _: "minting is not paused",
    "OwnableUnauthorizedAccount": lambda a, _: f"{a['account']} is not the owner of the contract",
    "OwnableInvalidOwner": lambda a, _: f"{a['owner']} cannot be the owner",
    "ERC721NonexistentToken": lambda a, _: f"token {a['tokenId']} does not exist",
    "ERC721IncorrectOwner": lambda a, _: (
        f"token {a['tokenId']} belongs to {a['owner']}, not {a['sender']}"
    ),
    "ERC721InsufficientApproval": lambda a, _: (
        f"{a['operator']} is not approved to move token {a['tokenId']}"
    ),
    "ERC721InvalidApprover": lambda a, _: f"{a['approver']} cannot approve this token",
    "ERC721InvalidOperator": lambda a, _: f"{a['operator']} cannot be an operator",
    "ERC721InvalidOwner": lambda a, _: f"{a['owner']} cannot own tokens",
    "ERC721InvalidReceiver": lambda a, _: (
        f"{a['receiver']} cannot receive the token (the zero address, or a contract without "
        "onERC721Received)"
    ),
    "ERC721InvalidSender": lambda a, _: f"{a['sender']} cannot send tokens",
    "ERC5805FutureLookup": lambda a, _: (
        f"votes at block {a['timepoint']} are not final yet (current block {a['clock']}); "
        "only past blocks can be read"
    ),
    "ERC6372InconsistentClock": lambda a, _: "the token's clock mode is inconsistent",
    "CheckpointUnorderedInsertion": lambda a, _: "vote checkpoints would be out of order",
    "VotesExpiredSignature": lambda a, _: (
        f"the delegation signature expired at {format_utc(a['expiry'])}"
    ),
    "InvalidAccountNonce": lambda a, _: (
        f"wrong signature nonce for {a['account']} (current nonce {a['currentNonce']})"
    ),
    "ECDSAInvalidSignature": lambda a, _: "the signature is invalid",
    "ECDSAInvalidSignatureLength": lambda a, _: (
        f"the signature is {a['length']} bytes long; 65 are expected"
    ),
    "ECDSAInvalidSignatureS": lambda a, _: "the signature is malleable (s is in the upper half)",
    "FailedCall": lambda a, _: "the ether transfer to the recipient failed",
    "InsufficientBalance": lambda a, _: (
        f"the contract holds {format_ether(a['balance'])}, {format_ether(a['needed'])} needed"
    ),
    "InvalidShortString": lambda a, _: "a short string is malformed",
    "StringTooLong": lambda a, _: "the name is too long for the signature domain (31 bytes max)",
    "SafeCastOverflowedUintDowncast": lambda a, _: (
        f"the value {a['value']} does not fit in {a['bits']} bits"
    ),
}


def describe_custom_error(
    name: str, args: Mapping[str, Any], context: RevertContext | None = None
) -> str:
    """The message for custom error ``name`` with decoded ``args`` (keyed by parameter name)."""
    formatter = ERROR_MESSAGES.get(name)
    if formatter is None and (builtin := _describe_builtin(name, args)) is not None:
        return builtin
    if formatter is None:
        rendered = ", ".join(f"{key}={value}" for key, value in args.items())
        return f"the contract reverted with {name}({rendered})"
    try:
        return formatter(args, context or RevertContext())
    except (KeyError, TypeError, ValueError, OverflowError):
        return f"the contract reverted with {name} (arguments could not be read: {dict(args)})"


# ---------------------------------------------------------------------------------------------
# Raw revert data
# ---------------------------------------------------------------------------------------------

_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string), from require/revert("...")
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256), from assert and checked arithmetic
_PANIC_CODES = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x31: "pop from an empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


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


def _describe_builtin(name: str, args: Mapping[str, Any]) -> str | None:
    if name == "Error":
        return f"the contract reverted: {args.get('message', '')}"
    if name == "Panic":
        code = int(args.get("code", 0))
        return f"the contract panicked: {_PANIC_CODES.get(code, 'unknown panic')} ({code:#04x})"
    return None


# ---------------------------------------------------------------------------------------------
# Ape exceptions
# ---------------------------------------------------------------------------------------------

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
