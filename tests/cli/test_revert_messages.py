"""services.cli.revert_messages: a message for every contract error, real reverts explained in one
line, and the formatting and redaction helpers."""

from __future__ import annotations

from typing import Any

import pytest
from ape.exceptions import AccountsError, ContractLogicError
from eth_abi import encode
from eth_utils import keccak

from services.chain.revert_decoding import DecodedRevert, decode_revert_data
from services.cli.error_catalogue import ERROR_MESSAGES, RevertContext, describe_custom_error
from services.cli.explain import explain
from services.common.formatting import (
    format_duration,
    format_ether,
    format_relative,
    format_utc,
    format_when,
)
from tests.conftest import NFT_PRICE, SMALL_SPEC, VOTING_PERIOD

_SAMPLES: dict[str, Any] = {
    "address": "0x" + "ab" * 20,
    "string": "votingPeriod",
    "bytes32": b"\x01" * 32,
}


def _contract_errors(project) -> dict[str, Any]:
    errors = {}
    for contract_type in (
        project.SpheronDevsDAO.contract_type,
        project.SpheronDevsNFT.contract_type,
    ):
        for abi in contract_type.errors:
            errors[abi.name] = abi
    return errors


def _sample_args(abi) -> dict[str, Any]:
    return {item.name: _SAMPLES.get(item.type, 7) for item in abi.inputs}


def test_every_error_of_both_contracts_has_its_own_message(project):
    errors = _contract_errors(project)
    assert errors, "the compiled contract types list no errors"
    missing = sorted(set(errors) - set(ERROR_MESSAGES))
    assert not missing, f"add a message to ERROR_MESSAGES for: {missing}"
    for name, abi in errors.items():
        message = describe_custom_error(name, _sample_args(abi), RevertContext(now=0))
        assert message and "\n" not in message, name
        assert "reverted with" not in message, f"{name} fell back to the generic text"
        assert name not in message, f"{name}: the message should explain, not name the error"


def test_message_table_lists_only_errors_the_contracts_have(project):
    stale = sorted(set(ERROR_MESSAGES) - set(_contract_errors(project)))
    assert not stale, f"no contract has these errors any more: {stale}"


def test_unknown_error_and_unreadable_arguments_fall_back_to_the_raw_error():
    assert describe_custom_error("Oops", {"a": 1}) == "the contract reverted with Oops(a=1)"
    text = describe_custom_error("SpheronDevsDAOAlreadyVoted", {})
    assert text.startswith("the contract reverted with SpheronDevsDAOAlreadyVoted")


# --- raw revert data ----------------------------------------------------------------------------


def _error_abis(project) -> list[dict]:
    return [abi.model_dump(mode="json") for abi in _contract_errors(project).values()]


def _encoded(signature: str, types: list[str], values: list) -> str:
    return "0x" + (keccak(text=signature)[:4] + encode(types, values)).hex()


def test_custom_error_data_decodes_to_named_arguments(project):
    voter = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    data = _encoded(
        "SpheronDevsDAOAlreadyVoted(uint256,address)", ["uint256", "address"], [3, voter.lower()]
    )
    decoded = decode_revert_data(data, _error_abis(project))
    assert isinstance(decoded, DecodedRevert)
    assert (decoded.name, decoded.args_by_name) == (
        "SpheronDevsDAOAlreadyVoted",
        {"proposalId": 3, "voter": voter},
    )
    assert explain(decoded) == f"{voter} already voted on proposal 3"

    data = _encoded("SpheronDevsDAOInvalidParameter(string)", ["string"], ["quorumBps"])
    assert explain(decode_revert_data(bytes.fromhex(data[2:]), _error_abis(project))) == (
        "invalid DAO parameter quorumBps: must be 1 to 10000 basis points (0.01 % to 100 %)"
    )


def test_builtin_errors_and_undecodable_data(project):
    text = decode_revert_data(_encoded("Error(string)", ["string"], ["nope"]), [])
    assert explain(text) == "the contract reverted: nope"
    panic = decode_revert_data(_encoded("Panic(uint256)", ["uint256"], [0x11]), [])
    assert explain(panic) == "the contract panicked: arithmetic overflow or underflow (0x11)"
    assert decode_revert_data("0xdeadbeef", _error_abis(project)) is None
    truncated = _encoded("SpheronDevsDAOAlreadyExecuted(uint256)", ["uint256"], [1])[:20]
    assert decode_revert_data(truncated, _error_abis(project)) is None
    assert decode_revert_data(b"", []) is None


