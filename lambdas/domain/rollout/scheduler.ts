import { JOB_EXECUTION_STATUSES } from '../../../lib/protocol/jobs.ts';
import type { RolloutStatus } from '../../../lib/protocol/rollouts.ts';
import { epochSeconds, type JobExecution } from '../jobs/execution.ts';
import { retryDecision, timeoutDueAt } from '../jobs/service.ts';
import { emptyCounts, notifiedOf, type RolloutCounters, type StatusCounts } from './counters.ts';
import { type AbortResult, evaluateAbort, evaluateWaveGate, type WaveGateResult } from './gates.ts';
import type { HealthVerdict } from './health-gate.ts';
import { type PacingHold, pacingHold } from './pacing.ts';
import { ratePerMinute } from './rate.ts';
import type { RolloutRecord } from './record.ts';
import { type RolloutEvent, RolloutStateError, transitionRollout } from './rollout-status.ts';
import { type WindowState, windowState } from './window.ts';

/** A planned device not yet notified, with what pacing needs to know of it now. */
export interface Candidate {
  readonly thingName: string;
  readonly wave: number;
  /** What it runs now: the execution's `previousVersion`. */
  readonly firmwareVersion: string;
  readonly rsrp?: number;
  readonly batteryPercent?: number;
}

/** What the scheduler knows on one tick. */
export interface RolloutSnapshot {
  readonly rollout: RolloutRecord;
  /**
   * Planned devices not yet notified, in plan order, from waves up to the one after the current one (the
   * gate may open it on this tick). A page as long as the rate allows per minute is enough.
   */
  readonly candidates: readonly Candidate[];
  /** Executions that may need the service: IN_PROGRESS ones with a timer, FAILED and TIMED_OUT ones. */
  readonly watched: readonly JobExecution[];
  /**
   * The health gate's latest verdict, when the rollout has a gate. A rollout with a gate completes only
   * on a `pass`: one whose devices all updated before the gate had data keeps being watched.
   */
  readonly health?: HealthVerdict;
  /** When `health` was measured (epoch seconds): a pass opens the next wave only if measured after it filled. */
  readonly healthCheckedAt?: number;
}

/** A status change the decision makes. */
export interface StatusChange {
  readonly from: RolloutStatus;
  readonly to: RolloutStatus;
  readonly event: RolloutEvent;
  readonly reason: string;
}

/** What to do now. Times are epoch seconds. */
export interface RolloutDecision {
  /** The record to store (status, wave, gate and rate memory). */
  readonly rollout: RolloutRecord;
  readonly changes: readonly StatusChange[];
  /** Create a QUEUED execution for each. */
  readonly queue: readonly Candidate[];
  /** Retry these things' executions (`retryExecution`). */
  readonly retry: readonly string[];
  /** Time these things' executions out (`timeOut`). */
  readonly timeOut: readonly string[];
  /** Cancel every QUEUED execution of the rollout (it was canceled or is rolled back). */
  readonly cancelQueued: boolean;
  /** Build and start the rollback (`rollbackPlan`). */
  readonly rollback: boolean;
  /** Candidates looked at and held back by pacing, by reason. */
  readonly waitingOnPacing: Readonly<Record<PacingHold, number>>;
  readonly window: WindowState;
  readonly ratePerMinute: number;
  readonly gate?: WaveGateResult;
  /** Why the current wave's gate passed but the next wave stays closed: the health gate has no pass on it. */
  readonly waitingOnHealth?: string;
  readonly abort?: AbortResult;
  /** The next time the decision can change with no new input (a soak ends, a retry or timer is due). */
  readonly wakeAt?: number;
}

function since(counts: StatusCounts, baseline: StatusCounts | undefined): StatusCounts {
  if (baseline === undefined) return counts;
  const out = emptyCounts();
  for (const status of JOB_EXECUTION_STATUSES) out[status] = Math.max(0, counts[status] - baseline[status]);
  return out;
}

/**
 * Why a rollout with a health gate may not open its next wave yet, although the current wave's own gate
 * passed; undefined when it may. The gate must have a pass measured at or after the moment the wave
 * filled (`filledAt`: its success threshold met, or every device notified), so the verdict covers the
 * devices updated so far; a pass from before judged fewer devices, and `insufficientData` (less than
 * `minDeviceHours` per cohort) judged none.
 */
