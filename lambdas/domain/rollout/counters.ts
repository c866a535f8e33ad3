import { JOB_EXECUTION_STATUSES, type JobExecutionStatus } from '../../../lib/protocol/jobs.ts';
import type { JobExecution } from '../jobs/execution.ts';

/**
 * Rollout progress as counters: for the rollout and for each wave, how many executions are in each
 * status. Counters move by increments as executions change (an atomic ADD per change in DynamoDB), so
 * reading a rollout's progress is a handful of items, never a scan of its executions.
 */

/** Where a counter counts: the whole rollout or one wave. */
export type CounterScope = 'rollout' | `wave:${number}`;

/** One increment, to apply to the counter item (rolloutId, scope, status). */
export interface ExecutionCounterChange {
  readonly rolloutId: string;
  readonly scope: CounterScope;
  readonly status: JobExecutionStatus;
  readonly delta: 1 | -1;
}

function countedIn(execution: JobExecution | undefined): ExecutionCounterChange[] {
  if (execution === undefined) return [];
  const scopes: CounterScope[] = ['rollout'];
  if (execution.wave !== undefined) scopes.push(`wave:${execution.wave}`);
  return scopes.map((scope) => ({ rolloutId: execution.jobId, scope, status: execution.status, delta: 1 }));
}

const keyOf = (c: ExecutionCounterChange) => `${c.rolloutId}\t${c.scope}\t${c.status}`;

/**
 * The increments that move the counters from counting `before` to counting `after`. Applied for every
 * change of every execution, the counters equal a recount of the executions.
 *
 * @param before the execution as counted so far; undefined for a new execution
 * @param after the execution as it is now stored; undefined for a deleted one
 * @returns decrements then increments; empty when the counted status (and wave) did not change
 */
export function counterChanges(
  before: JobExecution | undefined,
  after: JobExecution | undefined,
): ExecutionCounterChange[] {
  const removed = countedIn(before);
  const added = countedIn(after);
  const addedKeys = new Set(added.map(keyOf));
  const removedKeys = new Set(removed.map(keyOf));
  return [
    ...removed.filter((c) => !addedKeys.has(keyOf(c))).map((c) => ({ ...c, delta: -1 as const })),
    ...added.filter((c) => !removedKeys.has(keyOf(c))),
  ];
}

/** Executions per status. */
export type StatusCounts = Readonly<Record<JobExecutionStatus, number>>;

/** A rollout's counters, as read back. */
export interface RolloutCounters {
  readonly rollout: StatusCounts;
  /** By wave index; a wave with no executions yet may be missing. */
  readonly waves: Readonly<Record<number, StatusCounts>>;
}

/** One counter item as stored. */
export interface ExecutionCounterItem {
  readonly scope: string;
  readonly status: string;
  readonly value: number;
}

/** Zero executions in every status. */
export function emptyCounts(): Record<JobExecutionStatus, number> {
  return {
    QUEUED: 0,
    IN_PROGRESS: 0,
    SUCCEEDED: 0,
    FAILED: 0,
    TIMED_OUT: 0,
    REJECTED: 0,
    CANCELED: 0,
    REMOVED: 0,
  };
}

/** Adds up counter items (of one rollout) into {@link RolloutCounters}; unknown scopes and statuses are ignored. */
export function tallyCounters(items: Iterable<ExecutionCounterItem>): RolloutCounters {
  const rollout = emptyCounts();
  const waves: Record<number, Record<JobExecutionStatus, number>> = {};
  for (const { scope, status, value } of items) {
    if (!(JOB_EXECUTION_STATUSES as readonly string[]).includes(status)) continue;
    const key = status as JobExecutionStatus;
    if (scope === 'rollout') {
      rollout[key] += value;
    } else if (/^wave:\d+$/.test(scope)) {
      const wave = Number(scope.slice('wave:'.length));
      waves[wave] ??= emptyCounts();
      waves[wave][key] += value;
    }
  }
  return { rollout, waves };
}

/** Every execution counted: things notified (an execution is created when its thing is notified). */
export function notifiedOf(counts: StatusCounts): number {
  return JOB_EXECUTION_STATUSES.reduce((sum, status) => sum + counts[status], 0);
}

/** Progress of a group of executions. */
export interface ProgressView {
  readonly notified: number;
  readonly byStatus: StatusCounts;
  /** QUEUED + IN_PROGRESS. */
  readonly pending: number;
  /** FAILED + TIMED_OUT + REJECTED. */
  readonly failed: number;
  /** Percent of notified, one decimal; 0 when none. */
  readonly succeededPercent: number;
  readonly failedPercent: number;
}

/** The `GET /rollouts/{id}` progress body. */
export interface RolloutStatusView extends ProgressView {
  readonly waves: readonly (ProgressView & { readonly wave: number })[];
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0);

function progressOf(counts: StatusCounts): ProgressView {
  const notified = notifiedOf(counts);
  const failed = counts.FAILED + counts.TIMED_OUT + counts.REJECTED;
  return {
    notified,
    byStatus: counts,
    pending: counts.QUEUED + counts.IN_PROGRESS,
    failed,
    succeededPercent: percent(counts.SUCCEEDED, notified),
    failedPercent: percent(failed, notified),
  };
}

/** A rollout's progress from its counters, waves in order. */
export function rolloutStatusView(counters: RolloutCounters): RolloutStatusView {
  const waves = Object.entries(counters.waves)
    .map(([wave, counts]) => ({ wave: Number(wave), ...progressOf(counts) }))
    .sort((a, b) => a.wave - b.wave);
  return { ...progressOf(counters.rollout), waves };
}
