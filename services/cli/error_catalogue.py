"""One line of plain English for every custom error the contracts can revert with.

:data:`ERROR_MESSAGES` has a message for every custom error in the ABIs of ``SpheronDevsNFT`` and
``SpheronDevsDAO`` (their own errors and the OpenZeppelin ones they inherit); a test compares the
table with the compiled contract types, so a new error cannot be forgotten. The messages are data
(templates, see :data:`Template`): the web app's build exports them with :func:`catalogue` and
renders them with the same rules, so a revert reads the same in the browser as in the scripts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.common.formatting import format_ether, format_utc, format_when, plural


@dataclass(frozen=True)
class RevertContext:
    """What a message can add when known: the chain's time and the DAO's proposal count."""

    now: int | None = None
    """Timestamp of the latest block (chain time, which differs from the wall clock on a local
    chain that travelled in time)."""
    num_proposals: int | None = None


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
