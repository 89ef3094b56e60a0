"""ape run execute PROPOSAL_ID — close a proposal after its deadline (DeployEvent if it passed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from ape.cli import account_option

from services.cli.command import DaoCommand
from services.cli.params import dao_option

if TYPE_CHECKING:
    from ape.api import AccountAPI, ProviderAPI


@click.command(
    cls=DaoCommand,
    short_help="Execute a proposal after its deadline (emits DeployEvent if it passed).",
    help="""Execute proposal PROPOSAL_ID once its voting deadline has passed.

    The exact JSON the proposal was created with is read from its ProposalCreated event and
    checked against the stored hash. A proposal passes when the quorum is reached (For + Abstain)
    and For > Against; then the DAO emits DeployEvent and the deploy bot creates the instance.
    Either way the proposal is closed: each proposal executes once. Members only.

    Example: ape run execute 3 --network ethereum:sepolia --account alice
    """,
)
@account_option(prompt=False)
@dao_option()
@click.argument("proposal_id", type=click.IntRange(min=1))
def cli(
    proposal_id: int,
    account: AccountAPI | None,
    dao_address: str | None,
    provider: ProviderAPI,
):
    from services.chain.contracts import proposal_created, read_proposal, require_proposal
    from services.chain.voted_state import voted_state
    from services.cli.accounts import require_account
    from services.cli.contracts import open_dao
    from services.cli.errors import CliError
    from services.cli.output import fact, hex_hash
    from services.cli.transactions import chain_now, transact
    from services.common.formatting import format_when
    from services.spec.model import InstanceSpec, SpecError, spec_hash
    from services.spec.proposal import describe_proposal, parse_proposal

    dao, source = open_dao(provider, dao_address)
    require_proposal(dao, proposal_id)
    info = read_proposal(dao, proposal_id)
    if info.executed:
        outcome = "it passed and its DeployEvent was emitted" if info.passed else "it did not pass"
        raise CliError(f"proposal {proposal_id} was already executed ({outcome})")
    creation = proposal_created(dao, proposal_id, info)
    executor = require_account(account)

    fact("DAO", f"{dao.address} (from {source})")
    receipt = transact(dao, "executeProposal", proposal_id, creation.spec_json, sender=executor)
    fact("deadline", f"passed at {format_when(info.deadline, chain_now())}")
    executed = dao.ProposalExecuted.from_receipt(receipt)[0]
    after = read_proposal(dao, proposal_id)
    verdict = "passed" if executed.passed else "did not pass"
    reasons = (
        f"for {after.for_votes}, against {after.against_votes}, abstain {after.abstain_votes}; "
        f"quorum {after.quorum} {'reached' if after.quorum_reached else 'not reached'}"
    )
    fact(f"proposal {proposal_id}", f"{verdict} ({reasons})")
    fact("executed in", f"tx {hex_hash(receipt.txn_hash)}, block {receipt.block_number}")
    deploys = dao.DeployEvent.from_receipt(receipt)
    if not deploys:
        click.echo("DeployEvent: none (the proposal did not pass; nothing will be deployed)")
        return
    event = deploys[0]
    text = str(event.spheronInstanceJson)
    fact(
        "DeployEvent",
        f"proposal {event.proposalId} from {event._from} msg {str(event.msg)!r}",
    )
    fact("spec hash", hex_hash(spec_hash(text)))
    try:
        proposal = parse_proposal(text, max_bytes=int(dao.maxSpecBytes()))
        deployed = None
        if not isinstance(proposal, InstanceSpec):
            state = voted_state(dao, proposal.target, before=proposal_id)
            deployed = None if state.closed_by is not None else state.spec
        meaning = describe_proposal(proposal, deployed)
    except SpecError as exc:
        fact("spec", f"INVALID, the deploy bot will refuse it: {exc.errors[0]}")
    else:
        fact("means", meaning)
        click.echo("next: the deploy bot carries this out on Spheron")
