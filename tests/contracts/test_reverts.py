"""`reverts_with` fails on a wrong error name or argument, whether or not Ape decoded the revert."""

from __future__ import annotations

import pytest
from ape.exceptions import ContractLogicError
from eth_abi import encode
from eth_utils import keccak

from tests.conftest import SMALL_SPEC
from tests.contracts.reverts import reverts_with


def _undecoded_revert(signature: str, types: list[str], values: list) -> ContractLogicError:
    """A revert as Ape's test provider leaves it when it does not decode it: the message is the
    repr of the revert data."""
    data = keccak(text=signature)[:4] + encode(types, values)
    return ContractLogicError(revert_message=repr(data), set_ape_traceback=False)


def test_decoded_revert_passes_only_with_the_exact_arguments(deploy_dao, members):
    dao = deploy_dao(max_spec_bytes=10)
    with reverts_with(dao, "SpheronDevsDAOSpecTooLarge", size=11, maxSize=10):
        dao.createProposal("x" * 11, sender=members[0])
    with (
        pytest.raises(AssertionError, match=r"maxSize=10\)$"),
        reverts_with(dao, "SpheronDevsDAOSpecTooLarge", size=11, maxSize=9),
    ):
        dao.createProposal("x" * 11, sender=members[0])


def test_view_call_revert_is_compared_too(nft):
    """OpenZeppelin's ERC721NonexistentToken from a view call, which `ape.reverts` let through
    whatever the expected token id."""
    with reverts_with(nft, "ERC721NonexistentToken", tokenId=7):
        nft.tokenURI(7)
    with (
        pytest.raises(AssertionError, match=r"tokenId=7\)$"),
        reverts_with(nft, "ERC721NonexistentToken", tokenId=8),
    ):
        nft.tokenURI(7)


def test_undecoded_revert_data_is_decoded_with_the_contract_abi(dao, alice):
    revert = _undecoded_revert(
        "SpheronDevsDAOAlreadyVoted(uint256,address)", ["uint256", "address"], [4, alice.address]
    )
    assert "SpheronDevsDAOAlreadyVoted" not in str(revert)
    with reverts_with(dao, "SpheronDevsDAOAlreadyVoted", proposalId=4, voter=alice.address):
        raise revert
    with (
        pytest.raises(AssertionError, match="proposalId=4"),
        reverts_with(dao, "SpheronDevsDAOAlreadyVoted", proposalId=5, voter=alice.address),
    ):
        raise revert
    with (
        pytest.raises(AssertionError, match="got SpheronDevsDAOAlreadyVoted"),
        reverts_with(dao, "SpheronDevsDAOAlreadyExecuted", proposalId=4),
    ):
        raise revert


def test_wrong_error_name_fails(dao, outsider):
    with (
        pytest.raises(AssertionError, match=r"got SpheronDevsDAOInsufficientVotingPower\("),
        reverts_with(dao, "SpheronDevsDAOEmptySpec"),
    ):
        dao.createProposal(SMALL_SPEC, sender=outsider)


def test_no_revert_and_reverts_without_data_fail(nft, alice):
    with (
        pytest.raises(AssertionError, match="did not revert"),
        reverts_with(nft, "ERC721NonexistentToken", tokenId=1),
    ):
        nft.balanceOf(alice)
    with (
        pytest.raises(AssertionError, match="without revert data"),
        reverts_with(nft, "ERC721NonexistentToken", tokenId=1),
    ):
        raise ContractLogicError(revert_message="b''", set_ape_traceback=False)
    with (
        pytest.raises(AssertionError, match="no error of the contract matches"),
        reverts_with(nft, "ERC721NonexistentToken", tokenId=1),
    ):
        raise _undecoded_revert("Unknown(uint256)", ["uint256"], [1])


def test_every_argument_must_be_stated_and_the_error_must_exist(dao):
    with (
        pytest.raises(TypeError, match=r"arguments \['proposalId', 'voter'\]"),
        reverts_with(dao, "SpheronDevsDAOAlreadyVoted", proposalId=1),
    ):
        pass
    with (
        pytest.raises(LookupError, match="0 errors named SpheronDevsDAOTypo"),
        reverts_with(dao, "SpheronDevsDAOTypo"),
    ):
        pass
