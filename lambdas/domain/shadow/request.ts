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

function hasNullInArray(node: unknown): boolean {
  if (Array.isArray(node)) return node.some((item) => item === null || hasNullInArray(item));
  if (isJsonObject(node)) return Object.values(node).some(hasNullInArray);
  return false;
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
 * Parses and validates an update request the way AWS IoT Device Shadow does: UTF-8 (415), JSON (400),
 * a `state` node that is an object or null, `desired` / `reported` objects or null and nothing else in
 * `state`, a non-negative integer `version`, a `clientToken` of at most 64 bytes, the nesting limit,
 * and the size limit on the state (413).
 *
 * @throws ShadowRequestError with AWS's code and message
 */
export function parseUpdateRequest(payload: Uint8Array | string, limits: ShadowLimits): UpdateRequest {
  const body = decode(payload);
  if (!isJsonObject(body) || !('state' in body)) throw bad(SHADOW_MESSAGES.missingState);
  const clientToken = parseClientToken(body.clientToken, limits);
  const version = parseVersion(body.version);
  const optional = {
    ...(version === undefined ? {} : { version }),
    ...(clientToken === undefined ? {} : { clientToken }),
  };
  if (body.state === null) return { state: null, ...optional };
  if (!isJsonObject(body.state)) throw bad(SHADOW_MESSAGES.stateNotObject);
  for (const key of Object.keys(body.state)) {
    if (key !== 'desired' && key !== 'reported') throw bad(SHADOW_MESSAGES.invalidNode(key));
  }
  const desired = parseSection(body.state.desired, SHADOW_MESSAGES.desiredNotObject);
  const reported = parseSection(body.state.reported, SHADOW_MESSAGES.reportedNotObject);
  // Depth counts from the section (desired = level 1), so AWS's own 5-levels-below-desired example fits.
  if (Math.max(nestingDepth(desired), nestingDepth(reported)) > limits.maxDepth) {
    throw bad(SHADOW_MESSAGES.tooDeep(limits.maxDepth));
  }
  // AWS refuses null inside arrays: an array is replaced whole, so a null element has no meaning.
  if (hasNullInArray(desired) || hasNullInArray(reported)) throw bad(SHADOW_MESSAGES.invalidJson);
  if (jsonByteLength(body.state) > limits.maxStateBytes)
    throw new ShadowRequestError(413, SHADOW_MESSAGES.tooLarge);
  return {
    state: { ...(desired === undefined ? {} : { desired }), ...(reported === undefined ? {} : { reported }) },
    ...optional,
  };
}

/**
 * Parses a get or delete request: an empty payload, or a JSON object with an optional `clientToken`
 * (and, for delete, `version`).
 */
export function parsePlainRequest(payload: Uint8Array | string, limits: ShadowLimits): PlainRequest {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size === 0) return {};
  const body = decode(payload);
  if (!isJsonObject(body)) throw bad(SHADOW_MESSAGES.invalidJson);
  const clientToken = parseClientToken(body.clientToken, limits);
  const version = parseVersion(body.version);
  return {
    ...(version === undefined ? {} : { version }),
    ...(clientToken === undefined ? {} : { clientToken }),
  };
}
