// Python's `json.dumps(value)` with its defaults (", " and ": " separators, every non-ASCII
// character (and DEL) escaped as \uXXXX, floats as `repr`), for the messages that quote JSON the way
// services/spec/proposal.py writes it: an unknown action, commands and arguments in a diff.
import type { JsonValue } from "./json";
import { pointer } from "./json";
import { pythonFloat } from "./schema-check";

/** Where the source text of numbers and the written order of keys come from, when known. */
export interface Source {
  numbers: ReadonlyMap<string, string>;
  keyOrder: WeakMap<object, string[]>;
}

function pythonString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function pythonNumber(value: number, lexeme: string | undefined): string {
  if (lexeme !== undefined && !/[.eE]/.test(lexeme)) return BigInt(lexeme).toString();
  return Number.isInteger(value) && lexeme === undefined ? String(value) : pythonFloat(value);
}

/** `json.dumps(value)`; `at` is the value's JSON Pointer in the document `source` describes. */
export function pythonDumps(value: JsonValue, at = "", source?: Source): string {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return pythonNumber(value, source?.numbers.get(at));
  if (typeof value === "string") return pythonString(value);
  if (Array.isArray(value)) {
    return `[${value.map((item, index) => pythonDumps(item, `${at}${pointer([index])}`, source)).join(", ")}]`;
  }
  const keys = source?.keyOrder.get(value) ?? Object.keys(value);
  const entries = keys.map((key) => `${pythonString(key)}: ${pythonDumps(value[key] as JsonValue, `${at}${pointer([key])}`, source)}`);
  return `{${entries.join(", ")}}`;
}
