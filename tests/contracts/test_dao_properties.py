"""Property test over random member sets and votes: tallies equal the sum of snapshot weights, and
`passed` matches quorum and majority."""

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SMALL_SPEC

AGAINST, FOR, ABSTAIN = 0, 1, 2

member_sets = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=4),  # tokens held at the snapshot
        st.sampled_from([None, AGAINST, FOR, ABSTAIN]),  # vote, or no vote
        st.integers(min_value=0, max_value=3),  # tokens bought after the snapshot
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(holders=member_sets, quorum_bps=st.integers(min_value=1, max_value=10_000))
def test_tallies_and_outcome_match_snapshot_weights(
    chain, accounts, deploy_dao, mint, end_voting, holders, quorum_bps
):
    with chain.isolate():
        voters = accounts[1 : 1 + len(holders)]
        for account, (held, _, _) in zip(voters, holders, strict=True):
            mint(account, held)
        dao = deploy_dao(quorum_bps=quorum_bps)
        dao.createProposal(SMALL_SPEC, sender=voters[0])
        for account, (_, _, bought_later) in zip(voters, holders, strict=True):
            if bought_later:
                mint(account, bought_later)

        expected = {AGAINST: 0, FOR: 0, ABSTAIN: 0}
        for account, (held, vote, _) in zip(voters, holders, strict=True):
            if vote is not None:
                receipt = dao.voteOnProposal(1, vote, sender=account)
                assert dao.VoteCast.from_receipt(receipt)[0].weight == held
                expected[vote] += held

        proposal = dao.getProposal(1)
        assert proposal.forVotes == expected[FOR]
        assert proposal.againstVotes == expected[AGAINST]
        assert proposal.abstainVotes == expected[ABSTAIN]

        supply = sum(held for held, _, _ in holders)
        quorum = max(1, math.ceil(supply * quorum_bps / 10_000))
        assert proposal.quorum == quorum
        should_pass = (
            expected[FOR] + expected[ABSTAIN] >= quorum and expected[FOR] > expected[AGAINST]
        )

        end_voting()
        receipt = dao.executeProposal(1, SMALL_SPEC, sender=voters[0])
        assert bool(dao.ProposalExecuted.from_receipt(receipt)[0].passed) == should_pass
        assert len(dao.DeployEvent.from_receipt(receipt)) == int(should_pass)