@pytest.mark.parametrize("render", [repr, lambda data: "0x" + data.hex()])
def test_reverts_ape_left_undecoded_are_decoded_from_their_data(dao, render):
    """Ape's test provider leaves the data as the repr of the bytes, and fails to decode it when
    the repr uses double quotes (the data holds a ' byte); nodes may give 0x hex."""
    data = bytes.fromhex(
        _encoded("SpheronDevsDAOVotingClosed(uint256,uint256)", ["uint256", "uint256"], [1, 39])[2:]
    )
    assert repr(data).startswith('b"'), 'the data should hold a quote byte (39 == ord("\'"))'
    error = ContractLogicError(
        revert_message=render(data), contract_address=dao.address, set_ape_traceback=False
    )
    assert explain(error) == "voting on proposal 1 closed at 1970-01-01 00:00:39 UTC"

    unknown = ContractLogicError(revert_message="0xdeadbeef", set_ape_traceback=False)
    assert explain(unknown) == "the transaction reverted with undecoded data 0xdeadbeef"


# --- real reverts from the contracts (Ape's test chain) ----------------------------------------


def _revert(call, *args, **kwargs) -> ContractLogicError:
    with pytest.raises(ContractLogicError) as info:
        call(*args, **kwargs)
    return info.value


def test_outsider_proposing_is_explained(dao, outsider):
    error = _revert(dao.createProposal, SMALL_SPEC, sender=outsider)
    assert explain(error) == (
        f"not enough voting power to propose: {outsider.address} had 0 votes at the snapshot "
        "block, 1 needed (mint or receive a SpheronDevsNFT first; votes count from the next "
        "block on)"
    )


def test_vote_errors_are_explained(dao, members, make_proposal, end_voting, chain, outsider):
    alice, _, _ = members
    proposal_id = make_proposal(alice)
    dao.voteOnProposal(proposal_id, 1, sender=alice)

    twice = _revert(dao.voteOnProposal, proposal_id, 1, sender=alice)
    assert explain(twice) == f"{alice.address} already voted on proposal {proposal_id}"

    no_power = _revert(dao.voteOnProposal, proposal_id, 1, sender=outsider)
    assert explain(no_power).startswith(f"{outsider.address} had no voting power at the snapshot")

    bad_type = _revert(dao.voteOnProposal, proposal_id, 7, sender=alice)
    assert explain(bad_type) == "invalid vote type 7: use 0 (against), 1 (for) or 2 (abstain)"

    deadline = dao.getProposal(proposal_id).deadline
    end_voting()
    now = chain.blocks.head.timestamp
    closed = _revert(dao.voteOnProposal, proposal_id, 1, sender=alice)
    assert explain(closed, RevertContext(now=now)) == (
        f"voting on proposal {proposal_id} closed at {format_utc(deadline)} "
        f"({format_relative(deadline, now)})"
    )
    assert format_relative(deadline, now).endswith(" ago")


def test_execution_errors_are_explained(dao, members, make_proposal, end_voting, chain, outsider):
    alice, _, _ = members
    proposal_id = make_proposal(alice)
    deadline = dao.getProposal(proposal_id).deadline
    now = chain.blocks.head.timestamp

    early = _revert(dao.executeProposal, proposal_id, SMALL_SPEC, sender=alice)
    assert explain(early, RevertContext(now=now)) == (
        f"proposal {proposal_id} is open for votes until {format_utc(deadline)} "
        f"(in {format_duration(VOTING_PERIOD)}); it can be executed after that"
    )

    stranger = _revert(dao.executeProposal, proposal_id, SMALL_SPEC, sender=outsider)
    assert explain(stranger) == f"not a member: {outsider.address} holds no SpheronDevsNFT"

    end_voting()
    mismatch = _revert(dao.executeProposal, proposal_id, SMALL_SPEC + " ", sender=alice)
    assert explain(mismatch).startswith(
        f"the JSON given for proposal {proposal_id} is not the JSON it was created with"
    )

    dao.executeProposal(proposal_id, SMALL_SPEC, sender=alice)
    again = _revert(dao.executeProposal, proposal_id, SMALL_SPEC, sender=alice)
    assert explain(again) == f"proposal {proposal_id} was already executed"

    unknown = _revert(dao.voteOnProposal, 99, 1, sender=alice)
    assert explain(unknown, RevertContext(num_proposals=proposal_id)) == (
        f"proposal 99 not found (the DAO has {proposal_id} proposal"
        f"{'' if proposal_id == 1 else 's'}, "
        f"{'id 1' if proposal_id == 1 else f'ids 1 to {proposal_id}'})"
    )


