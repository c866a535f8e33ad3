/**
 * JSON values and the JSON Merge Patch rules (RFC 7396) the shadow service merges with: objects merge
 * key by key, `null` removes a key, arrays and scalars replace whole. Pure functions that return new
 * values and never change their inputs.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | readonly JsonValue[] | JsonObject;
/** An object; a member that is `undefined` counts as absent, as in `JSON.stringify`. */
export interface JsonObject {
  readonly [key: string]: JsonValue | undefined;
}

/** A plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep equality of JSON values: key order does not matter, numbers compare by value, `undefined` members are absent. */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => jsonEqual(item, (b as readonly JsonValue[])[index]));
  }
  if (isJsonObject(a) && isJsonObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) if (!jsonEqual(a[key], b[key])) return false;
    return true;
  }
  return false;
}

/**
 * Applies a merge patch (RFC 7396 §2) to `target` and returns the result.
 *
 * @returns `undefined` when the patch removes the value altogether (`null`)
 */
export function mergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue | undefined {
  // Arrays and scalars replace whole: the shadow has no element-wise array update.
  if (!isJsonObject(patch)) return patch === null ? undefined : patch;
  const base: Record<string, JsonValue> = {};
  if (isJsonObject(target))
    for (const [key, value] of Object.entries(target)) if (value !== undefined) base[key] = value;
  for (const [key, change] of Object.entries(patch)) {
    if (change === undefined) continue;
    // null removes the key; objects merge recursively.
    const merged = mergePatch(base[key], change);
    if (merged === undefined) delete base[key];
    else base[key] = merged;
  }
  return base;
}

/**
 * The smallest merge patch that turns `from` into `to`: only changed members, `null` for members
 * `to` no longer has.
 *
 * @returns `undefined` when the two are already equal
 */
export function createMergePatch(from: JsonValue | undefined, to: JsonValue): JsonValue | undefined {
  if (jsonEqual(from, to)) return undefined;
  if (!isJsonObject(from) || !isJsonObject(to)) return to;
  const patch: Record<string, JsonValue> = {};
  for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
    const next = to[key];
    if (next === undefined) {
      if (from[key] !== undefined) patch[key] = null;
      continue;
    }
    const change = createMergePatch(from[key], next);
    if (change !== undefined) patch[key] = change;
  }
  return patch;
}

/**
 * A value as the shadow can store it for reporting: `undefined` and `null` members dropped (a `null`
 * would delete the key instead of storing it) and `null` array items removed (the shadow refuses
 * arrays holding `null`).
 */
export function toReportable(value: JsonValue): JsonValue {
  if (Array.isArray(value))
    return value.filter((item) => item !== null).map((item) => toReportable(item as JsonValue));
  if (!isJsonObject(value)) return value;
  const out: Record<string, JsonValue> = {};
  for (const [key, member] of Object.entries(value))
    if (member !== undefined && member !== null) out[key] = toReportable(member);
  return out;
}
