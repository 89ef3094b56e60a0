"""ape run status [PROPOSAL_ID] — the DAO and its proposals (read-only, no account needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from services.cli.command import DaoCommand
from services.cli.params import dao_option

if TYPE_CHECKING:
    from ape.api import ProviderAPI
    from ape.contracts import ContractInstance


@click.command(
    cls=DaoCommand,
    short_help="Show the DAO and its proposals (read-only).",
    help="""Show the DAO's rules and its proposals: state, For/Against/Abstain against the
    quorum, snapshot block, deadline, whether executed, and the spec each one carries.

    PROPOSAL_ID shows one proposal; without it the newest --limit proposals are shown, newest
    first. Reads only: no account and no gas needed.

    Example: ape run status --network ethereum:sepolia
    """,
)
@dao_option()
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many of the newest proposals to show when no PROPOSAL_ID is given.",
)
@click.argument("proposal_id", type=click.IntRange(min=1), required=False)
def cli(proposal_id: int | None, limit: int, dao_address: str | None, provider: ProviderAPI):
    from services.chain.contracts import nft_at, require_proposal
    from services.cli.contracts import open_dao
    from services.cli.output import fact
    from services.cli.transactions import chain_now
    from services.common.formatting import format_duration, format_ether, plural

    dao, source = open_dao(provider, dao_address)
    nft = nft_at(dao.token())  # the DAO's own token, whatever NFT_CONTRACT_ADDRESS says
    count = int(dao.numProposals())
    fact("network", provider.network_choice)
    fact("DAO", f"{dao.address} (from {source})")
    fact(
        "NFT",
        f"{nft.address}: {nft.totalSupply()} of {nft.maxSupply()} minted, price "
        f"{format_ether(nft.price())}{', minting paused' if nft.paused() else ''}",
    )
    fact(
        "rules",
        f"voting period {format_duration(dao.votingPeriod())}, quorum "
        f"{dao.quorumBps() / 100:g}% of the supply at the snapshot, proposal threshold "
        f"{dao.proposalThreshold()}, max spec {dao.maxSpecBytes()} bytes",
    )
    fact("proposals", count)
    now = chain_now()
    if proposal_id is not None:
        require_proposal(dao, proposal_id)
        _show(dao, proposal_id, now)
        return
    for shown in range(count, max(count - limit, 0), -1):
        _show(dao, shown, now)
    if count > limit:
        hidden = plural(count - limit, "older proposal")
        click.echo(f"({hidden} not shown; raise --limit or give an id)")


def _show(dao: ContractInstance, proposal_id: int, now: int) -> None:
    from services.chain.contracts import ProposalSpecError, proposal_created, read_proposal
    from services.chain.voted_state import voted_state
    from services.common.formatting import format_when
    from services.spec.model import InstanceSpec, SpecError
    from services.spec.proposal import describe_proposal, parse_proposal

    info = read_proposal(dao, proposal_id)
    click.echo(f"proposal {proposal_id}: {info.state}")
    reached = "reached" if info.quorum_reached else "not reached"
    click.echo(
        f"  votes: for {info.for_votes}, against {info.against_votes}, abstain "
        f"{info.abstain_votes}; quorum {info.quorum} ({reached})"
    )
    click.echo(f"  snapshot: block {info.snapshot}")
    closed = "voting open until" if now < info.deadline else "voting closed at"
    click.echo(f"  deadline: {closed} {format_when(info.deadline, now)}")
    executed = "no"
    if info.executed:
        executed = "yes, passed (DeployEvent emitted)" if info.passed else "yes, did not pass"
    click.echo(f"  executed: {executed}")
    try:
        creation = proposal_created(dao, proposal_id, info)
    except ProposalSpecError as exc:
        click.echo(f"  spec: unavailable: {exc}")
        return
    click.echo(f"  proposer: {creation.proposer}")
    try:
        proposal = parse_proposal(creation.spec_json, max_bytes=int(dao.maxSpecBytes()))
    except SpecError as exc:
        more = f" (+{len(exc.errors) - 1} more)" if len(exc.errors) > 1 else ""
        click.echo(f"  spec: INVALID, the deploy bot will refuse it: {exc.errors[0]}{more}")
    else:
        deployed = None
        if not isinstance(proposal, InstanceSpec):
            state = voted_state(dao, proposal.target, before=proposal_id)
            deployed = None if state.closed_by is not None else state.spec
        try:
            click.echo(f"  means: {describe_proposal(proposal, deployed)}")
        except SpecError as exc:
            click.echo(f"  means: INVALID against the instance as voted: {exc.errors[0]}")
    click.echo(f"  spec hash: {info.spec_hash}")