function healthHold(snapshot: RolloutSnapshot, filledAt: number | undefined): string | undefined {
  if (snapshot.rollout.request.healthGate === undefined) return undefined;
  const health = snapshot.health;
  if (health?.verdict !== 'pass')
    return `the health gate has no pass yet${health === undefined ? '' : ` (${health.verdict}: ${health.reason})`}`;
  const checkedAt = snapshot.healthCheckedAt;
  if (checkedAt === undefined || (filledAt !== undefined && checkedAt < filledAt))
    return 'the health gate passed before this wave filled; waiting for a verdict on its devices';
  return undefined;
}

/**
 * The scheduler's decision for one rollout at `nowMs`. In order:
 *
 * 1. In-progress timers that expired are timed out, whatever the rollout's status (a canceled rollout's
 *    running executions still end).
 * 2. A failed health gate rolls the rollout back and cancels what is queued.
 * 3. A met abort criterion pauses or cancels the rollout.
 * 4. A closed maintenance window sends the rollout back to SCHEDULED; an open one starts it.
 * 5. Only IN_PROGRESS queues anything: the current wave's gate may open the next wave (with a health
 *    gate, only once it has a pass on the wave's devices, see {@link healthHold}); retries that are
 *    due go first (finishing what started before starting more), then candidates of opened waves that
 *    pacing does not hold, all within the per-minute rate.
 * 6. With every planned device notified and every execution ended (and the health gate, if any, passed),
 *    the rollout is COMPLETED.
 */
