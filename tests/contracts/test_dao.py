"""SpheronDevsDAO: proposals bound by hash, snapshot voting, quorum, execution, and the tutorial's
defects as regression tests."""

import json

import pytest
from eth_utils import keccak

from tests.conftest import MAX_SPEC_BYTES, NFT_PRICE, SMALL_SPEC, VOTING_PERIOD
from tests.contracts.reverts import reverts_with

AGAINST, FOR, ABSTAIN = 0, 1, 2
ACTIVE, DEFEATED, SUCCEEDED, EXECUTED = 0, 1, 2, 3


# --- constructor ---------------------------------------------------------------------------------


def test_constructor_sets_parameters(dao, nft, chain):
    assert dao.token() == nft
    assert dao.votingPeriod() == VOTING_PERIOD
    assert dao.quorumBps() == 2_000
    assert dao.proposalThreshold() == 1
    assert dao.maxSpecBytes() == MAX_SPEC_BYTES
    assert dao.numProposals() == 0
    assert 0 < dao.deploymentBlock() <= chain.blocks.head.number


@pytest.mark.parametrize(
    "overrides, parameter",
    [
        ({"voting_period": 0}, "votingPeriod"),
        ({"voting_period": 2**32}, "votingPeriod"),
        ({"quorum_bps": 0}, "quorumBps"),
        ({"quorum_bps": 10_001}, "quorumBps"),
        ({"threshold": 0}, "proposalThreshold"),
        ({"max_spec_bytes": 0}, "maxSpecBytes"),
        ({"max_spec_bytes": 65_537}, "maxSpecBytes"),
    ],
)
def test_constructor_rejects_invalid_parameters(project, deploy_dao, overrides, parameter):
    with reverts_with(
        project.SpheronDevsDAO, "SpheronDevsDAOInvalidParameter", parameter=parameter
    ):
        deploy_dao(**overrides)


def test_constructor_rejects_token_without_code(project, deploy_dao, outsider):
    with reverts_with(project.SpheronDevsDAO, "SpheronDevsDAOInvalidParameter", parameter="token"):
        deploy_dao(token=outsider.address)


@pytest.mark.parametrize("token_type", ["TimestampClockNFT", "NoClockNFT"])
def test_constructor_rejects_token_without_block_number_clock(
    project, deploy_dao, deployer, token_type
):
    """A clock in timestamps, or no `clock()` at all, gets the same named error."""
    token = deployer.deploy(getattr(project, token_type))
    with reverts_with(
        project.SpheronDevsDAO, "SpheronDevsDAOInvalidParameter", parameter="token clock"
    ):
        deploy_dao(token=token)


# --- createProposal ------------------------------------------------------------------------------


def test_create_proposal_records_snapshot_deadline_hash_and_emits_json(dao, members, chain):
    alice, _, _ = members
    receipt = dao.createProposal(SMALL_SPEC, sender=alice)
    block = chain.provider.get_block(receipt.block_number)
    proposal = dao.getProposal(1)
    assert dao.numProposals() == 1
    assert proposal.snapshot == receipt.block_number - 1
    assert proposal.deadline == block.timestamp + VOTING_PERIOD
    assert proposal.specHash == keccak(text=SMALL_SPEC)
    assert proposal.quorum == 2  # ceil(20 % of 6)
    assert (proposal.forVotes, proposal.againstVotes, proposal.abstainVotes) == (0, 0, 0)
    assert not proposal.executed
    [event] = dao.ProposalCreated.from_receipt(receipt)
    assert event.proposalId == 1
    assert event.proposer == alice
    assert event.snapshot == proposal.snapshot
    assert event.deadline == proposal.deadline
    assert event.specHash == keccak(text=SMALL_SPEC)
    assert event.spheronInstanceJson == SMALL_SPEC
    assert dao.quorum(1) == 2
    assert dao.state(1) == ACTIVE


def test_proposal_ids_are_sequential(dao, members, make_proposal):
    alice, bob, _ = members
    assert make_proposal(alice) == 1
    assert make_proposal(bob, spec=SMALL_SPEC.replace("web", "api")) == 2
    assert dao.numProposals() == 2
    assert dao.getProposal(2).specHash == keccak(text=SMALL_SPEC.replace("web", "api"))


def test_non_member_cannot_propose(dao, members, outsider):
    with reverts_with(
        dao, "SpheronDevsDAOInsufficientVotingPower", account=outsider.address, votes=0, threshold=1
    ):
        dao.createProposal(SMALL_SPEC, sender=outsider)


