import type { RolloutRequest, RolloutStatus } from '../../../lib/protocol/rollouts.ts';
import { epochSeconds } from '../jobs/execution.ts';
import type { RolloutCounters, StatusCounts } from './counters.ts';
import type { RolloutPlan } from './plan.ts';
import {
  type RolloutActor,
  type RolloutEvent,
  RolloutStateError,
  transitionRollout,
} from './rollout-status.ts';

/** A rollout as stored: its request, its plan's shape, and the scheduler's memory. Times are epoch seconds. */
export interface RolloutRecord {
  readonly rolloutId: string;
  readonly status: RolloutStatus;
  /** Why it is in its status, for people (`abort: FAILED 12.5 % ≥ 10 %`). */
  readonly statusReason?: string;
  readonly request: RolloutRequest;
  /** Planned devices per wave, the control wave included. */
  readonly waveSizes: readonly number[];
  /**
   * The wave that holds the control cohort (the last one), when the rollout has a health gate: opened like
   * any other wave, once the gate has passed; the gate stops measuring then, having no control left.
   */
  readonly controlWave?: number;
  /** The wave being offered (0-based); earlier waves' stragglers are still offered. */
  readonly currentWave: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly startsAt: number;
  /**
   * When the current wave's success threshold was first met (its soak runs from here); for a wave without
   * a success gate, when it was first fully notified. A health gate's pass counts for the wave only when
   * measured at or after this.
   */
  readonly gateMetAt?: number;
  /** Executions queued in the current minute, for the per-minute rate. */
  readonly rateWindow?: { readonly minute: number; readonly queued: number };
  /**
   * Counts when an operator last resumed: abort criteria judge only what happened since, or a rollout
   * paused by its abort criterion would pause again the moment it is resumed.
   */
  readonly abortBaseline?: StatusCounts;
}

/** A new rollout's record, from its request and plan. */
export function createRolloutRecord(
  rolloutId: string,
  request: RolloutRequest,
  plan: RolloutPlan,
  nowMs: number,
): RolloutRecord {
  const now = epochSeconds(nowMs);
  return {
    rolloutId,
    status: plan.status,
    request,
    waveSizes: plan.waveSizes,
    ...(plan.controlWave === undefined ? {} : { controlWave: plan.controlWave }),
    currentWave: 0,
    createdAt: now,
    updatedAt: now,
    startsAt: plan.startsAt,
  };
}

/**
 * Applies an operator's (or the scheduler's) command to a rollout: pause, resume, cancel, rollback. A
 * resume records the current counts as the abort baseline.
 *
 * @param counters the rollout's counters; needed for `resume`
 */
export function applyRolloutEvent(
  record: RolloutRecord,
  event: RolloutEvent,
  actor: RolloutActor,
  nowMs: number,
  reason: string,
  counters?: RolloutCounters,
): RolloutRecord | RolloutStateError {
  const status = transitionRollout(record.status, event, actor);
  if (status instanceof RolloutStateError) return status;
  return {
    ...record,
    status,
    statusReason: reason,
    updatedAt: epochSeconds(nowMs),
    ...(event === 'resume' && counters !== undefined ? { abortBaseline: counters.rollout } : {}),
  };
}
