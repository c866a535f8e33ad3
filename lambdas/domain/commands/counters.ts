import { COMMAND_EXECUTION_STATUSES, type CommandExecutionStatus } from '../../../lib/protocol/commands.ts';
import { shardOf } from '../shard.ts';

/**
 * A fleet command's progress as counters, as rollouts keep theirs (`domain/rollout/counters.ts`): every
 * change of an execution moves one counter down and one up by atomic increments, so `GET /commands/{id}`
 * reads a handful of items whatever the batch's size, never its executions.
 *
 * Unlike a rollout's, a batch's counters are spread over {@link COUNTER_SHARDS} items, chosen by the
 * device: ten thousand devices answering within seconds would otherwise all write one item, past what
 * one DynamoDB item takes per second.
 */

/** Counter items per batch. */
export const COUNTER_SHARDS = 16;

/** The counter item (`shard:<n>`) a device's changes go to: a stable hash of its id. */
export function counterScope(deviceId: string): string {
  return `shard:${shardOf(deviceId, COUNTER_SHARDS)}`;
}

/** What counting needs of an execution. */
export interface CountedExecution {
  readonly deviceId: string;
  readonly status: CommandExecutionStatus;
  readonly batchId?: string;
}

/** One increment of one counter of one batch. */
export interface CommandCounterChange {
  readonly batchId: string;
  readonly scope: string;
  readonly status: CommandExecutionStatus;
  readonly delta: number;
}

/**
 * The increments that move a batch's counters from counting `before` to counting `after`; empty for an
 * execution of no batch, or when its status did not change.
 *
 * @param before undefined for a new execution
 */
export function commandCounterChanges(
  before: CountedExecution | undefined,
  after: CountedExecution,
): CommandCounterChange[] {
  const batchId = after.batchId;
  if (batchId === undefined || before?.status === after.status) return [];
  const scope = counterScope(after.deviceId);
  return [
    ...(before === undefined ? [] : [{ batchId, scope, status: before.status, delta: -1 as const }]),
    { batchId, scope, status: after.status, delta: 1 },
  ];
}

/**
 * The increments that count new executions written together by one writer (a step of a fleet command's
 * creation), summed onto one counter item: the `step`th shard, in turn. Status reads add up all of a
 * batch's items, so where an increment lands changes no total (a shard may then hold a negative count,
 * its devices' answers having moved executions counted elsewhere); the shards are there for increments
 * that race — devices answering at once — and one writer's steps do not. One ADD per step, not one per
 * shard its devices fall in.
 */
export function newExecutionCounterChanges(
  executions: readonly CountedExecution[],
  step: number,
): CommandCounterChange[] {
  const scope = `shard:${step % COUNTER_SHARDS}`;
  const counts = new Map<string, Map<CommandExecutionStatus, number>>();
  for (const execution of executions) {
    if (execution.batchId === undefined) continue;
    const byStatus = counts.get(execution.batchId) ?? new Map<CommandExecutionStatus, number>();
    byStatus.set(execution.status, (byStatus.get(execution.status) ?? 0) + 1);
    counts.set(execution.batchId, byStatus);
  }
  return [...counts].flatMap(([batchId, byStatus]) =>
    [...byStatus].map(([status, delta]) => ({ batchId, scope, status, delta })),
  );
}

/** Executions per status. */
export type CommandCounts = Readonly<Record<CommandExecutionStatus, number>>;

/** Adds up counter items of one batch (status → value per shard); unknown statuses are ignored. */
export function tallyCommandCounters(
  items: Iterable<Readonly<Record<string, number>>>,
): Record<CommandExecutionStatus, number> {
  const counts = Object.fromEntries(COMMAND_EXECUTION_STATUSES.map((s) => [s, 0])) as Record<
    CommandExecutionStatus,
    number
  >;
  for (const item of items)
    for (const status of COMMAND_EXECUTION_STATUSES) counts[status] += item[status] ?? 0;
  return counts;
}

/** A batch's progress as `GET /commands/{batchId}` shows it. */
export interface BatchProgress {
  readonly total: number;
  readonly byStatus: CommandCounts;
  /** Held or not yet sent (CREATED), sent and unanswered (SENT), started (IN_PROGRESS). */
  readonly pending: number;
  readonly succeeded: number;
  /** FAILED + REJECTED + TIMED_OUT: the device could not, would not, or did not say. */
  readonly failed: number;
  /** Never delivered before they expired. */
  readonly expired: number;
  /** Percent of the total, one decimal. */
  readonly succeededPercent: number;
  readonly failedPercent: number;
}

const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1000) / 10 : 0);

/** Progress from the counts. */
export function batchProgress(counts: CommandCounts): BatchProgress {
  const total = COMMAND_EXECUTION_STATUSES.reduce((sum, status) => sum + counts[status], 0);
  const failed = counts.FAILED + counts.REJECTED + counts.TIMED_OUT;
  return {
    total,
    byStatus: counts,
    pending: counts.CREATED + counts.SENT + counts.IN_PROGRESS,
    succeeded: counts.SUCCEEDED,
    failed,
    expired: counts.EXPIRED,
    succeededPercent: percent(counts.SUCCEEDED, total),
    failedPercent: percent(failed, total),
  };
}
