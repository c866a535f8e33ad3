import { computeDelta, deltaMetadata } from './delta.ts';
import {
  epochSeconds,
  type LeafMetadata,
  type MetadataObject,
  type MetadataSections,
  type PlainRequest,
  type ShadowLimits,
  type ShadowRecord,
  type ShadowSections,
  type UpdateRequest,
} from './document.ts';
import { SHADOW_MESSAGES, ShadowRequestError } from './errors.ts';
import { type JsonObject, jsonByteLength } from './json.ts';
import { mergeSection, requestMetadata } from './merge.ts';

/** Which shadow: the classic one (no name) or a named one. */
export interface ShadowId {
  readonly thingName: string;
  readonly shadowName?: string;
}

/** The documents a shadow operation produces, ready to publish or return. */
export interface UpdateOutcome {
  /** What to store. */
  readonly record: ShadowRecord;
  /** `/update/accepted` (and the HTTP response body). */
  readonly accepted: JsonObject;
  /** `/update/delta`, only when desired and reported still differ. */
  readonly delta?: JsonObject;
  /** `/update/documents`. */
  readonly documents: JsonObject;
}

/**
 * How long a deleted shadow's version is remembered: a shadow recreated within 48 hours continues its
 * numbering, later it starts again at 1 (https://docs.aws.amazon.com/iot/latest/developerguide/device-shadow-data-flow.html).
 */
export const DELETED_VERSION_RETENTION_SECONDS = 48 * 3600;

const withToken = (token: string | undefined): JsonObject =>
  token === undefined ? {} : { clientToken: token };

function snapshot(record: ShadowRecord | undefined): JsonObject | undefined {
  if (record === undefined || !record.exists) return undefined;
  return {
    state: record.state as JsonObject,
    metadata: record.metadata as unknown as JsonObject,
    version: record.version,
  };
}

function notFound(id: ShadowId): ShadowRequestError {
  return new ShadowRequestError(404, SHADOW_MESSAGES.noShadow(id.shadowName ?? id.thingName));
}

/**
 * Applies an update request to the current record (undefined: never written) at `nowMs`.
 *
 * A `version` in the request must equal the stored one (optimistic locking; 409 otherwise). Every
 * accepted update increments the version, even one that changes nothing, as AWS IoT does.
 *
 * @throws ShadowRequestError 409 on a version conflict, 413 when the merged state is over the limit
 */
export function applyUpdate(
  current: ShadowRecord | undefined,
  request: UpdateRequest,
  nowMs: number,
  limits: ShadowLimits,
): UpdateOutcome {
  const timestamp = epochSeconds(nowMs);
  const forgotten =
    current !== undefined &&
    !current.exists &&
    timestamp - current.timestamp > DELETED_VERSION_RETENTION_SECONDS;
  const currentVersion = forgotten ? 0 : (current?.version ?? 0);
  if (request.version !== undefined && request.version !== currentVersion) {
    throw new ShadowRequestError(409, SHADOW_MESSAGES.versionConflict);
  }
  const live = current?.exists ? current : undefined;
  let state: ShadowSections = { ...live?.state };
  let metadata: MetadataSections = { ...live?.metadata };
  const acceptedState: JsonObject = {};
  const acceptedMetadata: Record<string, MetadataObject | LeafMetadata> = {};

  if (request.state === null) {
    // "state": null empties the whole shadow; the version still moves on.
    state = {};
    metadata = {};
  } else {
    for (const section of ['desired', 'reported'] as const) {
      const patch = request.state[section];
      if (patch === undefined) continue;
      acceptedState[section] = patch;
      if (patch === null) {
        // A section set to null is removed with its metadata; accepted still timestamps the null.
        delete state[section];
        delete metadata[section];
        acceptedMetadata[section] = { timestamp };
        continue;
      }
      const merged = mergeSection(state[section], metadata[section], patch, timestamp);
      acceptedMetadata[section] = requestMetadata(patch, timestamp);
      // A section left with no keys is dropped: a document only has the sections that hold state.
      if (Object.keys(merged.state).length === 0) {
        delete state[section];
        delete metadata[section];
        continue;
      }
      state[section] = merged.state;
      metadata[section] = merged.metadata;
    }
  }
  if (jsonByteLength(state) > limits.maxStateBytes)
    throw new ShadowRequestError(413, SHADOW_MESSAGES.tooLarge);

  const record: ShadowRecord = { state, metadata, version: currentVersion + 1, timestamp, exists: true };
  const token = withToken(request.clientToken);
  const accepted: JsonObject = {
    state: request.state === null ? null : acceptedState,
    // For "state": null AWS answers with a single timestamp in place of per-section metadata.
    metadata: (request.state === null ? { timestamp } : acceptedMetadata) as unknown as JsonObject,
    version: record.version,
    timestamp,
    ...token,
  };
  const deltaState = computeDelta(state.desired, state.reported);
  const previous = snapshot(current);
  const documents: JsonObject = {
    // The first update of a shadow has no previous document: null, as AWS's Greengrass copy sends.
    previous: previous ?? null,
    current: snapshot(record) as JsonObject,
    timestamp,
    ...token,
  };
  if (deltaState === undefined) return { record, accepted, documents };
  const delta: JsonObject = {
    version: record.version,
    timestamp,
    state: deltaState,
    metadata: deltaMetadata(deltaState, metadata.desired) as unknown as JsonObject,
    ...token,
  };
  return { record, accepted, delta, documents };
}

/**
 * The `/get/accepted` document: state with `delta` when desired and reported differ, metadata,
 * version, timestamp.
 *
 * @throws ShadowRequestError 404 when the shadow does not exist (never written, or deleted)
 */
export function getDocument(
  id: ShadowId,
  record: ShadowRecord | undefined,
  request: PlainRequest,
  nowMs: number,
): JsonObject {
  if (record === undefined || !record.exists) throw notFound(id);
  const delta = computeDelta(record.state.desired, record.state.reported);
  return {
    state: { ...record.state, ...(delta === undefined ? {} : { delta }) } as JsonObject,
    // AWS's document page shows the delta's desired metadata under metadata.delta in GET responses.
    metadata: {
      ...record.metadata,
      ...(delta === undefined ? {} : { delta: deltaMetadata(delta, record.metadata.desired) }),
    } as unknown as JsonObject,
    version: record.version,
    timestamp: epochSeconds(nowMs),
    ...withToken(request.clientToken),
  };
}

/**
 * Deletes a shadow. The record stays with its version, so a later update continues the numbering
 * instead of restarting at 1.
 *
 * @throws ShadowRequestError 404 when there is no shadow, 409 when `version` is given and differs
 */
export function applyDelete(
  id: ShadowId,
  record: ShadowRecord | undefined,
  request: PlainRequest,
  nowMs: number,
): { record: ShadowRecord; accepted: JsonObject } {
  if (record === undefined || !record.exists) throw notFound(id);
  if (request.version !== undefined && request.version !== record.version) {
    throw new ShadowRequestError(409, SHADOW_MESSAGES.versionConflict);
  }
  const timestamp = epochSeconds(nowMs);
  return {
    record: { state: {}, metadata: {}, version: record.version, timestamp, exists: false },
    accepted: { version: record.version, timestamp, ...withToken(request.clientToken) },
  };
}

/**
 * The `/rejected` document (and HTTP error body) for an error. AWS documents an optional `timestamp`;
 * real AWS rejections carry none, so neither does this.
 */
export function rejectedDocument(error: ShadowRequestError, clientToken: string | undefined): JsonObject {
  return { code: error.code, message: error.message, ...withToken(clientToken) };
}
