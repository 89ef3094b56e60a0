// The canonical text of a valid spec, equal to services/spec.py `canonical_json`: keys sorted, no
// whitespace, UTF-8 kept as is, nulls and values equal to the field's default left out. It is what
// goes on-chain, so its keccak256 is the proposal's spec hash.
import type { JsonObject, JsonValue } from "./json";

type Schema = { [key: string]: unknown };

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function resolve(node: Schema | undefined, root: Schema): Schema {
  if (!node) return {};
  const options = node["anyOf"] as Schema[] | undefined;
  const chosen = options?.find((option) => option["type"] !== "null") ?? node;
  const ref = chosen["$ref"];
  if (typeof ref !== "string") return chosen;
  const defs = (root["$defs"] ?? {}) as Record<string, Schema>;
  return defs[ref.replace("#/$defs/", "")] ?? {};
}

function canonical(value: JsonValue, node: Schema, root: Schema): JsonValue {
  if (Array.isArray(value)) {
    const itemSchema = resolve(node["items"] as Schema | undefined, root);
    return value.map((item) => canonical(item, itemSchema, root));
  }
  if (value === null || typeof value !== "object") return value;
  const properties = (node["properties"] ?? {}) as Record<string, Schema>;
  const result: JsonObject = {};
  for (const key of Object.keys(value).sort()) {
    const field = value[key] as JsonValue;
    const fieldSchema = properties[key];
    if (field === null) continue;
    if (fieldSchema && "default" in fieldSchema && sameJson(field, fieldSchema["default"])) continue;
    const child = canonical(field, resolve(fieldSchema, root), root);
    Object.defineProperty(result, key, { value: child, enumerable: true, writable: true, configurable: true });
  }
  return result;
}

/** The canonical JSON of `spec` (already valid against `root`, the spec's JSON Schema). */
export function canonicalJson(spec: JsonObject, root: Schema): string {
  return JSON.stringify(canonical(spec, root, root));
}
