import type { RecoveryAction } from '../../../lib/protocol/modem.ts';

/** How recovery waits between attempts. */
export interface BackoffPolicy {
  /** Wait before the second attempt. @default 5_000 */
  readonly baseMs: number;
  /** Growth per attempt. @default 2 */
  readonly factor: number;
  /** Cap on any wait. @default 600_000 (10 min) */
  readonly maxMs: number;
  /**
   * Fraction of the wait taken off at random, so that a cell full of devices that lost the network
   * together does not come back in lockstep. @default 0.2
   */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 5_000, factor: 2, maxMs: 600_000, jitter: 0.2 };

/**
 * Wait before recovery attempt `attempt` (1-based): none before the first, then `baseMs × factor^(n-2)`
 * capped at `maxMs`, less up to `jitter` of it. `random` returns [0, 1) and is injected for tests.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  if (attempt <= 1) return 0;
  const raw = Math.min(policy.maxMs, policy.baseMs * policy.factor ** (attempt - 2));
  return Math.round(raw * (1 - policy.jitter * random()));
}

/** The first `reRegisterAttempts` attempts re-register (cheap, keeps the modem up); later ones reset it. */
export function recoveryActionFor(attempt: number, reRegisterAttempts: number): RecoveryAction {
  return attempt <= reRegisterAttempts ? 're-register' : 'reset';
}
