import { type DynamoJobExecutionStore, EXECUTION_SHARDS } from '../adapters/dynamo-job-execution-store.ts';
import type {
  DynamoRolloutCounterStore,
  RolloutCounterChange,
  RolloutCounters,
} from '../adapters/dynamo-rollout-counters.ts';
import type { DynamoRolloutStore } from '../adapters/dynamo-rollout-store.ts';
import { counterChanges } from '../domain/rollout/counters.ts';
import type { Logger } from '../shared/logger.ts';
import { rollbackJobId } from './rollout-rollback.ts';

export interface RolloutReconcilerProps {
  readonly rollouts: Pick<DynamoRolloutStore, 'list'>;
  readonly executions: Pick<DynamoJobExecutionStore, 'byRollout'>;
  readonly counters: Pick<DynamoRolloutCounterStore, 'read' | 'apply' | 'note' | 'setNote'>;
  readonly log: Logger;
  readonly now: () => number;
}

/** Executions per Query page when recounting. */
const SHARD_PAGE = 1000;

/**
 * What the reconciler found for one job: `ok` (counters equal the recount), `suspect` (they differ; noted,
 * to be confirmed by the next run), `fixed` (the same drift twice in a row: corrected).
 */
export interface ReconcileReport {
  readonly jobId: string;
  readonly executions: number;
  readonly outcome: 'ok' | 'suspect' | 'fixed';
  readonly drift?: readonly RolloutCounterChange[];
}

/** recount − stored, per scope and status, zeros left out, in a stable order. */
function driftOf(
  jobId: string,
  recount: ReadonlyMap<string, Readonly<Record<string, number>>>,
  stored: RolloutCounters,
): RolloutCounterChange[] {
  const keys = new Map<string, { scope: string; counter: string; delta: number }>();
  const add = (scope: string, counter: string, delta: number) => {
    const key = `${scope}\t${counter}`;
    const entry = keys.get(key) ?? { scope, counter, delta: 0 };
    entry.delta += delta;
    keys.set(key, entry);
  };
  for (const [scope, values] of recount)
    for (const [counter, n] of Object.entries(values)) add(scope, counter, n);
  for (const { scope, counters } of stored)
    for (const [counter, n] of Object.entries(counters)) add(scope, counter, -n);
  return [...keys.values()]
    .filter((entry) => entry.delta !== 0)
    .sort((a, b) => (a.scope === b.scope ? (a.counter < b.counter ? -1 : 1) : a.scope < b.scope ? -1 : 1))
    .map((entry) => ({ rolloutId: jobId, ...entry }));
}

/**
 * Rebuilds rollout counters from the executions themselves (an increment is lost when a handler dies
 * between the execution write and the counter ADD). Each run recounts every execution of each rollout
 * and of its rollback jobs (the shards of the executions' byRollout index read in parallel) and takes
 * the difference with the counters. A lost increment is a drift that
 * stays put; a recount racing live updates (or an index that lags, as DynamoDB's GSIs may) gives one that
 * moves. So a drift is only noted on the first run, and corrected — as increments, which commute with the
 * live ones, so a busy rollout can be fixed too — when the next run finds exactly the same drift.
 */
export class RolloutReconciler {
  constructor(private readonly props: RolloutReconcilerProps) {}

  async run(): Promise<ReconcileReport[]> {
    const reports: ReconcileReport[] = [];
    let token: string | undefined;
    do {
      const page = await this.props.rollouts.list(100, token);
      for (const item of page.items) {
        reports.push(await this.reconcile(item.rolloutId));
        for (const [n] of (item.rollbackJobs ?? []).entries())
          reports.push(await this.reconcile(rollbackJobId(item.rolloutId, n)));
      }
      token = page.nextToken;
    } while (token !== undefined);
    return reports;
  }

  async reconcile(jobId: string): Promise<ReconcileReport> {
    const recount = new Map<string, Record<string, number>>();
    let executions = 0;
    // Every shard of the byRollout index at once, each a page at a time: a million executions are read
    // in the time of the largest shard, not of all sixteen one after another.
    await Promise.all(
      Array.from({ length: EXECUTION_SHARDS }, async (_, shard) => {
        let token: string | undefined;
        do {
          const page = await this.props.executions.byRollout(jobId, shard, SHARD_PAGE, token);
          for (const execution of page.items) {
            executions++;
            for (const change of counterChanges(undefined, execution)) {
              const scope = recount.get(change.scope) ?? {};
              scope[change.status] = (scope[change.status] ?? 0) + change.delta;
              recount.set(change.scope, scope);
            }
          }
          token = page.nextToken;
        } while (token !== undefined);
      }),
    );
    const drift = driftOf(jobId, recount, await this.props.counters.read(jobId));
    const seen = drift.length === 0 ? undefined : JSON.stringify(drift);
    const noted = await this.props.counters.note(jobId);
    const at = Math.floor(this.props.now() / 1000);
    if (seen === undefined) {
      if (noted !== undefined) await this.props.counters.setNote(jobId, undefined, at);
      return { jobId, executions, outcome: 'ok' };
    }
    if (noted !== seen) {
      await this.props.counters.setNote(jobId, seen, at);
      return { jobId, executions, outcome: 'suspect', drift };
    }
    await this.props.counters.apply(drift);
    await this.props.counters.setNote(jobId, undefined, at);
    this.props.log.warn('rollout counters drifted; corrected from a recount of the executions', {
      jobId,
      executions,
      drift,
    });
    return { jobId, executions, outcome: 'fixed', drift };
  }
}
