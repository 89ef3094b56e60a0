// Every revert in words: the catalogue is services/revert_messages.py's, exported at build time
// (generated/revert-messages.json), so the app and the scripts say the same thing.
import catalogue from "../generated/revert-messages.json";
import { formatEther, formatUtc, formatWhen, plural } from "./format";

/** A message: a text with placeholders, or [condition, text] cases (first that holds wins). */
type Template = string | string[][];

/** Chain time and the DAO's proposal count, when known: some messages use them. */
export interface RevertContext {
  now?: bigint | null;
  numProposals?: bigint | null;
}

export type ErrorArgs = Record<string, unknown>;

const ERRORS: Record<string, Template> = catalogue.errors;
const BUILTINS: Record<string, Template> = catalogue.builtins;
const PLACEHOLDER = /\{(\w+)(?::(\w+)(?::(\w+))?)?\}/g;

class MissingValue extends Error {}

function asText(value: unknown): string {
  return typeof value === "bigint" || typeof value === "number" ? value.toString() : String(value);
}

function holds(condition: string, values: ErrorArgs): boolean {
  if (!condition) return true;
  const [name = "", expected] = condition.split("==").map((part) => part.trim());
  const value = values[name];
  if (value === undefined || value === null) return false;
  return expected === undefined || asText(value) === expected;
}

function formatValue(value: unknown, kind: string | undefined, arg: string | undefined, values: ErrorArgs): string {
  switch (kind) {
    case undefined:
      return asText(value);
    case "ether":
      return formatEther(BigInt(value as bigint));
    case "utc":
      return formatUtc(BigInt(value as bigint));
    case "when": {
      const now = values["now"];
      return formatWhen(BigInt(value as bigint), now === undefined || now === null ? null : BigInt(now as bigint));
    }
    case "hex":
      return `0x${BigInt(value as bigint).toString(16).padStart(2, "0")}`;
    case "plural":
      return plural(BigInt(value as bigint), arg ?? "");
    default:
      throw new MissingValue(`unknown format ${kind}`);
  }
}

/** The text of `template` for `values`; throws when a placeholder has no value. */
export function render(template: Template, values: ErrorArgs): string {
  const text =
    typeof template === "string" ? template : template.find(([condition = ""]) => holds(condition, values))?.[1];
  if (text === undefined) throw new MissingValue("no case holds");
  return text.replace(PLACEHOLDER, (_match, name: string, kind?: string, arg?: string) => {
    const value = values[name];
    if (value === undefined || value === null) throw new MissingValue(name);
    return formatValue(value, kind, arg, values);
  });
}

/** The message for custom error `name` with decoded `args` (by parameter name). */
export function describeError(name: string, args: ErrorArgs, context: RevertContext = {}): string {
  const template = ERRORS[name] ?? BUILTINS[name];
  if (template === undefined) {
    const rendered = Object.entries(args)
      .map(([key, value]) => `${key}=${asText(value)}`)
      .join(", ");
    return `the contract reverted with ${name}(${rendered})`;
  }
  try {
    return render(template, { now: context.now ?? null, numProposals: context.numProposals ?? null, ...args });
  } catch {
    return `the contract reverted with ${name} (arguments could not be read)`;
  }
}
