import type { ConsoleConfig } from './config.ts';

/** IAM-style credentials the console signs with: a local session's, or a Cognito identity's. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  /** ISO-8601. */
  readonly expiration: string;
}

// sessionStorage, not localStorage: the credentials live as long as the tab, never on disk across a browser
// restart, and no other tab of the origin sees them.
const STORAGE_KEY = 'fleetkit.credentials';
/** Signs in again a minute before the credentials run out rather than fail a request. */
const MARGIN_MS = 60_000;

/** The credentials this tab signed in with, while they last. */
export function storedCredentials(): Credentials | undefined {
  const text = sessionStorage.getItem(STORAGE_KEY);
  if (text === null) return undefined;
  try {
    const credentials = JSON.parse(text) as Credentials;
    if (Date.parse(credentials.expiration) - MARGIN_MS > Date.now()) return credentials;
  } catch {
    // A damaged entry is dropped below.
  }
  sessionStorage.removeItem(STORAGE_KEY);
  return undefined;
}

export function storeCredentials(credentials: Credentials): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(credentials));
}

export function forgetCredentials(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Why signing in failed, in words for the page. */
export class SignInError extends Error {
  override readonly name = 'SignInError';
}

/**
 * Spends a one-time login link of the local platform (`#login=<token>`, printed by `npm start` and by
 * `npm run cli -- console`) for session credentials.
 */
export async function signInWithLink(token: string): Promise<Credentials> {
  const response = await fetch('session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  const body = (await response.json().catch(() => ({}))) as Partial<Credentials> & { message?: string };
  if (!response.ok || body.accessKeyId === undefined || body.secretAccessKey === undefined)
    throw new SignInError(body.message ?? `sign-in failed (HTTP ${response.status})`);
  return {
    accessKeyId: body.accessKeyId,
    secretAccessKey: body.secretAccessKey,
    expiration: body.expiration ?? new Date(Date.now() + 3_600_000).toISOString(),
  };
}

/** The sign-in a configuration calls for: local links, or Cognito (see `cognito.ts`). */
export function signInKind(config: ConsoleConfig): 'link' | 'cognito' {
  return config.mode === 'local' ? 'link' : 'cognito';
}
