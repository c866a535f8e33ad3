import { InvalidTokenError } from '../domain/errors.ts';

/** Encodes a DynamoDB LastEvaluatedKey as an opaque, URL-safe token. */
export function encodePageToken(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/**
 * Decodes a token from {@link encodePageToken}. Anything else — garbage, or a key with attributes the
 * table does not have — is an {@link InvalidTokenError}, never a DynamoDB validation error.
 */
export function decodePageToken(token: string, allowedAttributes: readonly string[]): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidTokenError('nextToken is not a token this API issued');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidTokenError('nextToken is not a token this API issued');
  }
  const entries = Object.entries(parsed);
  if (
    entries.length === 0 ||
    entries.some(([k, v]) => !allowedAttributes.includes(k) || typeof v !== 'string')
  ) {
    throw new InvalidTokenError('nextToken is not a token this API issued');
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
