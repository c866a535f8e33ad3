import type { LeafMetadata, Metadata, MetadataObject } from './document.ts';
import { isJsonObject, type JsonObject, type JsonValue } from './json.ts';

/** Metadata for a newly written value: a timestamp on every leaf, mirroring the value's shape. */
export function metadataFor(value: JsonValue, timestamp: number): Metadata {
  // Arrays get one entry per element, so a client can tell which element a timestamp belongs to.
  if (Array.isArray(value)) return value.map((item) => metadataFor(item, timestamp));
  if (isJsonObject(value)) {
    const out: MetadataObject = {};
    for (const [key, child] of Object.entries(value)) {
      // A null inside a value deletes nothing and stores nothing: it carries no metadata.
      if (child !== null) out[key] = metadataFor(child, timestamp);
    }
    return out;
  }
  return { timestamp } satisfies LeafMetadata;
}

/** Metadata an update request's section reports back in `/update/accepted`: nulls included, as AWS does. */
export function requestMetadata(patch: JsonObject, timestamp: number): MetadataObject {
  const out: MetadataObject = {};
  for (const [key, value] of Object.entries(patch)) {
    out[key] =
      value === null || !isJsonObject(value)
        ? metadataFor(value ?? 0, timestamp)
        : requestMetadata(value, timestamp);
  }
  return out;
}

/** A leaf's `{ timestamp: <number> }`; a state key named `timestamp` has object metadata, so this is exact. */
export function isLeafMetadata(value: Metadata | undefined): value is LeafMetadata {
  return value !== undefined && !Array.isArray(value) && typeof value.timestamp === 'number';
}

function asMetadataObject(value: Metadata | undefined): MetadataObject {
  return value !== undefined && !Array.isArray(value) && !isLeafMetadata(value) ? value : {};
}

/**
 * Merges an update into one section of a shadow, returning new state and metadata; inputs are not
 * modified. The rules are AWS IoT Device Shadow's
 * (https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-document.html).
 */
export function mergeSection(
  current: JsonObject | undefined,
  currentMetadata: MetadataObject | undefined,
  patch: JsonObject,
  timestamp: number,
): { state: JsonObject; metadata: MetadataObject } {
  const state: JsonObject = { ...current };
  const metadata: MetadataObject = { ...currentMetadata };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      // null removes the key, and its metadata with it.
      delete state[key];
      delete metadata[key];
    } else if (isJsonObject(value)) {
      // Objects merge key by key, at any depth; an object replacing a leaf starts from empty.
      const base = state[key];
      const merged = mergeSection(
        isJsonObject(base) ? base : undefined,
        isJsonObject(base) ? asMetadataObject(metadata[key]) : undefined,
        value,
        timestamp,
      );
      state[key] = merged.state;
      metadata[key] = merged.metadata;
    } else {
      // Arrays and scalars replace the stored value whole: there is no element-wise array merge.
      state[key] = value;
      metadata[key] = metadataFor(value, timestamp);
    }
  }
  return { state, metadata };
}