def test_threshold_counts_votes_at_snapshot(deploy_dao, members, alice, carol):
    dao = deploy_dao(threshold=2)
    with reverts_with(
        dao, "SpheronDevsDAOInsufficientVotingPower", account=carol.address, votes=1, threshold=2
    ):
        dao.createProposal(SMALL_SPEC, sender=carol)
    dao.createProposal(SMALL_SPEC, sender=alice)
    assert dao.numProposals() == 1


def test_snapshot_is_the_block_before_the_proposal(dao, mint, outsider, chain):
    """Votes bought in the proposal's own block (e.g. a flash loan) cannot count."""
    mint(outsider, 1)
    receipt = dao.createProposal(SMALL_SPEC, sender=outsider)
    assert dao.getProposal(1).snapshot == receipt.block_number - 1


def test_empty_spec_is_rejected(dao, members):
    with reverts_with(dao, "SpheronDevsDAOEmptySpec"):
        dao.createProposal("", sender=members[0])


def test_oversized_spec_is_rejected(deploy_dao, members):
    dao = deploy_dao(max_spec_bytes=100)
    dao.createProposal("x" * 100, sender=members[0])
    with reverts_with(dao, "SpheronDevsDAOSpecTooLarge", size=101, maxSize=100):
        dao.createProposal("x" * 101, sender=members[0])


def test_spec_size_is_counted_in_utf8_bytes(deploy_dao, members):
    dao = deploy_dao(max_spec_bytes=10)
    with reverts_with(dao, "SpheronDevsDAOSpecTooLarge", size=12, maxSize=10):
        dao.createProposal("ééééé" + "xx", sender=members[0])  # 7 characters, 12 bytes


def test_quorum_is_at_least_one_vote(deploy_dao, mint, alice):
    mint(alice, 1)
    dao = deploy_dao(quorum_bps=1)
    dao.createProposal(SMALL_SPEC, sender=alice)
    assert dao.getProposal(1).quorum == 1


# --- voteOnProposal ------------------------------------------------------------------------------


def test_vote_weight_is_snapshot_balance_and_emits_vote_cast(dao, members, make_proposal):
    alice, bob, carol = members
    pid = make_proposal(alice)
    receipt = dao.voteOnProposal(pid, FOR, sender=alice)
    [event] = dao.VoteCast.from_receipt(receipt)
    assert (event.voter, event.proposalId, event.support, event.weight) == (alice, pid, FOR, 3)
    dao.voteOnProposal(pid, AGAINST, sender=bob)
    dao.voteOnProposal(pid, ABSTAIN, sender=carol)
    proposal = dao.getProposal(pid)
    assert (proposal.forVotes, proposal.againstVotes, proposal.abstainVotes) == (3, 2, 1)
    assert dao.hasVoted(pid, alice)
    assert dao.hasVoted(pid, carol)


def test_vote_twice_reverts(dao, members, make_proposal):
    alice = members[0]
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, FOR, sender=alice)
    with reverts_with(dao, "SpheronDevsDAOAlreadyVoted", proposalId=pid, voter=alice.address):
        dao.voteOnProposal(pid, AGAINST, sender=alice)


def test_invalid_vote_type_reverts(dao, members, make_proposal):
    pid = make_proposal(members[0])
    with reverts_with(dao, "SpheronDevsDAOInvalidVoteType", support=3):
        dao.voteOnProposal(pid, 3, sender=members[0])


def test_outsider_has_no_voting_power(dao, members, make_proposal, outsider):
    pid = make_proposal(members[0])
    with reverts_with(dao, "SpheronDevsDAONoVotingPower", proposalId=pid, voter=outsider.address):
        dao.voteOnProposal(pid, FOR, sender=outsider)


def test_regression_buy_after_snapshot_adds_nothing(dao, members, make_proposal, mint, outsider):
    """Tutorial defect 2: tokens bought after the proposal counted."""
    alice = members[0]
    pid = make_proposal(alice)
    mint(outsider, 5)
    with reverts_with(dao, "SpheronDevsDAONoVotingPower", proposalId=pid, voter=outsider.address):
        dao.voteOnProposal(pid, FOR, sender=outsider)
    mint(alice, 5)
    receipt = dao.voteOnProposal(pid, FOR, sender=alice)
    assert dao.VoteCast.from_receipt(receipt)[0].weight == 3


def test_regression_transfer_and_revote(dao, nft, members, make_proposal, outsider):
    """Tutorial defect: a voter passes its tokens on and the receiver votes with them again."""
    alice, bob, _ = members
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, FOR, sender=alice)
    for token_id in (1, 2, 3):
        nft.transferFrom(alice, outsider, token_id, sender=alice)
    with reverts_with(dao, "SpheronDevsDAONoVotingPower", proposalId=pid, voter=outsider.address):
        dao.voteOnProposal(pid, FOR, sender=outsider)
    for token_id in (1, 2, 3):
        nft.transferFrom(outsider, bob, token_id, sender=outsider)
    receipt = dao.voteOnProposal(pid, AGAINST, sender=bob)
    assert dao.VoteCast.from_receipt(receipt)[0].weight == 2
    assert dao.getProposal(pid).forVotes == 3