def test_spec_size_errors_are_explained(dao, members):
    alice, _, _ = members
    assert explain(_revert(dao.createProposal, "", sender=alice)) == "the proposal spec is empty"
    too_large = _revert(dao.createProposal, "x" * 8193, sender=alice)
    assert explain(too_large) == "the spec is 8193 bytes; this DAO accepts at most 8192 bytes"


def test_nft_errors_are_explained(nft, deployer, alice):
    wrong = _revert(nft.mint, 1, sender=alice, value=NFT_PRICE // 2)
    assert explain(wrong) == ("wrong payment: the mint costs exactly 0.01 ETH, 0.005 ETH was sent")
    assert explain(_revert(nft.mint, 0, sender=alice)) == "the quantity to mint must be at least 1"
    not_owner = _revert(nft.pause, sender=alice)
    assert explain(not_owner) == f"{alice.address} is not the owner of the contract"
    nft.pause(sender=deployer)
    paused = _revert(nft.mint, 1, sender=alice, value=NFT_PRICE)
    assert explain(paused) == "minting is paused by the NFT owner"


def test_sold_out_is_explained(deploy_nft, alice):
    small = deploy_nft(max_supply=2)
    small.mint(1, sender=alice, value=NFT_PRICE)
    error = _revert(small.mint, 2, sender=alice, value=2 * NFT_PRICE)
    assert explain(error) == "sold out: 2 requested but only 1 left"


# --- Ape's own failures ---------------------------------------------------------------------------


def test_insufficient_funds_names_the_balance_and_the_need():
    account = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    error = AccountsError(
        f"Transfer value meets or exceeds account balance for account '{account}' on chain "
        "'1337' using provider 'node'.\nAre you using the correct account / chain / provider "
        "combination?\n(transfer_value=10000001409309937, balance=1000000000000000)."
    )
    assert explain(error) == (
        f"insufficient funds: {account} has 0.001 ETH, the transaction needs about "
        "0.010000001409309937 ETH (value plus the maximum gas fee)"
    )


def test_unrecognised_exceptions_are_left_to_the_caller():
    assert explain(ValueError("something else")) is None


# --- helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "seconds, text",
    [
        (0, "0 s"),
        (45, "45 s"),
        (300, "5 min"),
        (299, "4 min 59 s"),
        (7_500, "2 h 5 min"),
        (86_400, "1 day"),
        (3 * 86_400 + 4 * 3_600 + 5, "3 days 4 h"),
        (-90, "1 min 30 s"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_relative_and_absolute_times():
    assert format_utc(1_795_480_985) == "2026-11-24 00:43:05 UTC"
    assert format_relative(1_000 + 720, 1_000) == "in 12 min"
    assert format_relative(1_000, 1_000 + 61) == "1 min 1 s ago"
    assert format_relative(5, 5) == "now"
    assert format_when(1_795_480_985, None) == "2026-11-24 00:43:05 UTC"
    assert format_when(1_795_480_985, 1_795_480_985 - 600) == "2026-11-24 00:43:05 UTC (in 10 min)"


@pytest.mark.parametrize(
    "wei, text",
    [
        (0, "0 ETH"),
        (10**16, "0.01 ETH"),
        (10**18, "1 ETH"),
        (25 * 10**17, "2.5 ETH"),
        (1, "0.000000000000000001 ETH"),
    ],
)
def test_format_ether_is_exact(wei, text):
    assert format_ether(wei) == text
