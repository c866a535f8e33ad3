import type { Metadata, MetadataObject } from './document.ts';
import { isJsonObject, type JsonObject, jsonEqual } from './json.ts';
import { isLeafMetadata } from './merge.ts';

/**
 * The delta: every desired field that reported lacks or holds a different value for, nested
 * objects compared key by key, arrays and scalars compared whole. Undefined when nothing differs.
 * Fields only in `reported` never appear: the delta is what the device still has to do.
 */
export function computeDelta(
  desired: JsonObject | undefined,
  reported: JsonObject | undefined,
): JsonObject | undefined {
  if (desired === undefined) return undefined;
  const delta: JsonObject = {};
  for (const [key, want] of Object.entries(desired)) {
    const have = reported?.[key];
    if (have === undefined) {
      delta[key] = want;
    } else if (isJsonObject(want) && isJsonObject(have)) {
      const nested = computeDelta(want, have);
      if (nested !== undefined) delta[key] = nested;
    } else if (!jsonEqual(want, have)) {
      delta[key] = want;
    }
  }
  return Object.keys(delta).length === 0 ? undefined : delta;
}

/** The desired metadata of exactly the fields in `delta`, as the `/update/delta` message carries it. */
export function deltaMetadata(
  delta: JsonObject,
  desiredMetadata: MetadataObject | undefined,
): MetadataObject {
  const out: MetadataObject = {};
  for (const [key, value] of Object.entries(delta)) {
    const meta: Metadata | undefined = desiredMetadata?.[key];
    if (meta === undefined) continue;
    out[key] =
      isJsonObject(value) && !Array.isArray(meta) && !isLeafMetadata(meta)
        ? deltaMetadata(value, meta)
        : meta;
  }
  return out;
}
