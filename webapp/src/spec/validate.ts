// Validates a proposal's spec in the browser with the rules of services/spec.py.
//
// The field rules come from the pydantic model's JSON Schema (generated/spec-rules.json), compiled
// by ajv at build time (generated/spec-validator.js); each rule's message travels in the schema
// ("x-error"). What JSON Schema cannot say is checked here, in the same order as pydantic:
// - on the text: its size in UTF-8 bytes, strict JSON (see ./json.ts), a JSON object at the top;
// - a number written with a fraction or an exponent where an integer is required (Python reads
//   `80.0` as a float and refuses it; JSON Schema calls it an integer);
// - across fields, once the fields themselves are valid (pydantic's model validators):
//   machineImageId xor customSpecs, no port and no variable name listed twice, and the health
//   check's port among the container ports.
// tests/webapp/test_agreement.py proves that Python and this code accept and refuse the same specs
// with the same field paths and messages.
import validateSchema from "../../generated/spec-validator.js";
import rules from "../../generated/spec-rules.json";
import { type JsonObject, type JsonValue, JsonSyntaxError, parseStrictJson, quote } from "./json";
import { canonicalJson } from "./canonical";

/** One problem: a dotted field path ("configuration.ports[0].exposedPort", or "spec") and why. */
export interface SpecProblem {
  path: string;
  message: string;
}

export type SpecCheck =
  | { ok: true; spec: JsonObject; canonical: string; bytes: number; canonicalBytes: number }
  | { ok: false; problems: SpecProblem[]; bytes: number };

type Schema = { [key: string]: unknown };

export const SPEC_LIMITS = rules.limits;
const ROOT: Schema = rules.schema;
const DEFS = (ROOT["$defs"] ?? {}) as Record<string, Schema>;
const encoder = new TextEncoder();

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Check `text` (the JSON a proposal would carry) against at most `maxBytes` bytes. */
export function checkSpec(text: string, maxBytes: number = SPEC_LIMITS.maxSpecBytes): SpecCheck {
  const bytes = encoder.encode(text).length;
  const refuse = (message: string): SpecCheck => ({ ok: false, problems: [{ path: "spec", message }], bytes });
  if (/\p{Cs}/u.test(text)) return refuse("text is not valid Unicode (lone surrogate)");
  if (bytes > maxBytes) return refuse(`${bytes} bytes exceeds the limit of ${maxBytes} bytes`);
  let parsed;
  try {
    parsed = parseStrictJson(text, SPEC_LIMITS.maxJsonDepth);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return refuse(error.message);
    throw error;
  }
  const { value, numbers } = parsed;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return refuse(`must be a JSON object (got ${describe(value, numbers.get(""))})`);
  }
  const problems = fieldProblems(value, numbers);
  if (!problems.some((p) => p.path === "configuration" || p.path.startsWith("configuration."))) {
    problems.push(...configurationProblems(value["configuration"]));
  }
  if (!problems.length) problems.push(...healthCheckProblems(value));
  if (problems.length) return { ok: false, problems, bytes };
  const canonical = canonicalJson(value, ROOT);
  const canonicalBytes = encoder.encode(canonical).length;
  if (canonicalBytes > maxBytes) {
    return refuse(`canonical form is ${canonicalBytes} bytes, over the limit of ${maxBytes} bytes`);
  }
  return { ok: true, spec: value, canonical, bytes, canonicalBytes };
}

// ---------------------------------------------------------------------------------------------
// Field rules: ajv's errors in pydantic's words
// ---------------------------------------------------------------------------------------------

function fieldProblems(doc: JsonObject, numbers: Map<string, string>): SpecProblem[] {
  const ranked = new Map<string, { rank: number; message: string }>();
  const keep = (path: string, rank: number, message: string) => {
    const old = ranked.get(path);
    if (!old || rank < old.rank) ranked.set(path, { rank, message });
  };
  validateSchema(doc);
  for (const error of (validateSchema.errors ?? []) as AjvError[]) {
    const segments = decodePointer(error.instancePath);
    const data = valueAt(doc, segments);
    const hide = segments.includes("secretEnvironmentVariables");
    const got = hide ? "" : ` (got ${describe(data, numbers.get(error.instancePath))})`;
    const node = schemaAt(segments);
    const rule = /\/allOf\/(\d+)\/(?:pattern|not|enum)$/.exec(error.schemaPath);
    const path = displayPath(doc, segments);
    switch (error.keyword) {
      case "required":
        keep(displayPath(doc, [...segments, String(error.params["missingProperty"])]), 0, "required field is missing");
        break;
      case "additionalProperties":
        keep(displayPath(doc, [...segments, String(error.params["additionalProperty"])]), 0, "unknown field");
        break;
      case "anyOf":
        break; // optional fields: the branch's own error says it
      case "type":
        if (error.params["type"] === "null") break;
        keep(path, 0, Array.isArray(node["enum"]) ? literalMessage(node, got) : `${TYPE_WORDS[String(error.params["type"])]}${got}`);
        break;
      case "enum":
        if (rule) keep(path, 10 + Number(rule[1]), ruleMessage(node, Number(rule[1]), data));
        else keep(path, 0, literalMessage(node, got));
        break;
      case "pattern":
      case "not":
        keep(path, 10 + Number(rule?.[1] ?? 0), ruleMessage(node, Number(rule?.[1] ?? 0), data));
        break;
      case "minimum":
        keep(path, 1, `must be at least ${error.params["limit"]}${got}`);
        break;
      case "maximum":
        keep(path, 1, `must be at most ${error.params["limit"]}${got}`);
        break;
      case "maxLength":
        keep(path, 1, `must be at most ${error.params["limit"]} characters (got ${Array.from(String(data)).length})`);
        break;
      case "maxItems":
        keep(path, 1, `must have at most ${items(Number(error.params["limit"]))} (got ${(data as JsonValue[]).length})`);
        break;
      case "minItems":
        keep(path, 1, `must have at least ${items(Number(error.params["limit"]))} (got ${(data as JsonValue[]).length})`);
        break;
      default:
        keep(path, 1, error.message ?? error.keyword);
    }
  }
  for (const [at, lexeme] of numbers) {
    // Python reads 80.0 and 8e1 as floats, which an integer field refuses; and an integer too
    // large for a float is not a number to it.
    const segments = decodePointer(at);
    const type = schemaAt(segments)["type"];
    const isFloat = /[.eE]/.test(lexeme);
    const hide = segments.includes("secretEnvironmentVariables");
    const got = hide ? "" : ` (got ${describe(Number(lexeme), lexeme)})`;
    if (isFloat && type === "integer") keep(displayPath(doc, segments), 0, `must be an integer${got}`);
    if (!isFloat && type === "number" && !Number.isFinite(Number(lexeme))) {
      keep(displayPath(doc, segments), 0, `must be a number${got}`);
    }
  }
  return [...ranked].map(([path, { message }]) => ({ path, message }));
}

