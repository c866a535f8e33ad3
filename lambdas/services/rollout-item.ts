import type { HealthVerdict } from '../domain/rollout/health-gate.ts';
import type { PacingHold } from '../domain/rollout/pacing.ts';
import type { RolloutRecord } from '../domain/rollout/record.ts';
import type { SkipReason } from '../domain/rollout/targets.ts';

/** One rollback job the health gate (or an operator) started: its things go back to `toVersion`. */
export interface RollbackJobRecord {
  readonly jobId: string;
  readonly toVersion: string;
  readonly things: number;
  /** Why no execution was queued (the old image is not in the registry); the things stay where they are. */
  readonly blocked?: string;
}

/**
 * A rollout as the service stores it: the domain record plus the service's bookkeeping. `revision` is
 * the compare-and-set key: operators and the scheduler both write conditionally on it.
 */
export interface RolloutItem extends RolloutRecord {
  readonly revision: number;
  readonly selection: {
    readonly targeted: number;
    readonly eligible: number;
    readonly control: number;
    readonly skipped: Readonly<Record<SkipReason, number>>;
  };
  /** Candidates the last tick held back, by reason (radio- and battery-aware pacing). */
  readonly waitingOnPacing?: Readonly<Record<PacingHold, number>>;
  /** The health gate's last verdict, and when (epoch seconds). */
  readonly health?: HealthVerdict & { readonly checkedAt: number; readonly sampled: number };
  /** Where the next tick's candidate page starts (the last target key fully dealt with). */
  readonly candidateCursor?: string;
  /** Work a command left for the scheduler: cancel what is queued, start the rollback. */
  readonly pendingWork?: { readonly cancelQueued?: boolean; readonly rollback?: boolean };
  readonly rollbackJobs?: readonly RollbackJobRecord[];
  /**
   * After a rollback, while devices that may run the image without having said so are owed a check (the
   * plan store lists them): re-read a page per tick from `cursor` until `until` (epoch seconds).
   */
  readonly rollbackWatch?: { readonly since: number; readonly until: number; readonly cursor?: string };
  /** Why the next wave stays closed although the current one passed its gate: no health-gate pass on it. */
  readonly waitingOnHealth?: string;
  /** The scheduler's last visit and when it wants to come back (epoch seconds). */
  readonly lastTickAt?: number;
  readonly wakeAt?: number;
}

/** Statuses the scheduler still visits (with pending work, a finished one too). */
export const ACTIVE_ROLLOUT_STATUSES = ['SCHEDULED', 'IN_PROGRESS', 'PAUSED'] as const;