def test_regression_vote_after_deadline(dao, members, make_proposal, end_voting):
    alice = members[0]
    pid = make_proposal(alice)
    deadline = dao.getProposal(pid).deadline
    end_voting()
    with reverts_with(dao, "SpheronDevsDAOVotingClosed", proposalId=pid, deadline=deadline):
        dao.voteOnProposal(pid, FOR, sender=alice)


def test_vote_at_the_deadline_is_accepted(dao, members, make_proposal, chain):
    alice = members[0]
    pid = make_proposal(alice)
    chain.pending_timestamp = dao.getProposal(pid).deadline
    dao.voteOnProposal(pid, FOR, sender=alice)
    assert dao.getProposal(pid).forVotes == 3


def test_vote_gas_does_not_grow_with_tokens_held(deploy_dao, mint, alice, bob, make_proposal):
    mint(alice, 1)
    mint(bob, 50)
    dao = deploy_dao()
    pid = make_proposal(alice, on=dao)
    gas_one = dao.voteOnProposal(pid, FOR, sender=alice).gas_used
    gas_fifty = dao.voteOnProposal(pid, AGAINST, sender=bob).gas_used
    assert abs(gas_one - gas_fifty) <= 100


# --- executeProposal -----------------------------------------------------------------------------


def test_execute_passed_proposal_emits_deploy_event_with_exact_json(
    dao, members, make_proposal, end_voting
):
    alice, bob, carol = members
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, FOR, sender=alice)
    dao.voteOnProposal(pid, AGAINST, sender=bob)
    end_voting()
    assert dao.state(pid) == SUCCEEDED
    receipt = dao.executeProposal(pid, SMALL_SPEC, sender=carol)
    [deploy] = dao.DeployEvent.from_receipt(receipt)
    assert deploy.proposalId == pid
    assert deploy._from == carol
    assert deploy.msg == "Deploy"
    assert deploy.spheronInstanceJson == SMALL_SPEC
    [executed] = dao.ProposalExecuted.from_receipt(receipt)
    assert (executed.proposalId, executed.passed) == (pid, True)
    assert dao.state(pid) == EXECUTED
    assert dao.getProposal(pid).executed


def test_execute_requires_the_exact_json(dao, members, make_proposal, end_voting):
    alice = members[0]
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, FOR, sender=alice)
    end_voting()
    tampered = json.dumps(json.loads(SMALL_SPEC) | {"clusterName": "miner"})
    with reverts_with(dao, "SpheronDevsDAOSpecMismatch", proposalId=pid):
        dao.executeProposal(pid, tampered, sender=alice)
    with reverts_with(dao, "SpheronDevsDAOSpecMismatch", proposalId=pid):
        dao.executeProposal(pid, SMALL_SPEC + " ", sender=alice)


def test_regression_no_quorum_one_yes_vote_does_not_pass(dao, members, make_proposal, end_voting):
    """Tutorial defect 1: one yes vote passed an unopposed proposal."""
    carol = members[2]  # 1 vote; quorum is 2
    pid = make_proposal(carol)
    dao.voteOnProposal(pid, FOR, sender=carol)
    end_voting()
    assert dao.state(pid) == DEFEATED
    receipt = dao.executeProposal(pid, SMALL_SPEC, sender=carol)
    assert dao.DeployEvent.from_receipt(receipt) == []
    [executed] = dao.ProposalExecuted.from_receipt(receipt)
    assert not executed.passed
    assert dao.state(pid) == DEFEATED
    assert dao.getProposal(pid).executed


def test_abstain_counts_toward_quorum(dao, members, make_proposal, end_voting):
    _, bob, carol = members
    pid = make_proposal(carol)
    dao.voteOnProposal(pid, FOR, sender=carol)
    dao.voteOnProposal(pid, ABSTAIN, sender=bob)
    end_voting()
    assert dao.state(pid) == SUCCEEDED


def test_majority_against_is_defeated_even_with_quorum(dao, members, make_proposal, end_voting):
    alice, bob, carol = members
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, FOR, sender=bob)
    dao.voteOnProposal(pid, AGAINST, sender=carol)
    dao.voteOnProposal(pid, AGAINST, sender=alice)
    end_voting()
    assert dao.state(pid) == DEFEATED