export function nextActions(
  snapshot: RolloutSnapshot,
  counters: RolloutCounters,
  nowMs: number,
): RolloutDecision {
  const now = epochSeconds(nowMs);
  const record = snapshot.rollout;
  const request = record.request;
  const window = windowState(request.maintenanceWindows, nowMs);
  const wakes: number[] = [];
  const changes: StatusChange[] = [];
  let status = record.status;
  const move = (event: RolloutEvent, reason: string): boolean => {
    const next = transitionRollout(status, event, 'scheduler');
    if (next instanceof RolloutStateError) return false;
    changes.push({ from: status, to: next, event, reason });
    status = next;
    return true;
  };

  const timeOut: string[] = [];
  for (const execution of snapshot.watched) {
    const due = timeoutDueAt(execution);
    if (due === undefined) continue;
    if (due <= now) timeOut.push(execution.thingName);
    else wakes.push(due);
  }

  const idle = {
    queue: [],
    retry: [],
    timeOut,
    cancelQueued: false,
    rollback: false,
    waitingOnPacing: { lowSignal: 0, lowBattery: 0 },
    window,
    ratePerMinute: 0,
  };
  const finish = (extra: Partial<RolloutDecision>, memory: Partial<RolloutRecord> = {}): RolloutDecision => {
    const last = changes[changes.length - 1];
    const { gateMetAt: _old, ...rest } = record;
    const { gateMetAt: _new, ...remembered } = memory;
    const gateMetAt = 'gateMetAt' in memory ? memory.gateMetAt : record.gateMetAt;
    const rollout: RolloutRecord = {
      ...rest,
      ...remembered,
      ...(gateMetAt === undefined ? {} : { gateMetAt }),
      status,
      ...(last === undefined ? {} : { statusReason: last.reason }),
      updatedAt: now,
    };
    const wakeAt = wakes.filter((t) => t > now);
    return {
      ...idle,
      ...extra,
      rollout,
      changes,
      ...(wakeAt.length === 0 ? {} : { wakeAt: Math.min(...wakeAt) }),
    };
  };

  if (
    snapshot.health?.verdict === 'fail' &&
    move('rollback', `health gate failed: ${snapshot.health.reason}`)
  )
    return finish({ cancelQueued: true, rollback: true });
  if (status !== 'IN_PROGRESS' && status !== 'SCHEDULED') return finish({});

  const abort = evaluateAbort(request.abort, since(counters.rollout, record.abortBaseline));
  if (abort !== undefined) {
    const reason = `abort: ${abort.criterion.failureType} ${abort.failurePercent.toFixed(2)} % of ${abort.notified} ≥ ${abort.criterion.thresholdPercentage} %`;
    if (abort.action === 'cancel' && move('cancel', reason)) return finish({ abort, cancelQueued: true });
    if (abort.action === 'pause' && move('pause', reason)) return finish({ abort });
  }

  if (status === 'IN_PROGRESS' && !window.open) move('windowClosed', 'maintenance window closed');
  if (status === 'SCHEDULED' && window.open) move('start', 'maintenance window open');

  const sizes = record.waveSizes;
  const lastWave = Math.max(0, sizes.length - 1);
  let wave = Math.min(record.currentWave, lastWave);
  let metAt = record.gateMetAt;
  let gate: WaveGateResult | undefined;
  let waitingOnHealth: string | undefined;
  for (;;) {
    gate = evaluateWaveGate(
      wave,
      request.waves?.gate,
      sizes[wave] ?? 0,
      counters.waves[wave] ?? emptyCounts(),
      metAt,
      now,
    );
    metAt = gate.thresholdMetAt;
    if (wave >= lastWave || !gate.passed || status !== 'IN_PROGRESS') break;
    waitingOnHealth = healthHold(snapshot, gate.thresholdMetAt);
    if (waitingOnHealth !== undefined) break;
    wave++;
    metAt = undefined;
  }
  // The last wave's gate opens nothing, so its soak is nothing to wake for.
  if (wave < lastWave && gate.soakEndsAt !== undefined && !gate.passed) wakes.push(gate.soakEndsAt);
  const gateMemory = { currentWave: wave, gateMetAt: metAt };

  const running = status === 'IN_PROGRESS';
  const windowChange = running ? window.closesAt : window.opensAt;
  if (windowChange !== undefined) wakes.push(windowChange);

  const rate = ratePerMinute(request.waves, counters.rollout);
  const minute = Math.floor(now / 60);
  const used = record.rateWindow?.minute === minute ? record.rateWindow.queued : 0;
  let budget = running ? Math.max(0, rate - used) : 0;
  // Something was left for lack of rate alone: the next minute has a fresh budget.
  let rateBound = false;

  const retry: string[] = [];
  let retriesPending = 0;
  for (const execution of snapshot.watched) {
    const decision = retryDecision(execution, request.retries, nowMs);
    if (decision.kind === 'due' || decision.kind === 'waiting') retriesPending++;
    if (decision.kind === 'waiting') wakes.push(decision.dueAt);
    if (decision.kind !== 'due' || !running) continue;
    if (budget <= 0) {
      rateBound = true;
      continue;
    }
    retry.push(execution.thingName);
    budget--;
  }

  const queue: Candidate[] = [];
  const waitingOnPacing = { lowSignal: 0, lowBattery: 0 };
  for (const candidate of running ? snapshot.candidates : []) {
    if (candidate.wave > wave) continue;
    const hold = pacingHold(candidate, request.pacing);
    if (hold !== undefined) {
      waitingOnPacing[hold]++;
      continue;
    }
    if (budget <= 0) {
      rateBound = true;
      continue;
    }
    queue.push(candidate);
    budget--;
  }
  if (rateBound) wakes.push((minute + 1) * 60);
  const queuedNow = retry.length + queue.length;

  // SCHEDULED can complete too: the last executions may end after the window closed.
  const planned = sizes.reduce((sum, size) => sum + size, 0);
  const pending = counters.rollout.QUEUED + counters.rollout.IN_PROGRESS;
  const judged = request.healthGate === undefined || snapshot.health?.verdict === 'pass';
  if (
    judged &&
    wave === lastWave &&
    notifiedOf(counters.rollout) >= planned &&
    pending === 0 &&
    queuedNow === 0 &&
    retriesPending === 0
  )
    move('complete', 'every planned device was notified and every execution ended');

  return finish(
    {
      queue,
      retry,
      waitingOnPacing,
      ratePerMinute: rate,
      gate,
      ...(waitingOnHealth === undefined ? {} : { waitingOnHealth }),
      ...(abort === undefined ? {} : { abort }),
    },
    running ? { ...gateMemory, rateWindow: { minute, queued: used + queuedNow } } : gateMemory,
  );
}
