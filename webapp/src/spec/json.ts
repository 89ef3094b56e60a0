// A strict JSON reader with the Python side's rules (services/spec.py `_load_json`), which the
// browser's JSON.parse does not apply: a key given twice in one object is refused (which value
// would the voters have read?), nesting is capped, a lone surrogate escape is refused, and every
// number keeps the text it was written with, because Python reads `80.0` as a float that an
// integer field refuses while JavaScript cannot tell it from `80`.

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface ParsedJson {
  value: JsonValue;
  /** The source text of every number, by JSON Pointer (as ajv's `instancePath`). */
  numbers: Map<string, string>;
  /** The keys of every object in the order written (a JavaScript object lists integer-like keys
   * first; Python keeps the order written). */
  keyOrder: WeakMap<object, string[]>;
}

/** The text is not JSON that the spec rules accept; the message says why and where. */
export class JsonSyntaxError extends Error {}

/** Python refuses integers with more digits than this (its int/str conversion limit). */
const MAX_INTEGER_DIGITS = 4300;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

export function pointer(segments: readonly (string | number)[]): string {
  return segments.map((part) => `/${String(part).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");
}

export function quote(text: string): string {
  const chars = Array.from(text);
  return JSON.stringify(chars.length > 60 ? `${chars.slice(0, 60).join("")}…` : text);
}

class Reader {
  private pos = 0;
  readonly numbers = new Map<string, string>();
  readonly keyOrder = new WeakMap<object, string[]>();

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  parse(): JsonValue {
    if (this.text.charCodeAt(0) === 0xfeff) this.fail("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0);
    this.skipWhitespace();
    const value = this.value([], 0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail("Extra data");
    return value;
  }

  private fail(what: string, at = this.pos): never {
    const before = this.text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    throw new JsonSyntaxError(`invalid JSON: ${what} at line ${line} column ${column}`);
  }

  private refuse(what: string): never {
    throw new JsonSyntaxError(`invalid JSON: ${what}`);
  }

  private skipWhitespace(): void {
    WHITESPACE.lastIndex = this.pos;
    WHITESPACE.exec(this.text);
    this.pos = WHITESPACE.lastIndex;
  }

  private value(path: (string | number)[], depth: number): JsonValue {
    const char = this.text[this.pos];
    if (char === "{" || char === "[") {
      if (depth + 1 > this.maxDepth) this.refuse(`nested deeper than ${this.maxDepth} levels`);
      return char === "{" ? this.object(path, depth + 1) : this.array(path, depth + 1);
    }
    if (char === '"') return this.string();
    for (const [word, literal] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return literal;
      }
    }
    for (const constant of ["NaN", "Infinity", "-Infinity"]) {
      if (this.text.startsWith(constant, this.pos)) this.refuse(`${constant} is not valid JSON`);
    }
    return this.number(path);
  }

  private number(path: (string | number)[]): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) this.fail("Expecting value");
    const lexeme = match[0];
    this.pos += lexeme.length;
    const isInteger = !/[.eE]/.test(lexeme);
    if (isInteger && lexeme.replace("-", "").length > MAX_INTEGER_DIGITS) {
      this.refuse("a number has too many digits");
    }
    let value = Number(lexeme);
    if (!Number.isFinite(value)) {
      if (!isInteger) this.refuse(`number ${lexeme.slice(0, 40)} is out of range`);
      // Python keeps a huge integer exactly and refuses it where a field is bounded; the
      // largest double fails the same bounds.
      value = value > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
    }
    this.numbers.set(pointer(path), lexeme);
    return value;
  }

  private string(): string {
    const start = this.pos;
    this.pos += 1;
    let out = "";
    for (;;) {
      if (this.pos >= this.text.length) this.fail("Unterminated string starting at", start);
      const char = this.text[this.pos] as string;
      const code = char.charCodeAt(0);
      if (char === '"') {
        this.pos += 1;
        return out;
      }
      if (code < 0x20) this.fail("Invalid control character at");
      if (char !== "\\") {
        out += char;
        this.pos += 1;
        continue;
      }
      const escape = this.text[this.pos + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (escape !== undefined && escape in simple) {
        out += simple[escape];
        this.pos += 2;
        continue;
      }
      if (escape !== "u") this.fail("Invalid \\escape");
      const unit = this.hexUnit(this.pos + 2);
      this.pos += 6;
      if (unit >= 0xd800 && unit <= 0xdbff && this.text.startsWith("\\u", this.pos)) {
        const low = this.hexUnit(this.pos + 2);
        if (low >= 0xdc00 && low <= 0xdfff) {
          out += String.fromCharCode(unit, low);
          this.pos += 6;
          continue;
        }
      }
      if (unit >= 0xd800 && unit <= 0xdfff) this.refuse("a string holds a lone surrogate escape (e.g. \\ud800)");
      out += String.fromCharCode(unit);
    }
  }

  private hexUnit(at: number): number {
    const digits = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail("Invalid \\uXXXX escape", at - 2);
    return parseInt(digits, 16);
  }

  private object(path: (string | number)[], depth: number): JsonObject {
    const result: JsonObject = {};
    const seen = new Set<string>();
    this.keyOrder.set(result, []);
    this.pos += 1;
    this.skipWhitespace();
    if (this.text[this.pos] === "}") {
      this.pos += 1;
      return result;
    }
    for (;;) {
      if (this.text[this.pos] !== '"') this.fail("Expecting property name enclosed in double quotes");
      const key = this.string();
      if (seen.has(key)) this.refuse(`duplicate key ${quote(key)} (each key may appear once per object)`);
      seen.add(key);
      this.keyOrder.get(result)?.push(key);
      this.skipWhitespace();
      if (this.text[this.pos] !== ":") this.fail("Expecting ':' delimiter");
      this.pos += 1;
      this.skipWhitespace();
      const value = this.value([...path, key], depth);
      // defineProperty, so that a key named "__proto__" is an ordinary key, as in JSON.parse.
      Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === "}") return result;
      if (next !== ",") this.fail("Expecting ',' delimiter", this.pos - 1);
      this.skipWhitespace();
    }
  }

  private array(path: (string | number)[], depth: number): JsonValue[] {
    const result: JsonValue[] = [];
    this.pos += 1;
    this.skipWhitespace();
    if (this.text[this.pos] === "]") {
      this.pos += 1;
      return result;
    }
    for (;;) {
      result.push(this.value([...path, result.length], depth));
      this.skipWhitespace();
      const next = this.text[this.pos];
      this.pos += 1;
      if (next === "]") return result;
      if (next !== ",") this.fail("Expecting ',' delimiter", this.pos - 1);
      this.skipWhitespace();
    }
  }
}

/** Parse `text` with the spec's JSON rules; throws {@link JsonSyntaxError}. */
export function parseStrictJson(text: string, maxDepth: number): ParsedJson {
  const reader = new Reader(text, maxDepth);
  return { value: reader.parse(), numbers: reader.numbers, keyOrder: reader.keyOrder };
}