const TYPE_WORDS: Record<string, string> = {
  integer: "must be an integer",
  number: "must be a number",
  string: "must be a string",
  array: "must be an array",
  object: "must be an object",
};

function items(count: number): string {
  return count === 1 ? "1 item" : `${count} items`;
}

/** pydantic's wording for a Literal: "must be 'spot' or 'demand' (got …)". */
function literalMessage(node: Schema, got: string): string {
  const choices = (node["enum"] as JsonValue[]).map((choice) => `'${String(choice)}'`);
  const expected = choices.length > 1 ? `${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}` : choices[0];
  return `must be ${expected}${got}`;
}

/** The message of rule `index` of `node` (an allOf entry with "x-error"), filled in. */
function ruleMessage(node: Schema, index: number, data: JsonValue | undefined): string {
  const entry = ((node["allOf"] ?? []) as Schema[])[index] ?? {};
  const template = String(entry["x-error"] ?? "is not valid");
  const text = typeof data === "string" ? data : "";
  const refused = (entry["not"] as Schema | undefined)?.["pattern"];
  const groups = typeof refused === "string" ? (new RegExp(refused, "u").exec(text)?.slice(1) ?? []) : [];
  const value = typeof data === "number" ? pythonNumber(data) : quote(text);
  return template.replace(/\{(value|[1-9])\}/g, (_m, name: string) =>
    name === "value" ? value : quote(groups[Number(name) - 1] ?? ""),
  );
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

// ---------------------------------------------------------------------------------------------
// Paths, schema lookup and value rendering
// ---------------------------------------------------------------------------------------------

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function decodePointer(at: string): string[] {
  return at ? at.slice(1).split("/").map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~")) : [];
}

function valueAt(doc: JsonValue, segments: string[]): JsonValue | undefined {
  let value: JsonValue | undefined = doc;
  for (const part of segments) {
    if (Array.isArray(value)) value = value[Number(part)];
    else if (isObject(value)) value = Object.prototype.hasOwnProperty.call(value, part) ? value[part] : undefined;
    else return undefined;
  }
  return value;
}

/** "configuration.ports[0].exposedPort": list indexes in brackets, as pydantic's locations. */
function displayPath(doc: JsonValue, segments: string[]): string {
  let path = "";
  let value: JsonValue | undefined = doc;
  for (const part of segments) {
    if (Array.isArray(value)) {
      path += `[${part}]`;
      value = value[Number(part)];
    } else {
      path += path ? `.${part}` : part;
      value = isObject(value) ? value[part] : undefined;
    }
  }
  return path || "spec";
}

function deref(node: Schema): Schema {
  const ref = node["$ref"];
  return typeof ref === "string" ? (DEFS[ref.replace("#/$defs/", "")] ?? {}) : node;
}

/** The schema of the value at `segments`, through $ref, optional (anyOf … null) and arrays. */
function schemaAt(segments: string[]): Schema {
  let node = nonNull(ROOT);
  for (const part of segments) {
    const properties = node["properties"] as Record<string, Schema> | undefined;
    const next = properties ? properties[part] : (node["items"] as Schema | undefined);
    if (next === undefined) return {};
    node = nonNull(next);
  }
  return node;
}

function nonNull(node: Schema): Schema {
  const options = node["anyOf"] as Schema[] | undefined;
  const chosen = options?.find((option) => option["type"] !== "null") ?? node;
  return deref(chosen);
}

/** Python's `repr(float)`: "80.0", "2.5", "1e+16", "1.5e-07". */
function pythonFloat(value: number): string {
  const [mantissa = "0", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const text = value.toFixed(Math.max(0, (mantissa.split(".")[1]?.length ?? 0) - exponent));
  return text.includes(".") ? text : `${text}.0`;
}

/** services.schema_rules.format_number: "2", "0.5", "1e+20". */
function pythonNumber(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e15 ? String(value) : pythonFloat(value);
}

/** services.spec._describe: how an offending value appears in "(got …)". */
function describe(value: JsonValue | undefined, lexeme: string | undefined): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (lexeme !== undefined && !/[.eE]/.test(lexeme)) {
      const integer = BigInt(lexeme);
      return (integer < 0n ? -integer : integer) < 10n ** 30n ? integer.toString() : "a very large integer";
    }
    return pythonFloat(value);
  }
  if (typeof value === "string") return quote(value);
  return Array.isArray(value) ? "an array" : "an object";
}
