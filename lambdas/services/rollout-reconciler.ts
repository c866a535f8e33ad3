import type { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import type { DynamoRolloutCounterStore, RolloutCounters } from '../adapters/dynamo-rollout-counters.ts';
import type { DynamoRolloutStore } from '../adapters/dynamo-rollout-store.ts';
import { counterChanges } from '../domain/rollout/counters.ts';
import type { Logger } from '../shared/logger.ts';
import { rollbackJobId } from './rollout-scheduler.ts';

export interface RolloutReconcilerProps {
  readonly rollouts: Pick<DynamoRolloutStore, 'list'>;
  readonly executions: Pick<DynamoJobExecutionStore, 'allOf'>;
  readonly counters: Pick<DynamoRolloutCounterStore, 'read' | 'replace'>;
  readonly log: Logger;
  readonly now: () => number;
}

/** What the reconciler found for one job. */
export interface ReconcileReport {
  readonly jobId: string;
  readonly executions: number;
  readonly outcome: 'ok' | 'fixed' | 'busy';
}

/** Counters as a comparable string: scopes and counters sorted, zeros left out. */
function canonical(counters: RolloutCounters): string {
  return JSON.stringify(
    counters
      .map(({ scope, counters: values }) => [
        scope,
        Object.entries(values)
          .filter(([, v]) => v !== 0)
          .sort(([a], [b]) => (a < b ? -1 : 1)),
      ])
      .filter(([, values]) => (values as unknown[]).length > 0)
      .sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)),
  );
}

/**
 * Rebuilds rollout counters from the executions themselves: reads every execution of each rollout (and
 * of its rollback jobs), counts them as the increments would, and replaces the counters where they
 * drifted (an increment lost when a handler died between the execution write and the counter ADD).
 * A job whose counters moved while it was being recounted is busy: left for the next run rather than
 * overwritten with a count that is already stale.
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
    const before = canonical(await this.props.counters.read(jobId));
    const recount = new Map<string, Record<string, number>>();
    let executions = 0;
    for await (const page of this.props.executions.allOf(jobId)) {
      for (const execution of page) {
        executions++;
        for (const change of counterChanges(undefined, execution)) {
          const scope = recount.get(change.scope) ?? {};
          scope[change.status] = (scope[change.status] ?? 0) + change.delta;
          recount.set(change.scope, scope);
        }
      }
    }
    const counted: RolloutCounters = [...recount].map(([scope, counters]) => ({ scope, counters }));
    if (canonical(counted) === before) return { jobId, executions, outcome: 'ok' };
    if (canonical(await this.props.counters.read(jobId)) !== before)
      return { jobId, executions, outcome: 'busy' };
    // Scopes the recount has no execution in are zeroed, not left behind.
    const stale = (await this.props.counters.read(jobId))
      .filter(({ scope }) => !recount.has(scope))
      .map(({ scope }) => ({ scope, counters: {} }));
    await this.props.counters.replace(jobId, [...counted, ...stale], Math.floor(this.props.now() / 1000));
    this.props.log.warn('rollout counters drifted; rebuilt from the executions', { jobId, executions });
    return { jobId, executions, outcome: 'fixed' };
  }
}
