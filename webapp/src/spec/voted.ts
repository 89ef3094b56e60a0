// What the DAO voted for an instance, as services/chain/voted_state.py `replay` reads it from the
// DAO's DeployEvents: the spec its deploy proposal emitted, with every executed update applied in
// execution order, and whether an executed close ended it. The page uses it to say what a vote on
// an update means (a diff against this state) and to warn about a target the bot would reject.
import type { JsonObject } from "./json";
import { type ProposalCheck, applyChanges, checkProposal } from "./proposal";
import { SPEC_LIMITS } from "./validate";

/** One DeployEvent: the executed proposal and the JSON it carried, in execution order. */
export interface DeployRecord {
  proposalId: bigint;
  json: string;
}

/** The instance of proposal `target` as voted. `spec` is null when the target never emitted a
 * valid deployment; `problem` then says why. */
export interface VotedState {
  target: bigint;
  spec: JsonObject | null;
  updatedBy: bigint[];
  closedBy: bigint | null;
  problem: string | null;
}

/** Checks by JSON text: an event never changes, and the page replays on every block. */
const checked = new Map<string, ProposalCheck>();

/** A proposal's JSON as emitted on chain, checked (once per text). Any size the contract let
 * through is read, as the bot does. */
export function checkOnChain(json: string): ProposalCheck {
  let result = checked.get(json);
  if (result === undefined) {
    result = checkProposal(json, SPEC_LIMITS.maxDaoSpecBytes);
    checked.set(json, result);
  }
  return result;
}

/** Replay `events` for the instance of `target`; with `before`, stop at that proposal's event
 * (the state its vote was about). Invalid events, updates after a close and updates whose result
 * breaks the spec rules are skipped, as the bot rejects them. */
export function votedState(events: readonly DeployRecord[], target: bigint, before: bigint | null = null): VotedState {
  const state: VotedState = { target, spec: null, updatedBy: [], closedBy: null, problem: null };
  for (const event of events) {
    if (event.proposalId === before) break;
    const proposal = checkOnChain(event.json);
    if (!proposal.ok) continue;
    if (event.proposalId === target) {
      if (proposal.kind === "deploy") {
        state.spec = proposal.spec;
      } else {
        state.problem = `proposal ${target} is itself ${/^[aeiou]/.test(proposal.kind) ? "an" : "a"} ${proposal.kind}, not a deployment`;
        return state;
      }
    } else if (proposal.kind !== "deploy" && proposal.target === target && state.spec !== null) {
      if (state.closedBy !== null) continue;
      if (proposal.kind === "close") {
        state.closedBy = event.proposalId;
      } else {
        const applied = applyChanges(state.spec, proposal.changes);
        if (!applied.ok) continue;
        state.spec = applied.spec;
        state.updatedBy.push(event.proposalId);
      }
    }
  }
  if (state.spec === null && state.problem === null) {
    state.problem = `proposal ${target} has not deployed anything (no executed deployment)`;
  }
  return state;
}

/** "deployed by proposal 1; updated by proposal 3; closed by proposal 4", or the problem. */
export function describeVotedState(state: VotedState): string {
  if (state.problem) return state.problem;
  const parts = [`deployed by proposal ${state.target}`];
  if (state.updatedBy.length) parts.push(`updated by ${state.updatedBy.map((id) => `proposal ${id}`).join(", ")}`);
  if (state.closedBy !== null) parts.push(`closed by proposal ${state.closedBy}`);
  return parts.join("; ");
}

/** The spec an envelope's vote is measured against: none once the instance is closed. */
export function deployedSpec(state: VotedState): JsonObject | null {
  return state.closedBy === null ? state.spec : null;
}
