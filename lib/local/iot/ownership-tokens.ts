import { randomBytes } from 'node:crypto';

/** How long a certificate ownership token is good for: one hour, as IoT's. */
export const OWNERSHIP_TOKEN_LIFETIME_MS = 3_600_000;

/**
 * The certificate ownership tokens CreateCertificateFromCsr hands out and RegisterThing takes
 * (https://docs.aws.amazon.com/iot/latest/developerguide/fleet-provision-api.html): an opaque random
 * token per new certificate, good for an hour. A certificate whose token expired before anything
 * activated it is deleted, as IoT does ({@link expire}). Kept in memory: a restart forgets the tokens,
 * and the devices ask for another certificate.
 */
export class OwnershipTokens {
  private readonly tokens = new Map<string, { readonly certificateId: string; readonly issuedAt: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly lifetimeMs = OWNERSHIP_TOKEN_LIFETIME_MS,
  ) {}

  /** A new token for `certificateId`. */
  issue(certificateId: string): string {
    const token = randomBytes(32).toString('base64');
    this.tokens.set(token, { certificateId, issuedAt: this.now() });
    return token;
  }

  /** The certificate a token stands for while it is valid (a retried RegisterThing may use it again). */
  certificateOf(token: string): string | undefined {
    const entry = this.tokens.get(token);
    if (entry === undefined || this.now() - entry.issuedAt >= this.lifetimeMs) return undefined;
    return entry.certificateId;
  }

  /** Forgets the expired tokens. @returns the certificates they stood for */
  expire(): string[] {
    const expired: string[] = [];
    for (const [token, entry] of this.tokens) {
      if (this.now() - entry.issuedAt < this.lifetimeMs) continue;
      this.tokens.delete(token);
      expired.push(entry.certificateId);
    }
    return expired;
  }
}
