// What a proposal asks for, as services/spec/proposal.py reads it: a bare instance spec deploys;
// an envelope updates (`{"action": "update", "target": N, "changes": {...}}`) or closes
// (`{"action": "close", "target": N}`) the instance proposal N deployed. Envelopes are checked
// against their own JSON Schemas (exported from the pydantic models with their rules and messages,
// including the refusal of fields that need a redeploy and of an update that sets nothing),
// canonicalised and hash-bound like a spec. What a vote on an update means is known only against the instance as
// voted (./voted.ts): `applyChanges` builds the resulting spec, which must pass the spec rules,
// and `describeProposal` says it in the scripts' words ("tag 1.27 → 1.28, replicas 2 → 3").
// tests/webapp/test_agreement.py proves both sides agree.
import type { JsonObject, JsonValue } from "./json";
import { canonicalJson } from "./canonical";
import { pythonDumps } from "./python-json";
import { isObject } from "./schema-check";
import { specSummary, specView } from "./summary";
import {
  CLOSE_RULES,
  SPEC_LIMITS,
  type SpecProblem,
  UPDATE_RULES,
  canonicalSizeProblem,
  checkSpec,
  checkSpecDocument,
  readDocument,
} from "./validate";

export type ValidProposal =
  | { kind: "deploy"; spec: JsonObject }
  | { kind: "update"; target: bigint; changes: JsonObject }
  | { kind: "close"; target: bigint };

export type ProposalCheck =
  | (ValidProposal & { ok: true; canonical: string; bytes: number; canonicalBytes: number })
  | { ok: false; problems: SpecProblem[]; bytes: number };

/** A vote's meaning in one line, and the spec it leads to (null for a close, or an update
 * described without its target's spec); or why the update cannot apply to that spec. */
export type Meaning = { ok: true; text: string; after: JsonObject | null } | { ok: false; problems: SpecProblem[] };

const encoder = new TextEncoder();

/** services.spec.proposal.parse_proposal + canonical_proposal_json: any kind, from its text. */
export function checkProposal(text: string, maxBytes: number = SPEC_LIMITS.maxSpecBytes): ProposalCheck {
  const read = readDocument(text, maxBytes);
  if (!read.ok) return read;
  const { doc, numbers, bytes } = read;
  if (!Object.prototype.hasOwnProperty.call(doc, "action")) {
    const check = checkSpecDocument(doc, numbers, bytes, maxBytes);
    return check.ok ? { ...check, kind: "deploy" } : check;
  }
  const action = doc["action"] as JsonValue;
  if (action !== "update" && action !== "close") {
    const shown = pythonDumps(action, "/action", read).slice(0, 60);
    const message = `${shown} is not an action; use "update" or "close" (a deployment is a bare instance spec, without action)`;
    return { ok: false, problems: [{ path: "action", message }], bytes };
  }
  const rules = action === "update" ? UPDATE_RULES : CLOSE_RULES;
  const problems = rules.problems(doc, numbers);
  if (problems.length) return { ok: false, problems, bytes };
  // A proposal id may exceed what a double holds: the target is written from its source text.
  // Keys sort as action, changes, target, so it goes last.
  const target = BigInt(numbers.get("/target") ?? String(doc["target"]));
  const withoutTarget: JsonObject = { action };
  if (isObject(doc["changes"])) withoutTarget["changes"] = doc["changes"];
  const canonical = `${canonicalJson(withoutTarget, rules.root).slice(0, -1)},"target":${target}}`;
  const canonicalBytes = encoder.encode(canonical).length;
  const tooBig = canonicalSizeProblem(canonicalBytes, maxBytes);
  if (tooBig) return { ok: false, problems: [tooBig], bytes };
  const valid: ValidProposal = action === "update" ? { kind: "update", target, changes: doc["changes"] as JsonObject } : { kind: "close", target };
  return { ...valid, ok: true, canonical, bytes, canonicalBytes };
}

/** services.spec.proposal.apply_changes: the deployed spec with `changes` (valid) applied, checked
 * again; its problems are those of the resulting spec, prefixed "updated spec: ", in code point
 * order. */
