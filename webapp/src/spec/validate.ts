// Validates what a proposal carries in the browser with the rules of services/spec: the text
// checks every kind shares (size, strict JSON, an object at the top) and a deployment's spec.
//
// The field rules come from the pydantic models' JSON Schemas (generated/spec-rules.json), compiled
// by ajv at build time (generated/spec-validator.js) and read in pydantic's words by
// ./schema-check.ts. What JSON Schema cannot say is checked here, in the same order as pydantic:
// - on the text: its size in UTF-8 bytes, strict JSON (see ./json.ts), a JSON object at the top;
// - across fields, once the fields themselves are valid (pydantic's model validators):
//   machineImageId xor customSpecs, no port and no variable name listed twice, and the health
//   check's port among the container ports.
// Update and close envelopes: ./proposal.ts. tests/webapp/test_agreement.py proves that Python and
// this code accept and refuse the same proposals with the same field paths and messages.
import { close, spec, update } from "../../generated/spec-validator.js";
import rules from "../../generated/spec-rules.json";
import { type JsonObject, type JsonValue, JsonSyntaxError, parseStrictJson, quote } from "./json";
import { canonicalJson } from "./canonical";
import { type Schema, SchemaRules, type SpecProblem, describe, isObject } from "./schema-check";

export type { SpecProblem } from "./schema-check";

export type SpecCheck =
  | { ok: true; spec: JsonObject; canonical: string; bytes: number; canonicalBytes: number }
  | { ok: false; problems: SpecProblem[]; bytes: number };

/** A text that is a JSON object the rules can read (not yet checked against a schema). */
export type DocumentRead =
  | { ok: true; doc: JsonObject; numbers: Map<string, string>; keyOrder: WeakMap<object, string[]>; bytes: number }
  | { ok: false; problems: SpecProblem[]; bytes: number };

export const SPEC_LIMITS = rules.limits;
export const SPEC_RULES = new SchemaRules(spec, modelSchema(rules.models.spec));
export const UPDATE_RULES = new SchemaRules(update, modelSchema(rules.models.update));
export const CLOSE_RULES = new SchemaRules(close, modelSchema(rules.models.close));
const encoder = new TextEncoder();

/** A model's schema ("#/$defs/InstanceSpec") with the $defs it refers to, as a root. */
function modelSchema(ref: string): Schema {
  const defs = rules.schema.$defs as Record<string, Schema>;
  return { ...defs[ref.replace("#/$defs/", "")], $defs: defs };
}

/** services.spec.model.load_document: the checks every kind of proposal shares. */
export function readDocument(text: string, maxBytes: number): DocumentRead {
  const bytes = encoder.encode(text).length;
  const refuse = (message: string): DocumentRead => ({ ok: false, problems: [{ path: "spec", message }], bytes });
  if (/\p{Cs}/u.test(text)) return refuse("text is not valid Unicode (lone surrogate)");
  if (bytes > maxBytes) return refuse(`${bytes} bytes exceeds the limit of ${maxBytes} bytes`);
  let parsed;
  try {
    parsed = parseStrictJson(text, SPEC_LIMITS.maxJsonDepth);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return refuse(error.message);
    throw error;
  }
  const { value, numbers, keyOrder } = parsed;
  if (!isObject(value)) return refuse(`must be a JSON object (got ${describe(value, numbers.get(""))})`);
  return { ok: true, doc: value, numbers, keyOrder, bytes };
}

/** The problems of a deployment's spec, already read: its fields, then the rules across them. */
export function specProblems(doc: JsonObject, numbers: ReadonlyMap<string, string>): SpecProblem[] {
  const problems = SPEC_RULES.problems(doc, numbers);
  if (!problems.some((p) => p.path === "configuration" || p.path.startsWith("configuration."))) {
    problems.push(...configurationProblems(doc["configuration"]));
  }
  if (!problems.length) problems.push(...healthCheckProblems(doc));
  return problems;
}

/** The canonical-size check every kind shares: what goes on chain must fit too. */
export function canonicalSizeProblem(canonicalBytes: number, maxBytes: number): SpecProblem | null {
  return canonicalBytes > maxBytes
    ? { path: "spec", message: `canonical form is ${canonicalBytes} bytes, over the limit of ${maxBytes} bytes` }
    : null;
}

/** Check `text` (a deployment's spec) against at most `maxBytes` bytes. */
export function checkSpec(text: string, maxBytes: number = SPEC_LIMITS.maxSpecBytes): SpecCheck {
  const read = readDocument(text, maxBytes);
  if (!read.ok) return read;
  return checkSpecDocument(read.doc, read.numbers, read.bytes, maxBytes);
}

/** The rest of {@link checkSpec}, on a document already read. */
export function checkSpecDocument(doc: JsonObject, numbers: ReadonlyMap<string, string>, bytes: number, maxBytes: number): SpecCheck {
  const problems = specProblems(doc, numbers);
  if (problems.length) return { ok: false, problems, bytes };
  const canonical = canonicalJson(doc, SPEC_RULES.root);
  const canonicalBytes = encoder.encode(canonical).length;
  const tooBig = canonicalSizeProblem(canonicalBytes, maxBytes);
  if (tooBig) return { ok: false, problems: [tooBig], bytes };
  return { ok: true, spec: doc, canonical, bytes, canonicalBytes };
}

// ---------------------------------------------------------------------------------------------
// Rules across fields (pydantic model validators), in services/spec.py's words
// ---------------------------------------------------------------------------------------------

function configurationProblems(config: JsonValue | undefined): SpecProblem[] {
  if (!isObject(config)) return [];
  const problems: SpecProblem[] = [];
  const machine = config["machineImageId"] ?? null;
  const custom = config["customSpecs"] ?? null;
  if (machine !== null && custom !== null) {
    problems.push({ path: "configuration", message: "machineImageId and customSpecs cannot be used together; give one" });
  } else if (machine === null && custom === null) {
    problems.push({
      path: "configuration",
      message: "give machineImageId (a named machine plan) or customSpecs (cpu and memory): the provider needs a size",
    });
  }
  const ports = (config["ports"] ?? []) as JsonObject[];
  for (const field of ["containerPort", "exposedPort"]) {
    const first = new Map<JsonValue | undefined, number>();
    ports.forEach((port, index) => {
      const number = port[field];
      const earlier = first.get(number);
      if (earlier === undefined) first.set(number, index);
      else
        problems.push({
          path: `configuration.ports[${index}].${field}`,
          message: `${String(number)} is listed twice (also at configuration.ports[${earlier}].${field})`,
        });
    });
  }
  const seen = new Map<string, string>();
  for (const list of ["environmentVariables", "secretEnvironmentVariables"]) {
    ((config[list] ?? []) as JsonObject[]).forEach((variable, index) => {
      const key = String(variable["key"]);
      const earlier = seen.get(key);
      if (earlier === undefined) seen.set(key, `configuration.${list}[${index}]`);
      else
        problems.push({
          path: `configuration.${list}[${index}].key`,
          message: `duplicate key ${quote(key)} (also at ${earlier})`,
        });
    });
  }
  return problems;
}

function healthCheckProblems(doc: JsonObject): SpecProblem[] {
  const check = doc["healthCheckConfig"];
  const config = doc["configuration"];
  if (!isObject(check) || !isObject(config)) return [];
  const ports = ((config["ports"] ?? []) as JsonObject[]).map((port) => port["containerPort"]);
  if (ports.includes(check["port"] ?? null)) return [];
  return [
    {
      path: "healthCheckConfig.port",
      message: `${String(check["port"])} is not one of the containerPorts (${ports.map(String).join(", ")})`,
    },
  ];
}
