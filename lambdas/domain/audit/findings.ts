import type { Finding } from './model.ts';

/** A finding as the findings table keeps it. */
export interface StoredFinding extends Finding {
  /** `<check>#<resource>`: unique per device. */
  readonly findingId: string;
  /** When the audit first found it (kept while it persists), epoch ms. */
  readonly firstFoundAt: number;
  /** When the audit last found it, epoch ms. */
  readonly checkedAt: number;
  /**
   * Epoch seconds after which DynamoDB's TTL removes it: a finding of a device the audit no longer visits
   * (deleted from the registry) does not stay for ever. Every pass renews it.
   */
  readonly expiresAt: number;
}

/** The id of a finding within its device. */
export function findingIdOf(finding: Pick<Finding, 'check' | 'resource'>): string {
  return `${finding.check}#${finding.resource}`;
}

/**
 * What one device's audit changes: its findings now replace what was stored (kept first-found times),
 * and the stored ones no longer found are removed (fixed).
 *
 * @param ttlMs how long a finding lives without being found again
 */
export function planFindings(
  stored: readonly StoredFinding[],
  found: readonly Finding[],
  now: number,
  ttlMs: number,
): { readonly put: StoredFinding[]; readonly remove: string[] } {
  const before = new Map(stored.map((f) => [f.findingId, f]));
  const put = found.map((finding): StoredFinding => {
    const findingId = findingIdOf(finding);
    return {
      ...finding,
      findingId,
      firstFoundAt: before.get(findingId)?.firstFoundAt ?? now,
      checkedAt: now,
      expiresAt: Math.floor((now + ttlMs) / 1000),
    };
  });
  const current = new Set(put.map((f) => f.findingId));
  return { put, remove: stored.filter((f) => !current.has(f.findingId)).map((f) => f.findingId) };
}
