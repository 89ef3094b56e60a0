// What a vote on a proposal means, as the scripts say it (status, create_proposal): "deploy …",
// "update the instance of proposal 1: tag 1.27 → 1.28, replicas 2 → 3", "close the instance of
// proposal 1", measured against the target's instance as voted on chain before this proposal;
// and the elements that show it (all text: every string comes from the chain).
import type { JsonObject } from "../spec/json";
import { type Meaning, type ProposalCheck, describeProposal } from "../spec/proposal";
import type { ProposalRecord } from "../chain/dao";
import { type DeployRecord, type VotedState, checkOnChain, deployedSpec, votedState } from "../spec/voted";
import { type SpecProblem, checkSpec } from "../spec/validate";
import { h } from "./dom";

/** A valid proposal read against the chain: its meaning and, for an envelope, its target's state. */
export interface Reading {
  check: ProposalCheck;
  meaning: Meaning | null;
  /** The target's instance as voted before this proposal (envelopes only). */
  target: VotedState | null;
  /** What became of the instance this proposal deployed, as voted since (executed deploys only). */
  instance: VotedState | null;
}

/** The words the deploy bot's refusal of an envelope hangs on, as create_proposal prints them. */
export const REJECTION_WARNING = "warning: unless that changes before this proposal is executed, the deploy bot will reject it";

/** Read `check` (the proposal of id `id`, or a new one when null) against the DeployEvents. */
export function readProposal(check: ProposalCheck, events: readonly DeployRecord[] | null, id: bigint | null): Reading {
  if (!check.ok) return { check, meaning: null, target: null, instance: null };
  if (check.kind === "deploy") {
    const deployed = id !== null && events?.some((event) => event.proposalId === id);
    return { check, meaning: describeProposal(check), target: null, instance: deployed && events ? votedState(events, id) : null };
  }
  if (events === null) return { check, meaning: describeProposal(check), target: null, instance: null };
  const target = votedState(events, check.target, id);
  return { check, meaning: describeProposal(check, deployedSpec(target)), target, instance: null };
}

/** The latest reading of each proposal on chain: the DeployEvents only grow, so a reading holds
 * until their number changes (the page redraws on every block). */
const readings = new Map<string, { events: number; reading: Reading }>();

/** The reading of proposal `p` as created on chain (null when its JSON was not found). */
export function readOnChain(p: ProposalRecord, events: readonly DeployRecord[]): Reading | null {
  if (!p.creation) return null;
  const key = `${p.id}:${p.creation.specJson}`;
  const known = readings.get(key);
  if (known?.events === events.length) return known.reading;
  const reading = readProposal(checkOnChain(p.creation.specJson), events, p.id);
  readings.set(key, { events: events.length, reading });
  return reading;
}

/** The one line of a reading, as `ape run status` prints after "means:". */
export function meaningText(reading: Reading): string {
  if (!reading.check.ok) return "invalid spec (the bot will refuse it)";
  const meaning = reading.meaning;
  if (!meaning) return "";
  if (meaning.ok) return meaning.text;
  const first = meaning.problems[0];
  return `INVALID against the instance as voted: ${first ? `${first.path}: ${first.message}` : ""}`;
}

/** Whether the bot would refuse the target as it stands (unknown, not a deployment, or closed). */
export function targetRefused(state: VotedState | null): boolean {
  return state !== null && (state.problem !== null || state.closedBy !== null);
}

/** The problems of an update whose result breaks the spec rules, if it does. */
export function meaningProblems(reading: Reading): SpecProblem[] {
  return reading.meaning && !reading.meaning.ok ? reading.meaning.problems : [];
}

/** The canonical JSON of the spec a valid reading leads to (for the operator's policy). */
export function resultingSpec(reading: Reading): { spec: JsonObject; canonical: string } | null {
  const after = reading.meaning?.ok ? reading.meaning.after : null;
  if (!after) return null;
  const check = checkSpec(JSON.stringify(after), Number.MAX_SAFE_INTEGER);
  return check.ok ? { spec: check.spec, canonical: check.canonical } : null;
}

/** A link to proposal `id`'s page. */
export function proposalLink(id: bigint): HTMLElement {
  return h("a", { href: `#/proposal/${id}` }, `proposal ${id}`);
}

/** "instance of proposal 1: deployed by proposal 1; updated by proposal 3", with links. */
export function votedStateLine(state: VotedState, testid: string, className = "note"): HTMLElement {
  const parts: (Node | string)[] = [];
  if (state.problem) {
    parts.push(state.problem);
  } else {
    parts.push("deployed by ", proposalLink(state.target));
    if (state.updatedBy.length) {
      parts.push("; updated by ");
      state.updatedBy.forEach((id, index) => parts.push(index ? ", " : "", proposalLink(id)));
    }
    if (state.closedBy !== null) parts.push("; closed by ", proposalLink(state.closedBy));
  }
  // Reads as describeVotedState(state), with each proposal a link.
  return h("p", { class: className, testid }, "instance of ", proposalLink(state.target), ": ", parts);
}
