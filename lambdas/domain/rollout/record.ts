import type { RolloutRequest, RolloutStatus } from '../../../lib/protocol/rollouts.ts';
import { epochSeconds } from '../jobs/execution.ts';
import type { RolloutCounters, StatusCounts } from './counters.ts';
import type { RolloutPlan } from './plan.ts';
import type { PlanningRecord, TargetLayout } from './planning.ts';
import {
  type RolloutActor,
  type RolloutEvent,
  RolloutStateError,
  transitionRollout,
} from './rollout-status.ts';
import type { FirmwareImage } from './targets.ts';

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
  /** Its planning: present from the moment it was accepted (the first layout of plans has none). */
  readonly planning?: PlanningRecord;
  /** How its targets are keyed in the plan store, once the plan is cut (absent: the first layout). */
  readonly targets?: TargetLayout;
}

/** Whether the record's plan is still being made. */
export function isPlanning(record: Pick<RolloutRecord, 'planning'>): boolean {
  return record.planning !== undefined && record.planning.finishedAt === undefined;
}

/** A rollout just accepted: PLANNING, no waves yet; the planner selects and orders its devices. */
export function createPlanningRecord(
  rolloutId: string,
  request: RolloutRequest,
  image: FirmwareImage,
  nowMs: number,
): RolloutRecord {
  const now = epochSeconds(nowMs);
  return {
    rolloutId,
    status: 'PLANNING',
    request,
    waveSizes: [],
    currentWave: 0,
    createdAt: now,
    updatedAt: now,
    startsAt: now,
    planning: { startedAt: now, image },
  };
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
 * resume records the current counts as the abort baseline, and goes back to PLANNING when the rollout
 * was paused while planning and its plan is not cut yet.
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
  const next = transitionRollout(record.status, event, actor);
  if (next instanceof RolloutStateError) return next;
  const status = next === 'IN_PROGRESS' && event === 'resume' && isPlanning(record) ? 'PLANNING' : next;
  return {
    ...record,
    status,
    statusReason: reason,
    updatedAt: epochSeconds(nowMs),
    ...(event === 'resume' && counters !== undefined ? { abortBaseline: counters.rollout } : {}),
  };
}
