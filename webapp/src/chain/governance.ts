// The DAO's rules as the page applies them before offering an action: proposal states, the
// outcome, and whether this member may vote, execute or propose now, with the reason if not.
// The contract is the authority; these checks only spare a member a transaction that would
// revert (each action is also simulated before it is sent).
import type { Address } from "viem";
import { formatWhen, plural } from "../format";
import { describeError } from "../reverts";
import type { Head, MemberFacts, ProposalRecord } from "./dao";

export type ProposalState = "Active" | "Defeated" | "Succeeded" | "Executed";

/** Vote names by the contract's VoteType (0 Against, 1 For, 2 Abstain). */
export const SUPPORT_NAMES = ["Against", "For", "Abstain"] as const;
export const VOTE_FOR = 1;
export const VOTE_AGAINST = 0;
export const VOTE_ABSTAIN = 2;

/** Best estimate of the next block's time: the later of the head's time (advanced by the time
 * since it was read) and the wall clock, as the scripts' chain_now does. */
export function chainNow(head: Head, nowMs = Date.now()): bigint {
  const elapsed = BigInt(Math.max(0, Math.floor((nowMs - head.seenAtMs) / 1000)));
  const wall = BigInt(Math.floor(nowMs / 1000));
  const advanced = head.timestamp + elapsed;
  return advanced > wall ? advanced : wall;
}

export function quorumReached(p: ProposalRecord): boolean {
  return p.forVotes + p.abstainVotes >= p.quorum;
}

/** The contract's rule: quorum (For + Abstain) reached and more For than Against. */
export function passes(p: ProposalRecord): boolean {
  return p.forVotes > p.againstVotes && quorumReached(p);
}

/** SpheronDevsDAO.state at time `now` (the contract's own view answers for the last block). */
export function proposalState(p: ProposalRecord, now: bigint): ProposalState {
  if (p.executed) return p.passed ? "Executed" : "Defeated";
  if (now <= p.deadline) return "Active";
  return passes(p) ? "Succeeded" : "Defeated";
}

/** Why a proposal passes or not, in words. */
export function outcome(p: ProposalRecord, now: bigint): string {
  const open = !p.executed && now <= p.deadline;
  if (p.executed) return p.passed ? "passed and executed: DeployEvent emitted" : "did not pass; closed";
  if (passes(p)) return open ? "passing so far" : "passed: execute it to emit the DeployEvent";
  const reasons = [];
  if (!quorumReached(p)) reasons.push(`quorum not reached (${p.forVotes + p.abstainVotes} of ${p.quorum})`);
  if (p.forVotes <= p.againstVotes) reasons.push("For does not outnumber Against");
  return `${open ? "not passing so far" : "did not pass"}: ${reasons.join("; ")}`;
}

export interface Permission {
  allowed: boolean;
  /** Short reason shown next to a disabled button ("voting closed"). */
  reason: string;
  /** The longer explanation, in the scripts' words where they have one. */
  detail?: string;
}

/** The member's connection as far as sending goes. */
export type Signer = { kind: "none" } | { kind: "wrong-network" } | { kind: "ready"; address: Address };

function needsSigner(signer: Exclude<Signer, { kind: "ready" }>, what: string): Permission {
  return signer.kind === "none"
    ? { allowed: false, reason: `connect a wallet to ${what}` }
    : { allowed: false, reason: `switch your wallet's network to ${what}` };
}

export function votePermission(p: ProposalRecord, member: MemberFacts | null, signer: Signer, now: bigint): Permission {
  if (p.executed || now > p.deadline) {
    return {
      allowed: false,
      reason: "voting closed",
      detail: describeError("SpheronDevsDAOVotingClosed", { proposalId: p.id, deadline: p.deadline }, { now }),
    };
  }
  if (signer.kind !== "ready") return needsSigner(signer, "vote");
  const previous = p.votes.find((vote) => vote.voter === signer.address);
  if (previous) {
    return {
      allowed: false,
      reason: `already voted ${SUPPORT_NAMES[previous.support] ?? previous.support}`,
      detail: describeError("SpheronDevsDAOAlreadyVoted", { proposalId: p.id, voter: signer.address }),
    };
  }
  const weight = member?.votesAtSnapshot.get(p.id) ?? 0n;
  if (weight === 0n) {
    return {
      allowed: false,
      reason: `no voting power at block ${p.snapshot}`,
      detail: describeError("SpheronDevsDAONoVotingPower", { proposalId: p.id, voter: signer.address }),
    };
  }
  return { allowed: true, reason: `you vote with ${plural(weight, "vote")} (held at block ${p.snapshot})` };
}

export function executePermission(p: ProposalRecord, member: MemberFacts | null, signer: Signer, now: bigint): Permission {
  if (p.executed) {
    return { allowed: false, reason: "already executed", detail: describeError("SpheronDevsDAOAlreadyExecuted", { proposalId: p.id }) };
  }
  if (now <= p.deadline) {
    return {
      allowed: false,
      reason: `voting is open until ${formatWhen(p.deadline, now)}`,
      detail: describeError("SpheronDevsDAOVotingNotEnded", { proposalId: p.id, deadline: p.deadline }, { now }),
    };
  }
  if (!p.creation) {
    return { allowed: false, reason: "the proposal's JSON was not found in its ProposalCreated event" };
  }
  if (signer.kind !== "ready") return needsSigner(signer, "execute");
  if (!member || member.tokens === 0n) {
    return {
      allowed: false,
      reason: "only members can execute",
      detail: describeError("SpheronDevsDAONotMember", { account: signer.address }),
    };
  }
  return { allowed: true, reason: passes(p) ? "executing emits the DeployEvent" : "executing closes it without deploying" };
}

export function proposePermission(member: MemberFacts | null, signer: Signer, threshold: bigint): Permission {
  if (signer.kind !== "ready") return needsSigner(signer, "propose");
  const votes = member?.votes ?? 0n;
  if (votes < threshold) {
    return {
      allowed: false,
      reason: `you have ${plural(votes, "vote")}; ${threshold} needed to propose`,
      detail: describeError("SpheronDevsDAOInsufficientVotingPower", { account: signer.address, votes, threshold }),
    };
  }
  return { allowed: true, reason: `you have ${plural(votes, "vote")}; ${threshold} needed to propose` };
}
