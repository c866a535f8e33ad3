import type { JsonObject, JsonValue } from './json.ts';

/** `{ timestamp }` on a leaf, in epoch seconds as AWS IoT writes them. */
export interface LeafMetadata {
  timestamp: number;
}
/** Metadata mirrors the state's shape: objects of metadata, arrays of per-element metadata, leaves. */
export type Metadata = LeafMetadata | MetadataObject | Metadata[];
export interface MetadataObject {
  [key: string]: Metadata;
}

/** The two sections of a shadow's state. An absent section is not the same as an empty one. */
export interface ShadowSections {
  desired?: JsonObject;
  reported?: JsonObject;
}
export interface MetadataSections {
  desired?: MetadataObject;
  reported?: MetadataObject;
}

/** A shadow as stored: state, metadata, version, last update time. */
export interface ShadowRecord {
  readonly state: ShadowSections;
  readonly metadata: MetadataSections;
  /** Incremented by every accepted update; kept across a delete, so a recreated shadow continues from it. */
  readonly version: number;
  /** Epoch seconds of the last accepted update or delete. */
  readonly timestamp: number;
  /** False after a delete (the record stays, to keep the version). */
  readonly exists: boolean;
}

/** A parsed update request: `null` for `state` empties the shadow, `null` for a section clears it. */
export interface UpdateRequest {
  readonly state: { readonly desired?: JsonObject | null; readonly reported?: JsonObject | null } | null;
  readonly version?: number;
  readonly clientToken?: string;
}

/** A parsed get or delete request. */
export interface PlainRequest {
  readonly version?: number;
  readonly clientToken?: string;
}

/** Limits of one deployment. AWS's are the defaults; fleetkit lets a deployment raise them. */
export interface ShadowLimits {
  /** UTF-8 bytes of the state (`desired` + `reported`, metadata excluded). @default 8192 */
  readonly maxStateBytes: number;
  /** Levels of objects and arrays in `desired` or `reported`, the section itself being level 1. @default 6 */
  readonly maxDepth: number;
  /** UTF-8 bytes of `clientToken`. @default 64 */
  readonly maxClientTokenBytes: number;
}

export const AWS_SHADOW_LIMITS: ShadowLimits = { maxStateBytes: 8192, maxDepth: 6, maxClientTokenBytes: 64 };

/** Epoch milliseconds → the epoch seconds AWS IoT puts in shadow documents. */
export function epochSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

/** A value as it is stored under a key (kept for readability of signatures). */
export type StateValue = JsonValue;
