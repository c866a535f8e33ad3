import { readdirSync, readFileSync } from 'node:fs';
import type {
  MetadataObject,
  MetadataSections,
  ShadowRecord,
  ShadowSections,
} from '../../../../lambdas/domain/shadow/document.ts';
import { ShadowRequestError } from '../../../../lambdas/domain/shadow/errors.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../../lambdas/domain/shadow/json.ts';
import { metadataFor } from '../../../../lambdas/domain/shadow/merge.ts';

/** Epoch seconds → the epoch milliseconds the domain takes as its clock. */
export const atSecond = (seconds: number): number => seconds * 1000;

/** The code and message a call was refused with, or `'accepted'` when it returned normally. */
export type Outcome = { code: number; message: string } | 'accepted';

/**
 * Runs `act` and reports how it ended, so tables can hold accepted and refused rows side by side
 * and a failing row shows the actual code and message. Errors other than ShadowRequestError propagate.
 */
export function outcomeOf(act: () => unknown): Outcome {
  try {
    act();
  } catch (error) {
    if (error instanceof ShadowRequestError) return { code: error.code, message: error.message };
    throw error;
  }
  return 'accepted';
}

/** The ShadowRequestError `act` throws; fails the test when it returns normally or throws something else. */
export function errorOf(act: () => unknown): ShadowRequestError {
  try {
    act();
  } catch (error) {
    if (error instanceof ShadowRequestError) return error;
    throw error;
  }
  throw new Error('expected a ShadowRequestError, but the call returned normally');
}

/** Freezes a value and everything reachable from it, so any attempt to mutate it throws (ESM is strict). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Narrows a fixture value to a JSON object; throws with the path when the fixture is not shaped as expected. */
export function asObject(value: JsonValue | undefined, what: string): JsonObject {
  if (!isJsonObject(value)) throw new Error(`${what} is not a JSON object`);
  return value;
}

/** Metadata for every leaf of a state written at `timestamp`, as a stored record holds it. */
export function metadataOf(state: ShadowSections, timestamp: number): MetadataSections {
  const out: MetadataSections = {};
  if (state.desired !== undefined) out.desired = metadataFor(state.desired, timestamp) as MetadataObject;
  if (state.reported !== undefined) out.reported = metadataFor(state.reported, timestamp) as MetadataObject;
  return out;
}

/** A stored, live shadow; metadata defaults to every leaf written at `timestamp`. */
export function liveRecord(
  state: ShadowSections,
  version: number,
  timestamp: number,
  metadata: MetadataSections = metadataOf(state, timestamp),
): ShadowRecord {
  return { state, metadata, version, timestamp, exists: true };
}

/** What applyDelete leaves behind: no state, the version kept, `timestamp` = time of the delete. */
export function deletedRecord(version: number, deletedAt: number): ShadowRecord {
  return { state: {}, metadata: {}, version, timestamp: deletedAt, exists: false };
}

/** JSON files under a fixture directory, as paths relative to it (`observed/x.json`), sorted. */
export function listJsonFiles(directory: URL): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .map((name) => name.split('\\').join('/'))
    .sort();
}

/** Reads and parses one JSON file. */
export function readJson(url: URL): JsonValue {
  return JSON.parse(readFileSync(url, 'utf8')) as JsonValue;
}
