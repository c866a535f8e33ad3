import type { PlainRequest, ShadowLimits, UpdateRequest } from './document.ts';
import { SHADOW_MESSAGES, ShadowRequestError } from './errors.ts';
import { isJsonObject, type JsonObject, jsonByteLength } from './json.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

function bad(message: string): ShadowRequestError {
  return new ShadowRequestError(400, message);
}

/** Decodes a UTF-8 JSON payload, refusing other encodings (415) and invalid JSON (400). */
function decode(payload: Uint8Array | string): unknown {
  let text: string;
  try {
    text = typeof payload === 'string' ? payload : utf8.decode(payload);
  } catch {
    throw new ShadowRequestError(415, SHADOW_MESSAGES.unsupportedEncoding);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw bad(SHADOW_MESSAGES.invalidJson);
  }
}

/** Levels of nesting below and including `node`, objects and arrays both counting, leaves not. */
export function nestingDepth(node: unknown): number {
  if (Array.isArray(node)) return 1 + Math.max(0, ...node.map(nestingDepth));
  if (isJsonObject(node)) return 1 + Math.max(0, ...Object.values(node).map(nestingDepth));
  return 0;
}

/** A null anywhere inside an array, at any depth: arrays are replaced whole, so a null there means nothing. */
function hasNullInArray(node: unknown, insideArray = false): boolean {
  if (node === null) return insideArray;
  if (Array.isArray(node)) return node.some((item) => hasNullInArray(item, true));
  if (isJsonObject(node)) return Object.values(node).some((value) => hasNullInArray(value, insideArray));
  return false;
}

function withoutNulls(node: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (value !== null) out[key] = isJsonObject(value) ? withoutNulls(value) : value;
  }
  return out;
}

/**
 * The part of a request that ends up stored: nulls removed, empty sections dropped. Every byte of it is
 * in the merged state too, so its size is a lower bound of the merged state's.
 */
function storedPart(
  desired: JsonObject | null | undefined,
  reported: JsonObject | null | undefined,
): JsonObject {
  const out: JsonObject = {};
  for (const [name, section] of [
    ['desired', desired],
    ['reported', reported],
  ] as const) {
    if (!section) continue;
    const kept = withoutNulls(section);
    if (Object.keys(kept).length > 0) out[name] = kept;
  }
  return out;
}

function parseVersion(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw bad(SHADOW_MESSAGES.invalidVersion);
  return value;
}

function parseClientToken(value: unknown, limits: ShadowLimits): string | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    Buffer.byteLength(value, 'utf8') > limits.maxClientTokenBytes
  ) {
    throw bad(SHADOW_MESSAGES.invalidClientToken);
  }
  return value;
}

function parseSection(value: unknown, notObject: string): JsonObject | null | undefined {
  if (value === undefined || value === null) return value;
  if (!isJsonObject(value)) throw bad(notObject);
  return value;
}

/**
 * Parses and validates an update request the way AWS IoT Device Shadow does, in the order of
 * docs/shadow-semantics.md §2: UTF-8 (415), JSON, a `state` node that is an object or null, `desired`
 * and `reported` objects or null, nothing else in `state`, no null inside arrays, the `clientToken`
 * (at most 64 bytes), the `version` (a non-negative integer), the nesting limit. The size limit applies
 * to the merged state, so {@link applyUpdate} checks it.
 *
 * @throws ShadowRequestError with AWS's code and message
 */
export function parseUpdateRequest(payload: Uint8Array | string, limits: ShadowLimits): UpdateRequest {
  const body = decode(payload);
  if (!isJsonObject(body) || !('state' in body)) throw bad(SHADOW_MESSAGES.missingState);
  const state = body.state;
  if (state !== null && !isJsonObject(state)) throw bad(SHADOW_MESSAGES.stateNotObject);
  const desired = parseSection(state?.desired, SHADOW_MESSAGES.desiredNotObject);
  const reported = parseSection(state?.reported, SHADOW_MESSAGES.reportedNotObject);
  for (const key of Object.keys(state ?? {})) {
    if (key !== 'desired' && key !== 'reported') throw bad(SHADOW_MESSAGES.invalidNode(key));
  }
  if (hasNullInArray(desired) || hasNullInArray(reported)) throw bad(SHADOW_MESSAGES.invalidJson);
  const clientToken = parseClientToken(body.clientToken, limits);
  const version = parseVersion(body.version);
  // Depth counts from the section (desired = level 1), so AWS's own 5-levels-below-desired example fits.
  if (Math.max(nestingDepth(desired), nestingDepth(reported)) > limits.maxDepth) {
    throw bad(SHADOW_MESSAGES.tooDeep(limits.maxDepth));
  }
  // What the request stores is part of the merged state, so a request that stores more than the limit
  // is refused here, before any read; the merged state is checked again after the merge.
  if (jsonByteLength(storedPart(desired, reported)) > limits.maxStateBytes) {
    throw new ShadowRequestError(413, SHADOW_MESSAGES.tooLarge);
  }
  const optional = {
    ...(version === undefined ? {} : { version }),
    ...(clientToken === undefined ? {} : { clientToken }),
  };
  if (state === null) return { state: null, ...optional };
  return {
    state: { ...(desired === undefined ? {} : { desired }), ...(reported === undefined ? {} : { reported }) },
    ...optional,
  };
}

/**
 * Parses a get or delete request. AWS ignores their payload, so anything is accepted; when it is a
 * JSON object, its `clientToken` (echoed in the answer) and, for delete, `version` are validated.
 */
export function parsePlainRequest(payload: Uint8Array | string, limits: ShadowLimits): PlainRequest {
  let body: unknown;
  try {
    body = decode(payload);
  } catch {
    return {};
  }
  if (!isJsonObject(body)) return {};
  const clientToken = parseClientToken(body.clientToken, limits);
  const version = parseVersion(body.version);
  return {
    ...(version === undefined ? {} : { version }),
    ...(clientToken === undefined ? {} : { clientToken }),
  };
}
