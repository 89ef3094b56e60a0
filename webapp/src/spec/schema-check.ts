// ajv's errors in pydantic's words, for any of the JSON Schemas exported from the pydantic models
// (generated/spec-rules.json: a spec, an update envelope, a close envelope), each compiled by ajv at
// build time (generated/spec-validator.js). Each rule's message travels in its schema ("x-error",
// see services/spec/schema_rules.py); one problem is kept per field path, the one pydantic reports.
//
// Beyond ajv's own errors, checked here as pydantic does:
// - a number written with a fraction or an exponent where an integer is required (Python reads
//   `80.0` as a float and refuses it; JSON Schema calls it an integer), and integer bounds beyond
//   what a double holds, compared exactly ("x-exact-maximum", from services/webapp/build_data.py);
// - rules on an object as a whole ("x-when"): a "before" rule, when broken, is the only problem of
//   the object and everything in it; an "after" rule is reported only when all of it is valid.
import type { ValidateFunction } from "ajv";
import type { JsonObject, JsonValue } from "./json";
import { quote } from "./json";

/** One problem: a dotted field path ("configuration.ports[0].exposedPort", or "spec") and why. */
export interface SpecProblem {
  path: string;
  message: string;
}

export type Schema = { [key: string]: unknown };

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

interface ObjectRuleHit {
  path: string;
  data: JsonValue | undefined;
  index: number;
  when: string;
  message: string;
}

const TYPE_WORDS: Record<string, string> = {
  integer: "must be an integer",
  number: "must be a number",
  string: "must be a string",
  array: "must be an array",
  object: "must be an object",
};

/** One exported JSON Schema and its compiled validator. */
export class SchemaRules {
  private readonly defs: Record<string, Schema>;

  constructor(
    private readonly validate: ValidateFunction,
    readonly root: Schema,
  ) {
    this.defs = (root["$defs"] ?? {}) as Record<string, Schema>;
  }

  /** Every field rule `doc` breaks; `numbers` holds the source text of each number by pointer. */
  problems(doc: JsonObject, numbers: ReadonlyMap<string, string>): SpecProblem[] {
    const ranked = new Map<string, { rank: number; message: string }>();
    const keep = (path: string, rank: number, message: string) => {
      const old = ranked.get(path);
      if (!old || rank < old.rank) ranked.set(path, { rank, message });
    };
    const objectRules: ObjectRuleHit[] = [];
    this.validate(doc);
    for (const error of (this.validate.errors ?? []) as AjvError[]) {
      const segments = decodePointer(error.instancePath);
      const data = valueAt(doc, segments);
      const hide = segments.includes("secretEnvironmentVariables");
      const got = hide ? "" : ` (got ${describe(data, numbers.get(error.instancePath))})`;
      const node = this.schemaAt(segments);
      const path = displayPath(doc, segments);
      const rule = /\/allOf\/(\d+)\/(?:pattern|not|enum|minProperties)$/.exec(error.schemaPath);
      const entry = rule ? (((node["allOf"] ?? []) as Schema[])[Number(rule[1])] ?? {}) : {};
      if (typeof entry["x-when"] === "string") {
        objectRules.push({ path, data, index: Number(rule?.[1]), when: entry["x-when"], message: objectRuleMessage(entry, data) });
        continue;
      }
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
          keep(path, 1, `must be at least ${String(node["x-exact-minimum"] ?? error.params["limit"])}${got}`);
          break;
        case "maximum":
          keep(path, 1, `must be at most ${String(node["x-exact-maximum"] ?? error.params["limit"])}${got}`);
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
      const node = this.schemaAt(segments);
      const isFloat = /[.eE]/.test(lexeme);
      const hide = segments.includes("secretEnvironmentVariables");
      const got = hide ? "" : ` (got ${describe(Number(lexeme), lexeme)})`;
      const path = displayPath(doc, segments);
      if (isFloat && node["type"] === "integer") keep(path, 0, `must be an integer${got}`);
      if (!isFloat && node["type"] === "number" && !Number.isFinite(Number(lexeme))) keep(path, 0, `must be a number${got}`);
      if (!isFloat && node["type"] === "integer") {
        const [maximum, minimum] = [node["x-exact-maximum"], node["x-exact-minimum"]];
        if (typeof maximum === "string" && BigInt(lexeme) > BigInt(maximum)) keep(path, 1, `must be at most ${maximum}${got}`);
        if (typeof minimum === "string" && BigInt(lexeme) < BigInt(minimum)) keep(path, 1, `must be at least ${minimum}${got}`);
      }
    }
    applyObjectRules(ranked, objectRules);
    return [...ranked].map(([path, { message }]) => ({ path, message }));
  }

