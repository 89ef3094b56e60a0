"""ape run vote PROPOSAL_ID yay|nay|abstain — vote with the NFTs held at the proposal's snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from ape.cli import account_option

from services.cli.command import DaoCommand
from services.cli.params import VoteChoice, dao_option

if TYPE_CHECKING:
    from ape.api import AccountAPI, ProviderAPI


@click.command(
    cls=DaoCommand,
    short_help="Vote on a proposal: yay, nay or abstain.",
    help="""Vote on proposal PROPOSAL_ID with CHOICE: yay (also yes/for), nay (also no/against)
    or abstain.

    Your weight is the number of SpheronDevsNFT votes you held at the proposal's snapshot (the
    block before it was created); tokens received later do not count. One vote per account per
    proposal, while voting is open. Abstain counts toward the quorum but not for or against.

    Example: ape run vote 3 yay --network ethereum:sepolia --account alice
    """,
)
@account_option(prompt=False)
@dao_option()
@click.argument("proposal_id", type=click.IntRange(min=1))
@click.argument("choice", type=VoteChoice())
def cli(
    proposal_id: int,
    choice: int,
    account: AccountAPI | None,
    dao_address: str | None,
    provider: ProviderAPI,
):
    from services.chain.contracts import nft_at, read_proposal, require_proposal
    from services.cli.accounts import require_account
    from services.cli.contracts import open_dao
    from services.cli.error_catalogue import RevertContext, describe_custom_error
    from services.cli.errors import CliError
    from services.cli.output import fact, hex_hash
    from services.cli.params import VOTE_NAMES
    from services.cli.transactions import chain_now, latest_block_time, transact
    from services.common.formatting import format_when, plural

    dao, source = open_dao(provider, dao_address)
    require_proposal(dao, proposal_id)
    info = read_proposal(dao, proposal_id)
    voter = require_account(account)
    if latest_block_time() > info.deadline:
        raise CliError(
            describe_custom_error(
                "SpheronDevsDAOVotingClosed",
                {"proposalId": proposal_id, "deadline": info.deadline},
                RevertContext(now=chain_now()),
            )
        )
    if dao.hasVoted(proposal_id, voter.address):
        raise CliError(f"{voter.address} already voted on proposal {proposal_id}")
    nft = nft_at(dao.token())  # the DAO's own token, whatever NFT_CONTRACT_ADDRESS says
    weight = int(nft.getPastVotes(voter.address, info.snapshot))
    if weight == 0:
        raise CliError(
            f"no voting power: {voter.address} had no SpheronDevsNFT votes at the snapshot of "
            f"proposal {proposal_id} (block {info.snapshot}); tokens received after the proposal "
            "was created do not count"
        )

    fact("DAO", f"{dao.address} (from {source})")
    receipt = transact(dao, "voteOnProposal", proposal_id, choice, sender=voter)
    cast = dao.VoteCast.from_receipt(receipt)[0]
    fact(
        "voted",
        f"{VOTE_NAMES[int(cast.support)]} on proposal {proposal_id} with "
        f"{plural(int(cast.weight), 'vote')} (tx {hex_hash(receipt.txn_hash)}, "
        f"block {receipt.block_number})",
    )
    after = read_proposal(dao, proposal_id)
    reached = "reached" if after.quorum_reached else "not reached yet"
    fact(
        "tally",
        f"for {after.for_votes}, against {after.against_votes}, abstain {after.abstain_votes}; "
        f"quorum {after.quorum} ({reached})",
    )
    fact("voting closes", format_when(after.deadline, chain_now()))
