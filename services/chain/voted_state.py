"""What the DAO voted for an instance, read from the chain: the spec its deploy proposal emitted,
with every executed update applied in execution order, and whether an executed close ended it.

The scripts use it to say what a vote on an update means ("tag 1.27 → 1.28") and to warn about a
target that cannot be changed; the bot keeps the same state in its ledger from the same events.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from services.spec.model import MAX_DAO_SPEC_BYTES, InstanceSpec, SpecError
from services.spec.proposal import (
    CloseProposal,
    UpdateProposal,
    apply_changes,
    parse_proposal,
)

if TYPE_CHECKING:
    from ape.contracts import ContractInstance


@dataclass
class VotedState:
    """The instance of proposal `target` as voted. `spec` is None when the target never emitted a
    valid deployment; `problem` then says why."""

    target: int
    spec: InstanceSpec | None = None
    updated_by: list[int] = field(default_factory=list)
    closed_by: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        if self.problem:
            return self.problem
        parts = [f"deployed by proposal {self.target}"]
        if self.updated_by:
            parts.append("updated by " + ", ".join(f"proposal {p}" for p in self.updated_by))
        if self.closed_by is not None:
            parts.append(f"closed by proposal {self.closed_by}")
        return "; ".join(parts)


def voted_state(dao: ContractInstance, target: int, *, before: int | None = None) -> VotedState:
    """Replay the DAO's `DeployEvent`s (from its deployment block) for the instance of `target`;
    with `before`, stop at the execution of that proposal (the state its vote was about)."""
    from ape import chain

    head = int(chain.blocks.head.number)
    logs = dao.DeployEvent.range(int(dao.deploymentBlock()), head + 1)
    events = ((int(log.proposalId), str(log.spheronInstanceJson)) for log in logs)
    return replay(events, target, before=before)


def replay(
    events: Iterable[tuple[int, str]], target: int, *, before: int | None = None
) -> VotedState:
    """The voted state of `target`'s instance from `(proposal id, JSON)` of each `DeployEvent`, in
    execution order; with `before`, stop at that proposal's event. (The web app replays the same
    events in the browser; tests/webapp/test_agreement.py proves both agree.)

    Events whose JSON is not a valid proposal are skipped, as the bot rejects them; updates after
    a close, or whose result breaks the spec rules, are skipped too (the bot rejects them).
    """
    state = VotedState(target=target)
    for proposal_id, spec_json in events:
        if proposal_id == before:
            break
        try:
            proposal = parse_proposal(spec_json, max_bytes=MAX_DAO_SPEC_BYTES)
        except SpecError:
            continue
        if proposal_id == target:
            if isinstance(proposal, InstanceSpec):
                state.spec = proposal
            else:
                state.problem = (
                    f"proposal {target} is itself {_a(proposal.action)}, not a deployment"
                )
                return state
        elif getattr(proposal, "target", None) == target and state.spec is not None:
            if state.closed_by is not None:
                continue
            if isinstance(proposal, CloseProposal):
                state.closed_by = proposal_id
            elif isinstance(proposal, UpdateProposal):
                try:
                    state.spec = apply_changes(state.spec, proposal.changes)
                except SpecError:
                    continue
                state.updated_by.append(proposal_id)
    if state.spec is None and state.problem is None:
        state.problem = f"proposal {target} has not deployed anything (no executed deployment)"
    return state


def _a(kind: str) -> str:
    """``an update``, ``a close``."""
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
