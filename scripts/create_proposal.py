"""ape run create_proposal SPEC_FILE — propose deploying a Spheron instance spec (JSON), or updating
or closing an instance a proposal deployed (an envelope: {"action": "update"|"close", ...})."""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

import click
from ape.cli import account_option

from services.cli.command import DaoCommand
from services.cli.params import dao_option

if TYPE_CHECKING:
    from ape.api import AccountAPI, ProviderAPI


@click.command(
    cls=DaoCommand,
    short_help="Propose a deployment, update or close (JSON file or - for stdin).",
    help="""Propose deploying the Spheron instance described by SPEC_FILE (a JSON file, or - to
    read standard input), or, with an envelope, updating or closing the instance an earlier
    proposal deployed: {"action": "update", "target": 1, "changes": {"tag": "1.28"}} or
    {"action": "close", "target": 1}. An update is shown as what it changes in the instance as
    voted so far.

    The spec is validated here first (schema, limits, the DAO's maxSpecBytes), so an invalid one
    costs no gas. What goes on-chain is its canonical JSON (sorted keys, no whitespace, defaults
    omitted), so the on-chain hash is the one printed here. You need the DAO's proposal
    threshold in votes at the previous block. Secrets never go in a spec: use ${secret:NAME}
    references and give the deploy bot DAO_SECRET_NAME.

    Example: ape run create_proposal examples/web-service.json --network ethereum:sepolia
    --account alice
    """,
)
@account_option(prompt=False)
@dao_option()
@click.option("--dry-run", is_flag=True, help="Validate the spec only; send nothing.")
@click.argument("spec_file", type=click.File("rb"), metavar="SPEC_FILE")
def cli(
    spec_file: BinaryIO,
    dry_run: bool,
    account: AccountAPI | None,
    dao_address: str | None,
    provider: ProviderAPI,
):
    from services.chain.contracts import MissingAddressError, nft_at
    from services.cli.accounts import require_account
    from services.cli.contracts import open_dao
    from services.cli.errors import CliError
    from services.cli.output import fact, hex_hash
    from services.cli.transactions import chain_now, transact
    from services.common.formatting import format_when, plural
    from services.spec.model import MAX_SPEC_BYTES, SECRET_ENV_PREFIX, secret_names, spec_hash
    from services.spec.proposal import canonical_proposal_json, parse_proposal

    raw = spec_file.read()
    try:
        dao, source = open_dao(provider, dao_address)
    except MissingAddressError:
        if not dry_run:
            raise
        dao = None
    max_bytes = MAX_SPEC_BYTES if dao is None else int(dao.maxSpecBytes())
    proposal = parse_proposal(raw, max_bytes=max_bytes)
    text = canonical_proposal_json(proposal)
    size = len(text.encode("utf-8"))
    resulting = show_meaning(dao, proposal)
    fact("spec hash", hex_hash(spec_hash(text)))
    limit = "the default limit" if dao is None else "the DAO's limit"
    fact("spec size", f"{size} bytes as canonical JSON ({limit}: {max_bytes})")
    if resulting is not None and (names := secret_names(resulting)):
        variables = ", ".join(SECRET_ENV_PREFIX + name for name in names)
        fact("secrets", f"the deploy bot must have {variables} set (values never go on-chain)")

    if dry_run:
        click.echo("dry run: the proposal is valid; nothing was sent")
        if dao is None:
            click.echo(f"(no DAO address for this network: checked against {max_bytes} bytes)")
        elif account is not None:
            votes = int(nft_at(dao.token()).getVotes(account.address))
            needed = int(dao.proposalThreshold())
            verdict = "can propose" if votes >= needed else "cannot propose yet"
            fact(
                "proposer",
                f"{account.address} has {plural(votes, 'vote')}, {needed} needed: {verdict}",
            )
        return

    proposer = require_account(account)
    fact("DAO", f"{dao.address} (from {source})")
    receipt = transact(dao, "createProposal", text, sender=proposer)
    created = dao.ProposalCreated.from_receipt(receipt)[0]
    if bytes(created.specHash) != spec_hash(text):  # the contract hashes exactly what was sent
        raise CliError(f"proposal {created.proposalId}: the on-chain spec hash differs from ours")
    fact(
        f"proposal {created.proposalId}",
        f"created by {created.proposer} (tx {hex_hash(receipt.txn_hash)}, "
        f"block {receipt.block_number})",
    )
    fact("snapshot", f"block {created.snapshot} (voting power is counted at this block)")
    fact("voting closes", format_when(int(created.deadline), chain_now()))
    click.echo(
        f"next: ape run vote {created.proposalId} yay|nay|abstain; after the deadline: "
        f"ape run execute {created.proposalId}"
    )


def show_meaning(dao, proposal):
    """Print what a vote on `proposal` means; return the spec it would lead to (None if unknown).

    An update is checked against the instance as voted so far: a result that breaks the spec
    rules is refused here (the bot would refuse it), costing no gas."""
    from services.chain.voted_state import voted_state
    from services.cli.output import fact
    from services.spec.model import InstanceSpec
    from services.spec.proposal import UpdateProposal, apply_changes, describe_proposal

    if isinstance(proposal, InstanceSpec):
        fact("proposal", describe_proposal(proposal))
        return proposal
    state = voted_state(dao, proposal.target) if dao is not None else None
    deployed = None if state is None or state.closed_by is not None else state.spec
    fact("proposal", describe_proposal(proposal, deployed))
    if state is not None:
        fact(f"instance of proposal {proposal.target}", state.describe())
        if state.problem or state.closed_by is not None:
            click.echo(
                "warning: unless that changes before this proposal is executed, the deploy bot "
                "will reject it"
            )
    if isinstance(proposal, UpdateProposal) and deployed is not None:
        return apply_changes(deployed, proposal.changes)
    return None
