"""DeployEvent encoding and decoding: round trips and every way a log can be malformed."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from eth_abi import encode
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from services.chain.events import (
    BUILD_FILE,
    ContractBuildError,
    DeployEventRecord,
    EventDecodeError,
    RawLog,
    decode_deploy_event,
    deploy_event_abi,
    deploy_event_topic0,
)
from services.chain.log_sources import log_from_rpc
from testbed.deploy_events import encode_deploy_event
from tests.conftest import SMALL_SPEC

CONTRACT = to_checksum_address("0x" + "5f" * 20)
SENDER = to_checksum_address("0x" + "a1" * 20)
TX_HASH = "0x" + "cd" * 32


def deploy_log(
    proposal_id: int = 7, sender: str = SENDER, msg: str = "deploy", spec: str = "{}"
) -> RawLog:
    topics, data = encode_deploy_event(proposal_id, sender, msg, spec)
    return RawLog(
        address=CONTRACT,
        topics=topics,
        data=data,
        block_number=123,
        transaction_hash=TX_HASH,
        log_index=4,
        transaction_index=2,
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


def test_the_compiled_contracts_deploy_event_is_found_and_decoded(
    dao, members, make_proposal, end_voting
) -> None:
    """The topic read from the build selects the real contract's log, and it decodes."""
    alice = members[0]
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, 1, sender=alice)  # For
    end_voting()
    receipt = dao.executeProposal(pid, SMALL_SPEC, sender=alice)

    log = log_from_rpc(receipt.logs[0])  # the DeployEvent, then ProposalExecuted
    assert log.topics[0] == deploy_event_topic0()
    record = decode_deploy_event(log)
    assert (record.proposal_id, record.sender, record.msg, record.spec_json) == (
        pid,
        alice.address,
        "Deploy",
        SMALL_SPEC,
    )


def test_a_missing_build_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(ContractBuildError, match=r"__local__\.json not found.*ape compile"):
        deploy_event_abi(tmp_path)


def _build_with_events(root, *events: dict) -> None:
    path = root / BUILD_FILE
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"contractTypes": {"SpheronDevsDAO": {"abi": list(events)}}}))


def test_a_deploy_event_this_decoder_cannot_read_is_refused(tmp_path) -> None:
    event = deploy_event_abi()
    changed = event | {"inputs": [{**event["inputs"][0], "indexed": False}, *event["inputs"][1:]]}
    _build_with_events(tmp_path, changed)
    with pytest.raises(ContractBuildError, match=r"\('uint256', False\).*this decoder reads"):
        deploy_event_abi(tmp_path)


def test_a_build_without_the_deploy_event_is_refused(tmp_path) -> None:
    _build_with_events(tmp_path, {"type": "event", "name": "Other", "inputs": []})
    with pytest.raises(ContractBuildError, match="has 0 DeployEvent events"):
        deploy_event_abi(tmp_path)


def test_decoded_record_carries_where_the_log_was_emitted() -> None:
    record = decode_deploy_event(deploy_log(proposal_id=9, msg="go", spec='{"a": 1}'))

    assert record == DeployEventRecord(
        proposal_id=9,
        sender=SENDER,
        msg="go",
        spec_json='{"a": 1}',
        block_number=123,
        transaction_hash=TX_HASH,
        log_index=4,
    )
    assert record.key == (TX_HASH, 4)


@settings(max_examples=200, deadline=None)
@given(
    proposal_id=st.integers(min_value=0, max_value=2**256 - 1),
    sender=st.binary(min_size=20, max_size=20),
    msg=st.text(),
    spec=json_values.map(lambda value: json.dumps(value, ensure_ascii=False)),
)
def test_encode_decode_round_trip(proposal_id: int, sender: bytes, msg: str, spec: str) -> None:
    address = to_checksum_address(sender)
    record = decode_deploy_event(deploy_log(proposal_id, address, msg, spec))

    assert (record.proposal_id, record.sender, record.msg, record.spec_json) == (
        proposal_id,
        address,
        msg,
        spec,
    )


def test_an_uppercase_hex_topic0_still_matches() -> None:
    log = deploy_log()
    upper = ("0x" + log.topics[0][2:].upper(), *log.topics[1:])

    assert decode_deploy_event(replace(log, topics=upper)).proposal_id == 7


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda log: replace(log, topics=()), "has no topics"),
        (
            lambda log: replace(log, topics=("0x" + "00" * 32, *log.topics[1:])),
            "is not the DeployEvent topic",
        ),
        (lambda log: replace(log, topics=log.topics[:2]), "this log has 2"),
        (lambda log: replace(log, topics=(*log.topics, "0x" + "00" * 32)), "this log has 4"),
        (
            lambda log: replace(log, topics=(log.topics[0], "0x1234", log.topics[2])),
            "topic 1 is not 0x-prefixed 32-byte hex",
        ),
        (
            lambda log: replace(log, topics=(log.topics[0], "0x" + "zz" * 32, log.topics[2])),
            "topic 1 is not valid hex",
        ),
        (
            lambda log: replace(log, topics=(*log.topics[:2], "ab" * 33)),
            "topic 2 is not 0x-prefixed",
        ),
        (
            lambda log: replace(log, topics=(*log.topics[:2], "0x01" + log.topics[2][4:])),
            "not a zero-padded 20-byte address",
        ),
        (lambda log: replace(log, data="0xnothex"), "log data is not valid hex"),
        (lambda log: replace(log, data=log.data[:-10]), "not an ABI-encoded (string, string)"),
        (lambda log: replace(log, data="0x"), "not an ABI-encoded (string, string)"),
        (
            lambda log: replace(log, data="0x" + "00" * 31 + "ff" + "00" * 32),
            "not an ABI-encoded (string, string)",
        ),
        (
            lambda log: replace(log, data="0x" + encode(["bytes", "string"], [b"\xff", "x"]).hex()),
            "field 'msg' is not valid UTF-8",
        ),
        (
            lambda log: replace(
                log, data="0x" + encode(["string", "bytes"], ["ok", b"{\xc3("]).hex()
            ),
            "field 'spheronInstanceJson' is not valid UTF-8",
        ),
    ],
    ids=[
        "no-topics",
        "wrong-topic0",
        "too-few-topics",
        "too-many-topics",
        "short-topic",
        "non-hex-topic",
        "unprefixed-topic",
        "dirty-address-padding",
        "non-hex-data",
        "truncated-data",
        "empty-data",
        "bad-pointer",
        "msg-not-utf8",
        "spec-not-utf8",
    ],
)
def test_malformed_logs_raise_a_specific_reason(change, reason: str) -> None:
    with pytest.raises(EventDecodeError) as caught:
        decode_deploy_event(change(deploy_log()))

    assert reason in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("proposal_id", [-1, 2**256])
def test_encode_refuses_an_id_outside_uint256(proposal_id: int) -> None:
    with pytest.raises(ValueError, match="does not fit in uint256"):
        encode_deploy_event(proposal_id, SENDER, "m", "{}")


def test_encode_refuses_a_sender_that_is_not_an_address() -> None:
    with pytest.raises(ValueError):
        encode_deploy_event(1, "0x1234", "m", "{}")
