import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { AccessKey } from '../credentials.ts';
import type { Principal } from '../principals.ts';

/** How long a one-time login link works: long enough to click it, short enough to go stale in scrollback. */
export const LOGIN_LINK_TTL_MS = 10 * 60_000;
/** How long the console's session credentials last (a working day), as a Cognito identity's are refreshed. */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** At most this many unused links are kept; the oldest goes first. */
const MAX_OPEN_LINKS = 64;

/** Temporary credentials for the console, as Cognito's GetCredentialsForIdentity answers (no session token). */
export interface SessionCredentials extends AccessKey {
  /** ISO-8601: the HTTP API refuses the key after this. */
  readonly expiration: string;
  readonly region: string;
}

/** The console's sign-in on the local platform: one-time login links, exchanged for short-lived keys. */
export interface ConsoleSessions {
  /** A new one-time login token, valid {@link LOGIN_LINK_TTL_MS}. */
  newLoginToken(): { readonly token: string; readonly expiresAt: number };
  /** Spends a login token; undefined when it is unknown, used or expired. */
  exchange(token: string): SessionCredentials | undefined;
  /** The session key an access key id names, while it has not expired. */
  lookup(accessKeyId: string): { readonly key: AccessKey; readonly principal: Principal } | undefined;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const PREFIX = 'FKCS';
const EXPIRY_DIGITS = 7;

function base32(value: number, digits: number): string {
  let text = '';
  let rest = value;
  for (let i = 0; i < digits; i++) {
    text = (BASE32[rest % 32] as string) + text;
    rest = Math.floor(rest / 32);
  }
  return text;
}

function fromBase32(text: string): number | undefined {
  let value = 0;
  for (const char of text) {
    const digit = BASE32.indexOf(char);
    if (digit < 0) return undefined;
    value = value * 32 + digit;
  }
  return value;
}

const digest = (token: string) => createHash('sha256').update(token).digest();

/**
 * Console sessions derived from the operator's secret, as the functions' keys are: a session's access key
 * id carries its expiry (`FKCS` + 7 base-32 digits of epoch seconds + 9 random ones) and its secret is an
 * HMAC of the id under the operator secret. Nothing is stored: a session outlives a restart of the
 * platform until it expires, nobody can make a key the platform would accept without the operator secret,
 * and new operator credentials (delete `<dataDir>/credentials`) end every session.
 *
 * Login tokens are the only state: kept in memory as SHA-256 digests, spent once, expiring after
 * {@link LOGIN_LINK_TTL_MS}. A session signs requests to the HTTP API as the operator (the console is the
 * operator's tool), and is accepted there only — never by the KMS or IoT data endpoints.
 */
export function consoleSessions(options: {
  readonly operator: AccessKey;
  readonly region: string;
  readonly now?: () => number;
}): ConsoleSessions {
  const now = options.now ?? Date.now;
  const open = new Map<string, number>();
  const secretOf = (accessKeyId: string) =>
    createHmac('sha256', options.operator.secretAccessKey)
      .update(`fleetkit-console-session:${accessKeyId}`)
      .digest()
      .toString('base64url');

  return {
    newLoginToken() {
      for (const [key, expiresAt] of open) if (expiresAt <= now()) open.delete(key);
      while (open.size >= MAX_OPEN_LINKS) open.delete(open.keys().next().value as string);
      const token = randomBytes(24).toString('base64url');
      const expiresAt = now() + LOGIN_LINK_TTL_MS;
      open.set(digest(token).toString('hex'), expiresAt);
      return { token, expiresAt };
    },
    exchange(token) {
      const key = digest(token).toString('hex');
      const expiresAt = open.get(key);
      if (expiresAt === undefined) return undefined;
      open.delete(key);
      if (expiresAt <= now()) return undefined;
      const sessionEnds = now() + SESSION_TTL_MS;
      const accessKeyId = `${PREFIX}${base32(Math.floor(sessionEnds / 1000), EXPIRY_DIGITS)}${[
        ...randomBytes(9),
      ]
        .map((byte) => BASE32[byte % 32])
        .join('')}`;
      return {
        accessKeyId,
        secretAccessKey: secretOf(accessKeyId),
        expiration: new Date(Math.floor(sessionEnds / 1000) * 1000).toISOString(),
        region: options.region,
      };
    },
    lookup(accessKeyId) {
      if (accessKeyId.length !== 20 || !accessKeyId.startsWith(PREFIX)) return undefined;
      const endsAt = fromBase32(accessKeyId.slice(PREFIX.length, PREFIX.length + EXPIRY_DIGITS));
      if (endsAt === undefined || endsAt * 1000 <= now()) return undefined;
      if (fromBase32(accessKeyId.slice(PREFIX.length + EXPIRY_DIGITS)) === undefined) return undefined;
      // The default operator's own sessions: the console acts with that operator's identity.
      return {
        key: { accessKeyId, secretAccessKey: secretOf(accessKeyId) },
        principal: { kind: 'operator', name: 'default' },
      };
    },
  };
}
