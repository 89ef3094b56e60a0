"""One line of plain English for every custom error the contracts can revert with.

:data:`ERROR_MESSAGES` has a message for every custom error in the ABIs of ``SpheronDevsNFT`` and
``SpheronDevsDAO`` (their own errors and the OpenZeppelin ones they inherit); a test compares the
table with the compiled contract types, so a new error cannot be forgotten.
"""

from __future__ import annotations

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


def _describe_builtin(name: str, args: Mapping[str, Any]) -> str | None:
    if name == "Error":
        return f"the contract reverted: {args.get('message', '')}"
    if name == "Panic":
        code = int(args.get("code", 0))
        return f"the contract panicked: {_PANIC_CODES.get(code, 'unknown panic')} ({code:#04x})"
    return None
