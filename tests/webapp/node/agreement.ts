// The browser's checks of what a proposal carries (a spec, an update or close envelope), their
// canonical form, hash and meaning, the voted state of an instance, and the revert messages, run
// in node on inputs from tests/webapp/test_agreement.py, which compares them with Python's. Reads
// one JSON request on stdin and writes one JSON answer on stdout.
import { keccak256, stringToBytes } from "viem";
import { describeError, type ErrorArgs } from "../../../webapp/src/reverts";
import { checkProposal, describeProposal } from "../../../webapp/src/spec/proposal";
import { checkSpec } from "../../../webapp/src/spec/validate";
import { specSummary } from "../../../webapp/src/spec/summary";
import { describeVotedState, votedState } from "../../../webapp/src/spec/voted";
import type { JsonObject } from "../../../webapp/src/spec/json";

interface Request {
  specs?: { text: string; maxBytes: number }[];
  proposals?: { text: string; maxBytes: number; deployed: string | null }[];
  histories?: { events: { proposalId: string; json: string }[]; target: string; before: string | null }[];
  reverts?: { name: string; args: Record<string, { int: string } | string>; now: string | null; numProposals: string | null }[];
}

function bigintOrNull(text: string | null): bigint | null {
  return text === null ? null : BigInt(text);
}

function canonicalSpec(spec: JsonObject): string {
  const check = checkSpec(JSON.stringify(spec), Number.MAX_SAFE_INTEGER);
  if (!check.ok) throw new Error("a voted spec is always valid");
  return check.canonical;
}

function deployedSpec(text: string | null): JsonObject | null {
  if (text === null) return null;
  const check = checkProposal(text, Number.MAX_SAFE_INTEGER);
  if (!check.ok || check.kind !== "deploy") throw new Error("the deployed spec of a case must be valid");
  return check.spec;
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(input) as Request;
  const specs = (request.specs ?? []).map(({ text, maxBytes }) => {
    const result = checkSpec(text, maxBytes);
    if (!result.ok) return { ok: false, problems: result.problems };
    return {
      ok: true,
      canonical: result.canonical,
      hash: keccak256(stringToBytes(result.canonical)),
      summary: specSummary(result.spec),
    };
  });
  const proposals = (request.proposals ?? []).map(({ text, maxBytes, deployed }) => {
    const result = checkProposal(text, maxBytes);
    if (!result.ok) return { ok: false, problems: result.problems };
    const meaning = describeProposal(result, deployedSpec(deployed));
    return {
      ok: true,
      kind: result.kind,
      canonical: result.canonical,
      hash: keccak256(stringToBytes(result.canonical)),
      meaning: meaning.ok
        ? { ok: true, text: meaning.text, after: meaning.after && canonicalSpec(meaning.after) }
        : { ok: false, errors: meaning.problems.map((p) => `${p.path}: ${p.message}`) },
    };
  });
  const histories = (request.histories ?? []).map(({ events, target, before }) => {
    const records = events.map((event) => ({ proposalId: BigInt(event.proposalId), json: event.json }));
    const state = votedState(records, BigInt(target), bigintOrNull(before));
    return {
      describe: describeVotedState(state),
      spec: state.spec && canonicalSpec(state.spec),
      updatedBy: state.updatedBy.map(String),
      closedBy: state.closedBy === null ? null : String(state.closedBy),
    };
  });
  const reverts = (request.reverts ?? []).map(({ name, args, now, numProposals }) => {
    const decoded: ErrorArgs = {};
    for (const [key, value] of Object.entries(args)) {
      decoded[key] = typeof value === "string" ? value : BigInt(value.int);
    }
    return describeError(name, decoded, { now: bigintOrNull(now), numProposals: bigintOrNull(numProposals) });
  });
  process.stdout.write(JSON.stringify({ specs, proposals, histories, reverts }));
});