def test_regression_tie_is_defeated(deploy_dao, mint, alice, bob, make_proposal, end_voting):
    mint(alice, 2)
    mint(bob, 2)
    dao = deploy_dao()
    pid = make_proposal(alice, on=dao)
    dao.voteOnProposal(pid, FOR, sender=alice)
    dao.voteOnProposal(pid, AGAINST, sender=bob)
    end_voting()
    assert dao.state(pid) == DEFEATED
    receipt = dao.executeProposal(pid, SMALL_SPEC, sender=alice)
    assert not dao.ProposalExecuted.from_receipt(receipt)[0].passed


def test_regression_execute_unknown_id_reverts(dao, members, make_proposal, end_voting):
    """Tutorial defect 3: executing a future index marked it executed forever."""
    alice = members[0]
    with reverts_with(dao, "SpheronDevsDAONonexistentProposal", proposalId=1):
        dao.executeProposal(1, SMALL_SPEC, sender=alice)
    pid = make_proposal(alice)
    assert pid == 1
    with reverts_with(dao, "SpheronDevsDAONonexistentProposal", proposalId=0):
        dao.executeProposal(0, SMALL_SPEC, sender=alice)
    dao.voteOnProposal(pid, FOR, sender=alice)
    end_voting()
    receipt = dao.executeProposal(pid, SMALL_SPEC, sender=alice)
    assert len(dao.DeployEvent.from_receipt(receipt)) == 1


@pytest.mark.parametrize("view", ["state", "getProposal", "quorum"])
def test_views_revert_for_unknown_id(dao, view):
    with reverts_with(dao, "SpheronDevsDAONonexistentProposal", proposalId=5):
        getattr(dao, view)(5)


def test_has_voted_reverts_for_unknown_id(dao, alice):
    with reverts_with(dao, "SpheronDevsDAONonexistentProposal", proposalId=1):
        dao.hasVoted(1, alice)


def test_vote_on_unknown_id_reverts(dao, members):
    with reverts_with(dao, "SpheronDevsDAONonexistentProposal", proposalId=3):
        dao.voteOnProposal(3, FOR, sender=members[0])


def test_regression_execute_twice_reverts(dao, members, make_proposal, end_voting):
    alice = members[0]
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, FOR, sender=alice)
    end_voting()
    dao.executeProposal(pid, SMALL_SPEC, sender=alice)
    with reverts_with(dao, "SpheronDevsDAOAlreadyExecuted", proposalId=pid):
        dao.executeProposal(pid, SMALL_SPEC, sender=alice)


def test_regression_execute_before_deadline_reverts(dao, members, make_proposal, chain):
    alice = members[0]
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, FOR, sender=alice)
    deadline = dao.getProposal(pid).deadline
    chain.pending_timestamp = deadline
    with reverts_with(dao, "SpheronDevsDAOVotingNotEnded", proposalId=pid, deadline=deadline):
        dao.executeProposal(pid, SMALL_SPEC, sender=alice)


def test_execute_is_members_only(dao, members, make_proposal, end_voting, outsider):
    alice = members[0]
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, FOR, sender=alice)
    end_voting()
    with reverts_with(dao, "SpheronDevsDAONotMember", account=outsider.address):
        dao.executeProposal(pid, SMALL_SPEC, sender=outsider)


def test_member_who_delegated_away_can_still_execute(dao, nft, members, make_proposal, end_voting):
    alice, bob, _ = members
    pid = make_proposal(alice)
    dao.voteOnProposal(pid, FOR, sender=alice)
    nft.invoke_transaction("delegate", bob, sender=alice)
    end_voting()
    receipt = dao.executeProposal(pid, SMALL_SPEC, sender=alice)
    assert dao.ProposalExecuted.from_receipt(receipt)[0].passed


def test_state_moves_from_active_to_succeeded_to_executed(dao, members, make_proposal, end_voting):
    alice = members[0]
    pid = make_proposal(alice)
    assert dao.state(pid) == ACTIVE
    dao.voteOnProposal(pid, FOR, sender=alice)
    assert dao.state(pid) == ACTIVE
    end_voting()
    assert dao.state(pid) == SUCCEEDED
    dao.executeProposal(pid, SMALL_SPEC, sender=alice)
    assert dao.state(pid) == EXECUTED


def test_one_kilobyte_spec_round_trips(dao, members, end_voting):
    alice = members[0]
    spec = json.dumps({"padding": "é" * 400 + "x" * 200})
    dao.createProposal(spec, sender=alice)
    dao.voteOnProposal(1, FOR, sender=alice)
    end_voting()
    receipt = dao.executeProposal(1, spec, sender=alice)
    assert dao.DeployEvent.from_receipt(receipt)[0].spheronInstanceJson == spec


def test_nft_price_unchanged_by_dao(nft):
    assert nft.price() == NFT_PRICE
