"""One line of plain English for each failure a user of the scripts can meet.

- :data:`ERROR_MESSAGES` has a message for every custom error in the ABIs of ``SpheronDevsNFT`` and
  ``SpheronDevsDAO`` (their own errors and the OpenZeppelin ones they inherit); a test compares the
  table with the compiled contract types, so a new error cannot be forgotten. The messages are
  data (templates, see :data:`Template`): the web app's build exports them with :func:`catalogue`
  and renders them with the same rules, so a revert reads the same in the browser.
- :func:`decode_revert_data` decodes raw revert data against error ABIs (plus ``Error(string)``
  and ``Panic(uint256)``) into a :class:`DecodedRevert`.
- :func:`explain` turns a :class:`DecodedRevert` or an exception Ape raises (decoded custom errors,
  reverts, insufficient funds, wrong passphrase, unknown network, unreachable node) into such a
  line, or returns ``None`` for anything it does not recognise.
- :func:`redact` removes secret values (API keys, passphrases) from a text before it is printed.

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

Template = str | tuple[tuple[str, str], ...]
"""A message as data, so that the web app renders the very same words (it reads
:func:`catalogue`): a text with placeholders, or ``(condition, text)`` cases of which the first
whose condition holds is used.

- ``{name}`` is the error argument (or context value) ``name``; ``{name:FORMAT}`` formats it:
  ``ether`` (:func:`format_ether`), ``utc`` (:func:`format_utc`), ``when`` (:func:`format_when`
  with the context's ``now``), ``hex`` (``0x11``), ``plural:NOUN`` (:func:`plural`).
- A condition is ``""`` (always), ``name`` (the value is known) or ``name == TEXT`` (its decimal
  or text form equals TEXT).
- Besides the error's arguments, ``now`` (chain time) and ``numProposals`` come from the
  :class:`RevertContext`.
"""

_PARAMETER_RULES = {
    "token": "the token address has no contract code",
    "votingPeriod": "must be 1 second to 2^32 seconds (about 136 years)",
    "quorumBps": "must be 1 to 10000 basis points (0.01 % to 100 %)",
    "proposalThreshold": "must be at least 1 vote",
    "maxSpecBytes": "must be 1 to 65536 bytes",
}

ERROR_MESSAGES: dict[str, Template] = {
    # SpheronDevsDAO
    "SpheronDevsDAOInvalidParameter": (
        *(
            (f"parameter == {name}", f"invalid DAO parameter {{parameter}}: {rule}")
            for name, rule in _PARAMETER_RULES.items()
        ),
        ("", "invalid DAO parameter {parameter}: out of range"),
    ),
    "SpheronDevsDAONonexistentProposal": (
        ("numProposals == 0", "proposal {proposalId} not found (the DAO has no proposals yet)"),
        ("numProposals == 1", "proposal {proposalId} not found (the DAO has 1 proposal, id 1)"),
        (
            "numProposals",
            "proposal {proposalId} not found (the DAO has {numProposals} proposals, ids 1 to "
            "{numProposals})",
        ),
        ("", "proposal {proposalId} not found"),
    ),
    "SpheronDevsDAOInsufficientVotingPower": (
        "not enough voting power to propose: {account} had {votes:plural:vote} at the snapshot "
        "block, {threshold} needed (mint or receive a SpheronDevsNFT first; votes count from the "
        "next block on)"
    ),
    "SpheronDevsDAONotMember": "not a member: {account} holds no SpheronDevsNFT",
    "SpheronDevsDAOEmptySpec": "the proposal spec is empty",
    "SpheronDevsDAOSpecTooLarge": (
        "the spec is {size} bytes; this DAO accepts at most {maxSize} bytes"
    ),
    "SpheronDevsDAOSpecMismatch": (
        "the JSON given for proposal {proposalId} is not the JSON it was created with (its "
        "keccak256 differs from the stored spec hash)"
    ),
    "SpheronDevsDAOVotingClosed": "voting on proposal {proposalId} closed at {deadline:when}",
    "SpheronDevsDAOVotingNotEnded": (
        "proposal {proposalId} is open for votes until {deadline:when}; it can be executed after "
        "that"
    ),
    "SpheronDevsDAOAlreadyVoted": "{voter} already voted on proposal {proposalId}",
    "SpheronDevsDAONoVotingPower": (
        "{voter} had no voting power at the snapshot of proposal {proposalId} (tokens received "
        "after the proposal was created do not count)"
    ),
    "SpheronDevsDAOInvalidVoteType": (
        "invalid vote type {support}: use 0 (against), 1 (for) or 2 (abstain)"
    ),
    "SpheronDevsDAOAlreadyExecuted": "proposal {proposalId} was already executed",
    # SpheronDevsNFT
    "SpheronDevsNFTZeroQuantity": "the quantity to mint must be at least 1",
    "SpheronDevsNFTWrongPayment": (
        "wrong payment: the mint costs exactly {expected:ether}, {sent:ether} was sent"
    ),
    "SpheronDevsNFTSoldOut": (
        ("remaining == 0", "sold out: all tokens are minted ({requested} requested)"),
        ("", "sold out: {requested} requested but only {remaining} left"),
    ),
    "SpheronDevsNFTZeroMaxSupply": "the maximum supply must be at least 1",
    "EnforcedPause": "minting is paused by the NFT owner",
    "ExpectedPause": "minting is not paused",
    "OwnableUnauthorizedAccount": "{account} is not the owner of the contract",
    "OwnableInvalidOwner": "{owner} cannot be the owner",
    "ERC721NonexistentToken": "token {tokenId} does not exist",
    "ERC721IncorrectOwner": "token {tokenId} belongs to {owner}, not {sender}",
    "ERC721InsufficientApproval": "{operator} is not approved to move token {tokenId}",
    "ERC721InvalidApprover": "{approver} cannot approve this token",
    "ERC721InvalidOperator": "{operator} cannot be an operator",
    "ERC721InvalidOwner": "{owner} cannot own tokens",
    "ERC721InvalidReceiver": (
        "{receiver} cannot receive the token (the zero address, or a contract without "
        "onERC721Received)"
    ),
    "ERC721InvalidSender": "{sender} cannot send tokens",
    "ERC5805FutureLookup": (
        "votes at block {timepoint} are not final yet (current block {clock}); only past blocks "
        "can be read"
    ),
    "ERC6372InconsistentClock": "the token's clock mode is inconsistent",
    "CheckpointUnorderedInsertion": "vote checkpoints would be out of order",
    "VotesExpiredSignature": "the delegation signature expired at {expiry:utc}",
    "InvalidAccountNonce": "wrong signature nonce for {account} (current nonce {currentNonce})",
    "ECDSAInvalidSignature": "the signature is invalid",
    "ECDSAInvalidSignatureLength": "the signature is {length} bytes long; 65 are expected",
    "ECDSAInvalidSignatureS": "the signature is malleable (s is in the upper half)",
    "FailedCall": "the ether transfer to the recipient failed",
    "InsufficientBalance": "the contract holds {balance:ether}, {needed:ether} needed",
    "InvalidShortString": "a short string is malformed",
    "StringTooLong": "the name is too long for the signature domain (31 bytes max)",
    "SafeCastOverflowedUintDowncast": "the value {value} does not fit in {bits} bits",
}
"""A message for every custom error of both contracts (a test compares with their ABIs)."""

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

BUILTIN_MESSAGES: dict[str, Template] = {
    "Error": "the contract reverted: {message}",
    "Panic": (
        *(
            (f"code == {code}", f"the contract panicked: {text} ({{code:hex}})")
            for code, text in _PANIC_CODES.items()
        ),
        ("", "the contract panicked: unknown panic ({code:hex})"),
    ),
}
"""``Error(string)`` from ``require``/``revert("...")`` and ``Panic(uint256)`` from checks."""

_PLACEHOLDER_RE = re.compile(r"\{(\w+)(?::(\w+)(?::(\w+))?)?\}")


def _holds(condition: str, values: Mapping[str, Any]) -> bool:
    if not condition:
        return True
    name, _, expected = (part.strip() for part in condition.partition("=="))
    value = values.get(name)
    if not expected:
        return value is not None
    return value is not None and str(value) == expected


def _format(value: Any, kind: str | None, arg: str | None, values: Mapping[str, Any]) -> str:
    if kind is None:
        return str(value)
    formats: dict[str, Callable[[], str]] = {
        "ether": lambda: format_ether(value),
        "utc": lambda: format_utc(value),
        "when": lambda: format_when(value, values.get("now")),
        "hex": lambda: f"{int(value):#04x}",
        "plural": lambda: plural(int(value), arg or ""),
    }
    return formats[kind]()


def render(template: Template, values: Mapping[str, Any]) -> str:
    """The text of ``template`` for ``values`` (KeyError if a placeholder has no value)."""
    if not isinstance(template, str):
        template = next(text for condition, text in template if _holds(condition, values))

    def replace(match: re.Match[str]) -> str:
        name, kind, arg = match.groups()
        if name not in values or values[name] is None:
            raise KeyError(name)
        return _format(values[name], kind, arg, values)

    return _PLACEHOLDER_RE.sub(replace, template)


def catalogue() -> dict[str, dict[str, Template]]:
    """Every message template as JSON-ready data (for the web app's build)."""
    return {"errors": dict(ERROR_MESSAGES), "builtins": dict(BUILTIN_MESSAGES)}


def describe_custom_error(
    name: str, args: Mapping[str, Any], context: RevertContext | None = None
) -> str:
    """The message for custom error ``name`` with decoded ``args`` (keyed by parameter name)."""
    context = context or RevertContext()
    values = {"now": context.now, "numProposals": context.num_proposals, **args}
    template = ERROR_MESSAGES.get(name) or BUILTIN_MESSAGES.get(name)
    if template is None:
        rendered = ", ".join(f"{key}={value}" for key, value in args.items())
        return f"the contract reverted with {name}({rendered})"
    try:
        return render(template, values)
    except (KeyError, TypeError, ValueError, OverflowError):
        return f"the contract reverted with {name} (arguments could not be read: {dict(args)})"


# ---------------------------------------------------------------------------------------------
# Raw revert data
# ---------------------------------------------------------------------------------------------

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
    data = _raw_revert_data(exc)
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


def _raw_revert_data(exc: Any) -> bytes | None:
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


# ---------------------------------------------------------------------------------------------
# Secrets
# ---------------------------------------------------------------------------------------------

_SECRET_NAME_RE = re.compile(r"(KEY|SECRET|TOKEN|PASSPHRASE|PASSWORD|MNEMONIC|PROJECT_ID)", re.I)
_INFURA_KEY_RE = re.compile(r"(infura\.io/v3/)[0-9A-Za-z]+")
_MIN_SECRET_CHARS = 6


def redact(text: str, environ: Mapping[str, str]) -> str:
    """``text`` with the value of every secret-looking environment variable replaced by ``***``
    (names containing KEY, SECRET, TOKEN, PASSPHRASE, PASSWORD, MNEMONIC or PROJECT_ID), and the
    key in Infura URLs masked too."""
    secrets = sorted(
        (
            value
            for name, value in environ.items()
            if _SECRET_NAME_RE.search(name) and len(value) >= _MIN_SECRET_CHARS
        ),
        key=len,
        reverse=True,
    )
    for secret in secrets:
        text = text.replace(secret, "***")
    return _INFURA_KEY_RE.sub(r"\1***", text)
