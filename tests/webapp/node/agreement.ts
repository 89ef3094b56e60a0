// The browser's spec checks, canonical form, hash and revert messages, run in node on inputs from
// tests/webapp/test_agreement.py, which compares them with Python's. Reads one JSON request on
// stdin and writes one JSON answer on stdout.
import { keccak256, stringToBytes } from "viem";
import { describeError, type ErrorArgs } from "../../../webapp/src/reverts";
import { checkSpec } from "../../../webapp/src/spec/validate";
import { specSummary } from "../../../webapp/src/spec/summary";

interface Request {
  specs: { text: string; maxBytes: number }[];
  reverts: { name: string; args: Record<string, { int: string } | string>; now: string | null; numProposals: string | null }[];
}

function bigintOrNull(text: string | null): bigint | null {
  return text === null ? null : BigInt(text);
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(input) as Request;
  const specs = request.specs.map(({ text, maxBytes }) => {
    const result = checkSpec(text, maxBytes);
    if (!result.ok) return { ok: false, problems: result.problems };
    return {
      ok: true,
      canonical: result.canonical,
      hash: keccak256(stringToBytes(result.canonical)),
      summary: specSummary(result.spec),
    };
  });
  const reverts = request.reverts.map(({ name, args, now, numProposals }) => {
    const decoded: ErrorArgs = {};
    for (const [key, value] of Object.entries(args)) {
      decoded[key] = typeof value === "string" ? value : BigInt(value.int);
    }
    return describeError(name, decoded, { now: bigintOrNull(now), numProposals: bigintOrNull(numProposals) });
  });
  process.stdout.write(JSON.stringify({ specs, reverts }));
});