  /** The schema of the value at `segments`, through $ref, optional (anyOf … null) and arrays. */
  schemaAt(segments: readonly string[]): Schema {
    let node = this.nonNull(this.root);
    for (const part of segments) {
      const properties = node["properties"] as Record<string, Schema> | undefined;
      const next = properties ? properties[part] : (node["items"] as Schema | undefined);
      if (next === undefined) return {};
      node = this.nonNull(next);
    }
    return node;
  }

  private nonNull(node: Schema): Schema {
    const options = node["anyOf"] as Schema[] | undefined;
    const chosen = options?.find((option) => option["type"] !== "null") ?? node;
    const ref = chosen["$ref"];
    return typeof ref === "string" ? (this.defs[ref.replace("#/$defs/", "")] ?? {}) : chosen;
  }
}

/** Whether `path` is `object` or inside it ("spec" is the document itself). */
function within(path: string, object: string): boolean {
  return object === "spec" || path === object || path.startsWith(`${object}.`) || path.startsWith(`${object}[`);
}

/** pydantic's model validators: a broken "before" rule replaces every problem of its object; the
 * first broken "after" rule counts only when its object has no other problem. */
function applyObjectRules(ranked: Map<string, { rank: number; message: string }>, hits: ObjectRuleHit[]): void {
  const first = (when: string) => {
    const byPath = new Map<string, ObjectRuleHit>();
    for (const hit of hits) {
      const old = byPath.get(hit.path);
      if (hit.when === when && (!old || hit.index < old.index)) byPath.set(hit.path, hit);
    }
    return [...byPath.values()];
  };
  for (const hit of first("before")) {
    if (!isObject(hit.data)) continue;
    for (const path of [...ranked.keys()]) if (within(path, hit.path)) ranked.delete(path);
    ranked.set(hit.path, { rank: -1, message: hit.message });
  }
  for (const hit of first("after")) {
    if (![...ranked.keys()].some((path) => within(path, hit.path))) ranked.set(hit.path, { rank: -1, message: hit.message });
  }
}

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

/** The message of an object rule: "{keys}" are the keys given among those a rule refuses. */
/** An object rule's message; `{keys}` is the keys that break it: those given (a refused key) or
 * given as null (a refused null), in the rule's order. */
function objectRuleMessage(entry: Schema, data: JsonValue | undefined): string {
  const refused = ((entry["not"] as Schema | undefined)?.["anyOf"] ?? []) as Schema[];
  const given = refused.flatMap((option) => {
    const names = (option["required"] ?? []) as string[];
    if (!isObject(data)) return [];
    return names.filter((name) => {
      if (!Object.prototype.hasOwnProperty.call(data, name)) return false;
      const property = (option["properties"] as Record<string, Schema> | undefined)?.[name];
      const mustBeNull = property?.["type"] === "null";
      return !mustBeNull || data[name] === null;
    });
  });
  return String(entry["x-error"] ?? "is not valid").replace("{keys}", given.join(", "));
}

// ---------------------------------------------------------------------------------------------
// Paths and values
// ---------------------------------------------------------------------------------------------

export function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && value !== undefined && typeof value === "object" && !Array.isArray(value);
}

export function decodePointer(at: string): string[] {
  return at ? at.slice(1).split("/").map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~")) : [];
}

export function valueAt(doc: JsonValue, segments: readonly string[]): JsonValue | undefined {
  let value: JsonValue | undefined = doc;
  for (const part of segments) {
    if (Array.isArray(value)) value = value[Number(part)];
    else if (isObject(value)) value = Object.prototype.hasOwnProperty.call(value, part) ? value[part] : undefined;
    else return undefined;
  }
  return value;
}

/** "configuration.ports[0].exposedPort": list indexes in brackets, as pydantic's locations. */
export function displayPath(doc: JsonValue, segments: readonly string[]): string {
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

/** Python's `repr(float)`: "80.0", "2.5", "1e+16", "1.5e-07", "-0.0". */
export function pythonFloat(value: number): string {
  if (Object.is(value, -0)) return "-0.0";
  const [mantissa = "0", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 16) {
    return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  const text = value.toFixed(Math.max(0, (mantissa.split(".")[1]?.length ?? 0) - exponent));
  return text.includes(".") ? text : `${text}.0`;
}

/** services.common.formatting.format_number: "2", "0.5", "1e+20". */
function pythonNumber(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e15 ? String(value) : pythonFloat(value);
}

/** services.spec.model._describe: how an offending value appears in "(got …)". */
export function describe(value: JsonValue | undefined, lexeme: string | undefined): string {
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