export function applyChanges(deployed: JsonObject, changes: JsonObject): { ok: true; spec: JsonObject } | { ok: false; problems: SpecProblem[] } {
  const data = JSON.parse(JSON.stringify(deployed)) as JsonObject;
  const configuration = data["configuration"] as JsonObject;
  for (const name of Object.keys(changes)) {
    if (name === "healthCheckConfig") data[name] = changes[name] as JsonValue;
    else configuration[name] = changes[name] as JsonValue;
  }
  if ("customSpecs" in changes) delete configuration["machineImageId"];
  if ("machineImageId" in changes) delete configuration["customSpecs"];
  const check = checkSpec(JSON.stringify(data), Number.MAX_SAFE_INTEGER);
  if (check.ok) return { ok: true, spec: check.spec };
  const problems = check.problems.map((p) => ({ path: `updated spec: ${p.path}`, message: p.message }));
  // In code point order of "path: message", as Python lists them.
  problems.sort((a, b) => byCodePoint(`${a.path}: ${a.message}`, `${b.path}: ${b.message}`));
  return { ok: false, problems };
}

function valuesByKey(list: JsonValue | undefined): Map<string, string> {
  return new Map(((list ?? []) as JsonObject[]).map((variable) => [String(variable["key"]), String(variable["value"])]));
}

/** Python's sorted() on strings: by code point. */
function byCodePoint(a: string, b: string): number {
  const [x, y] = [Array.from(a, (c) => c.codePointAt(0) ?? 0), Array.from(b, (c) => c.codePointAt(0) ?? 0)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  return x.length - y.length;
}

function listChange(label: string, before: Map<string, string>, after: Map<string, string>): string | null {
  const added = [...after.keys()].filter((key) => !before.has(key)).sort(byCodePoint);
  const removed = [...before.keys()].filter((key) => !after.has(key)).sort(byCodePoint);
  const changed = [...before.keys()].filter((key) => after.has(key) && before.get(key) !== after.get(key)).sort(byCodePoint);
  const parts = [...added.map((k) => `+${k}`), ...removed.map((k) => `-${k}`), ...changed.map((k) => `~${k}`)];
  return parts.length ? `${label} ${parts.join(" ")}` : null;
}

function health(check: { path: string; port: number } | null): string {
  return check === null ? "none" : `${check.path} on port ${check.port}`;
}

/** services.spec.proposal.describe_changes: what differs between two valid specs, in words.
 * Environment variables are named, never valued. */
export function describeChanges(before: JsonObject, after: JsonObject): string[] {
  const [old, now] = [specView(before), specView(after)];
  const [oldConfig, newConfig] = [before["configuration"] as JsonObject, after["configuration"] as JsonObject];
  const lines: string[] = [];
  if (old.tag !== now.tag) lines.push(`tag ${old.tag} → ${now.tag}`);
  if (old.replicas !== now.replicas) lines.push(`replicas ${old.replicas} → ${now.replicas}`);
  if (old.size !== now.size) lines.push(`size ${old.size} → ${now.size}`);
  for (const [label, list] of [
    ["environment", "environmentVariables"],
    ["secrets", "secretEnvironmentVariables"],
  ] as const) {
    const line = listChange(label, valuesByKey(oldConfig[list]), valuesByKey(newConfig[list]));
    if (line) lines.push(line);
  }
  for (const [label, values] of [
    ["commands", [old.commands, now.commands]],
    ["args", [old.args, now.args]],
  ] as const) {
    const [was, is] = values;
    if (pythonDumps(was) !== pythonDumps(is)) lines.push(`${label} ${pythonDumps(was)} → ${pythonDumps(is)}`);
  }
  if (health(old.healthCheck) !== health(now.healthCheck)) lines.push(`health check ${health(old.healthCheck)} → ${health(now.healthCheck)}`);
  return lines;
}

/** services.spec.proposal.describe_proposal: what a vote on `proposal` means, in one line. For an
 * update, `deployed` (the voted state of its target) turns the changes into a diff; without it
 * the fields set are listed. */
export function describeProposal(proposal: ValidProposal, deployed: JsonObject | null = null): Meaning {
  if (proposal.kind === "deploy") return { ok: true, text: `deploy ${specSummary(proposal.spec)}`, after: proposal.spec };
  if (proposal.kind === "close") return { ok: true, text: `close the instance of proposal ${proposal.target}`, after: null };
  const subject = `update the instance of proposal ${proposal.target}`;
  if (deployed === null) {
    return { ok: true, text: `${subject}: set ${Object.keys(proposal.changes).sort(byCodePoint).join(", ")}`, after: null };
  }
  const applied = applyChanges(deployed, proposal.changes);
  if (!applied.ok) return applied;
  const changes = describeChanges(deployed, applied.spec);
  return { ok: true, text: `${subject}: ${changes.length ? changes.join(", ") : "no change"}`, after: applied.spec };
}
