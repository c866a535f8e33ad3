import { METRICS } from '../../lib/protocol/metrics.ts';
import type { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import type { DynamoRolloutCounterStore } from '../adapters/dynamo-rollout-counters.ts';
import type { DynamoRolloutPlanStore, DynamoRolloutStore } from '../adapters/dynamo-rollout-store.ts';
import {
  epochSeconds,
  type JobExecution,
  JobRequestError,
  queueExecution,
} from '../domain/jobs/execution.ts';
import { cancelExecution, retryExecution, timeOut } from '../domain/jobs/service.ts';
import type { RolloutCounters } from '../domain/rollout/counters.ts';
import { pacingHold } from '../domain/rollout/pacing.ts';
import { ratePerMinute } from '../domain/rollout/rate.ts';
import { rollbackPlan } from '../domain/rollout/rollback.ts';
import { type Candidate, nextActions, type RolloutDecision } from '../domain/rollout/scheduler.ts';
import type { DeviceRecord } from '../ports.ts';
import type { Logger } from '../shared/logger.ts';
import type { Metrics } from '../shared/metrics.ts';
import type { ExecutionChangeListener, JobsService } from './jobs-service.ts';
import type { RolloutHealth } from './rollout-health.ts';
import type { RollbackJobRecord, RolloutItem } from './rollout-item.ts';
import { readCounters, rolloutDeviceOf } from './rollout-service.ts';

/** Most candidates one tick looks at per rollout (and so most it queues). */
export const MAX_CANDIDATE_PAGE = 1000;
/** Executions per shard of the due index one tick looks at. */
const WATCHED_PER_SHARD = 100;

export interface RolloutSchedulerProps {
  readonly rollouts: Pick<DynamoRolloutStore, 'active' | 'save'>;
  readonly plans: Pick<DynamoRolloutPlanStore, 'candidates' | 'removeTargets'>;
  readonly counters: Pick<DynamoRolloutCounterStore, 'read'>;
  readonly executions: Pick<DynamoJobExecutionStore, 'get' | 'save' | 'watched' | 'allOf'>;
  readonly registry: { getMany(ids: readonly string[]): Promise<DeviceRecord[]> };
  readonly jobs: Pick<JobsService, 'notifyNext'>;
  readonly onChange: ExecutionChangeListener;
  readonly health: Pick<RolloutHealth, 'measure'>;
  /** Firmware versions a rollback can send (available in the registry). */
  readonly firmwareAvailable: (version: string) => Promise<boolean>;
  /** Seconds between two health-gate measurements of one rollout. */
  readonly healthCheckSeconds: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
}

/** What one tick did to one rollout. */
export interface TickReport {
  readonly rolloutId: string;
  readonly status: string;
  readonly queued: number;
  readonly retried: number;
  readonly timedOut: number;
  readonly canceled: number;
  readonly rolledBack: number;
  readonly skipped?: 'conflict';
}

/**
 * The rollout scheduler: on every tick, for each active rollout, reads its counters, the executions
 * that need it (timers, retries), the next page of its plan and those devices' radio and battery, asks
 * the domain what to do (`nextActions`), stores the decision (conditional on the rollout's revision, so
 * an operator's command in between wins), then carries it out: queue and notify, time out, retry, cancel,
 * roll back. Every execution write is conditional on the execution's version and counted once.
 */
export class RolloutScheduler {
  constructor(private readonly props: RolloutSchedulerProps) {}

  async tick(): Promise<TickReport[]> {
    const reports: TickReport[] = [];
    for (const item of await this.props.rollouts.active()) {
      try {
        reports.push(await this.advance(item));
      } catch (error) {
        // One rollout's trouble must not hold back the others; the next tick tries it again.
        this.props.log.error('rollout tick failed', {
          rolloutId: item.rolloutId,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    return reports;
  }

  async advance(item: RolloutItem): Promise<TickReport> {
    const nowMs = this.props.now();
    const counters = await readCounters(this.props.counters, item.rolloutId);
    const active = item.status === 'IN_PROGRESS' || item.status === 'SCHEDULED';
    const [watched, page, health] = await Promise.all([
      this.props.executions.watched(item.rolloutId, WATCHED_PER_SHARD),
      active ? this.candidates(item, counters) : Promise.resolve(undefined),
      active ? this.healthIfDue(item, counters, nowMs) : Promise.resolve(undefined),
    ]);
    const latestHealth = health ?? item.health;
    const decision = nextActions(
      {
        rollout: item,
        candidates: page?.candidates ?? [],
        watched: watched.items,
        // The latest verdict: measured now, or the one stored when it is not yet time to measure again.
        ...(latestHealth === undefined ? {} : { health: latestHealth }),
      },
      counters,
      nowMs,
    );
    const cancelQueued = decision.cancelQueued || item.pendingWork?.cancelQueued === true;
    const rollback = decision.rollback || item.pendingWork?.rollback === true;
    const next: RolloutItem = {
      ...item,
      ...decision.rollout,
      revision: item.revision,
      ...(active ? { waitingOnPacing: decision.waitingOnPacing } : {}),
      ...(health === undefined ? {} : { health: { ...health, checkedAt: epochSeconds(nowMs) } }),
      lastTickAt: epochSeconds(nowMs),
      ...(decision.wakeAt === undefined ? {} : { wakeAt: decision.wakeAt }),
    };
    const cursor = page === undefined ? item.candidateCursor : this.cursorAfter(item, decision, page);
    const { candidateCursor: _old, pendingWork: _work, ...rest } = next;
    const saved = await this.props.rollouts.save({
      ...rest,
      ...(cursor === undefined ? {} : { candidateCursor: cursor }),
      // Claimed by this tick: done below, or redone on the next tick if this one dies midway.
      ...(cancelQueued || rollback ? { pendingWork: { cancelQueued, rollback } } : {}),
    } as RolloutItem);
    if (saved === 'conflict') return { ...emptyReport(item), skipped: 'conflict' };
    for (const change of decision.changes)
      this.props.log.info('rollout status changed', { rolloutId: item.rolloutId, ...change });

    const queued = await this.queue(item, decision.queue, page?.keys ?? new Map());
    const timedOut = await this.each(item.rolloutId, decision.timeOut, (e) => timeOut(e, this.props.now()));
    const retried = await this.each(item.rolloutId, decision.retry, (e) =>
      retryExecution(e, item.request.retries, this.props.now()),
    );
    const canceled = cancelQueued ? await this.cancelQueued(item.rolloutId) : 0;
    const rollbackJobs = rollback ? await this.rollback(item) : undefined;
    let final = saved;
    if (cancelQueued || rollback) {
      const { pendingWork: _done, ...done } = saved;
      const cleared = await this.props.rollouts.save({
        ...done,
        ...(rollbackJobs === undefined ? {} : { rollbackJobs }),
      } as RolloutItem);
      if (cleared !== 'conflict') final = cleared;
    }
    const report: TickReport = {
      rolloutId: item.rolloutId,
      status: final.status,
      queued,
      retried,
      timedOut,
      canceled,
      rolledBack:
        rollbackJobs?.reduce((sum, job) => sum + (job.blocked === undefined ? job.things : 0), 0) ?? 0,
    };
    this.emit(final, counters, report);
    return report;
  }

  /** The next page of the plan, with each device's current radio and battery from the registry. */
  private async candidates(
    item: RolloutItem,
    counters: RolloutCounters,
  ): Promise<{ candidates: Candidate[]; keys: Map<string, string>; last?: string; wrapped: boolean }> {
    const lastWave = Math.min(item.currentWave + 1, Math.max(0, item.waveSizes.length - 1));
    const rate = ratePerMinute(item.request.waves, counters.rollout);
    const limit = Math.max(
      100,
      Math.min(MAX_CANDIDATE_PAGE, Number.isFinite(rate) ? rate * 2 : MAX_CANDIDATE_PAGE),
    );
    let page = await this.props.plans.candidates(item.rolloutId, lastWave, limit, item.candidateCursor);
    let wrapped = false;
    if (page.targets.length === 0 && item.candidateCursor !== undefined) {
      page = await this.props.plans.candidates(item.rolloutId, lastWave, limit);
      wrapped = true;
    }
    const records = new Map(
      (await this.props.registry.getMany(page.targets.map((t) => t.thingName))).map((r) => [r.deviceId, r]),
    );
    const keys = new Map<string, string>();
    const candidates = page.targets.map((target) => {
      keys.set(target.thingName, target.key);
      const record = records.get(target.thingName);
      const device = record === undefined ? undefined : rolloutDeviceOf(record);
      return {
        thingName: target.thingName,
        wave: target.wave,
        firmwareVersion: target.previousVersion,
        ...(device?.rsrp === undefined ? {} : { rsrp: device.rsrp }),
        ...(device?.batteryPercent === undefined ? {} : { batteryPercent: device.batteryPercent }),
      };
    });
    return { candidates, keys, ...(page.last === undefined ? {} : { last: page.last }), wrapped };
  }

  /**
   * Where the next tick's page starts: past every candidate this tick queued or pacing held, up to the
   * first one left for lack of rate. Back to the start of the plan at the end of the open waves, so the
   * devices pacing held (or a tick that died midway left) are offered again.
   */
  private cursorAfter(
    item: RolloutItem,
    decision: RolloutDecision,
    page: { candidates: Candidate[]; keys: Map<string, string>; last?: string; wrapped: boolean },
  ): string | undefined {
    const queued = new Set(decision.queue.map((c) => c.thingName));
    let cursor = page.wrapped ? undefined : item.candidateCursor;
    for (const candidate of page.candidates) {
      if (candidate.wave > decision.rollout.currentWave) return undefined;
      const dealtWith =
        queued.has(candidate.thingName) || pacingHold(candidate, item.request.pacing) !== undefined;
      if (!dealtWith) return cursor;
      cursor = page.keys.get(candidate.thingName);
    }
    return page.last === undefined ? undefined : cursor;
  }

  private async healthIfDue(item: RolloutItem, counters: RolloutCounters, nowMs: number) {
    const gate = item.request.healthGate;
    if (gate === undefined || counters.rollout.SUCCEEDED === 0) return undefined;
    const last = item.health?.checkedAt;
    if (last !== undefined && epochSeconds(nowMs) - last < this.props.healthCheckSeconds) return undefined;
    return this.props.health.measure(item.rolloutId, gate, nowMs);
  }

  private async queue(
    item: RolloutItem,
    candidates: readonly Candidate[],
    keys: ReadonlyMap<string, string>,
  ): Promise<number> {
    let queued = 0;
    const timeout = item.request.timeouts?.inProgressTimeoutInMinutes;
    await inBatches(candidates, async (candidate) => {
      const execution = queueExecution(
        {
          jobId: item.rolloutId,
          thingName: candidate.thingName,
          firmwareVersion: item.request.firmwareVersion,
          previousVersion: candidate.firmwareVersion,
          wave: candidate.wave,
          ...(timeout === undefined ? {} : { inProgressTimeoutMinutes: timeout }),
          ...(item.request.retries === undefined ? {} : { retries: item.request.retries }),
        },
        this.props.now(),
      );
      // A conflict: an earlier tick queued it and died before removing the target. Counted then; told
      // again (notify-next is idempotent), in case that tick died before telling it.
      const saved = (await this.props.executions.save(execution, undefined)) === 'saved';
      if (saved) await this.props.onChange(undefined, execution);
      await this.props.jobs.notifyNext(candidate.thingName);
      if (saved) queued++;
    });
    await this.props.plans.removeTargets(
      item.rolloutId,
      candidates.map((c) => keys.get(c.thingName)).filter((k) => k !== undefined),
    );
    return queued;
  }

  /** Applies a service change to each thing's execution of `jobId`; counts the ones that changed. */
  private async each(
    jobId: string,
    things: readonly string[],
    change: (execution: JobExecution) => JobExecution | JobRequestError,
  ): Promise<number> {
    let changed = 0;
    await inBatches(things, async (thingName) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const current = await this.props.executions.get(thingName, jobId);
        if (current === undefined) return;
        const next = change(current);
        // Refused: the device moved it on meanwhile (it succeeded just before its timer fired).
        if (next instanceof JobRequestError) return;
        if ((await this.props.executions.save(next, current.versionNumber)) === 'conflict') continue;
        await this.props.onChange(current, next);
        await this.props.jobs.notifyNext(thingName);
        changed++;
        return;
      }
    });
    return changed;
  }

  private async cancelQueued(rolloutId: string): Promise<number> {
    const queued: string[] = [];
    for await (const page of this.props.executions.allOf(rolloutId))
      for (const execution of page) if (execution.status === 'QUEUED') queued.push(execution.thingName);
    return this.each(rolloutId, queued, (e) =>
      cancelExecution(e, this.props.now(), { statusDetails: { reason: 'rollout stopped' } }),
    );
  }

  /**
   * Sends every device that installed the rollout's image back to the version it had: one rollback job
   * per previous version, its executions queued at once (a rollback is not paced). Executions still
   * running are force-canceled first, so no more devices install the image.
   */
  private async rollback(item: RolloutItem): Promise<RollbackJobRecord[]> {
    const executions: JobExecution[] = [];
    for await (const page of this.props.executions.allOf(item.rolloutId)) executions.push(...page);
    const plan = rollbackPlan(executions);
    const force = new Set(plan.cancel.filter((c) => c.force).map((c) => c.thingName));
    await this.each(
      item.rolloutId,
      plan.cancel.map((c) => c.thingName),
      (e) =>
        cancelExecution(e, this.props.now(), {
          force: force.has(e.thingName),
          statusDetails: { reason: 'rolled back' },
        }),
    );
    const jobs: RollbackJobRecord[] = [];
    for (const job of plan.jobs) {
      const jobId = rollbackJobId(item.rolloutId, jobs.length);
      if (!(await this.props.firmwareAvailable(job.toVersion))) {
        jobs.push({
          jobId,
          toVersion: job.toVersion,
          things: job.things.length,
          blocked: `firmware ${job.toVersion} is not available in the registry: upload it, then roll these devices back with a new rollout`,
        });
        continue;
      }
      await inBatches(job.things, async (thingName) => {
        const execution = queueExecution(
          {
            jobId,
            thingName,
            firmwareVersion: job.toVersion,
            previousVersion: job.fromVersion,
            rollback: true,
          },
          this.props.now(),
        );
        if ((await this.props.executions.save(execution, undefined)) === 'saved') {
          await this.props.onChange(undefined, execution);
          await this.props.jobs.notifyNext(thingName);
        }
      });
      jobs.push({ jobId, toVersion: job.toVersion, things: job.things.length });
    }
    this.props.log.warn('rollout rolled back', { rolloutId: item.rolloutId, jobs });
    return jobs;
  }

  private emit(item: RolloutItem, counters: RolloutCounters, report: TickReport): void {
    const counts = counters.rollout;
    const failed = counts.FAILED + counts.TIMED_OUT + counts.REJECTED;
    const ended = counts.SUCCEEDED + failed;
    const dimensions = { RolloutId: item.rolloutId };
    const { metrics } = this.props;
    metrics.put(METRICS.rolloutQueued, report.queued, 'Count', dimensions);
    metrics.put(METRICS.rolloutSucceeded, counts.SUCCEEDED, 'Count', dimensions);
    metrics.put(METRICS.rolloutFailed, failed, 'Count', dimensions);
    metrics.put(METRICS.rolloutPending, counts.IN_PROGRESS + counts.QUEUED, 'Count', dimensions);
    // By rollout, and for the service alone: one alarm watches every rollout's failure rate.
    if (ended > 0) metrics.put(METRICS.rolloutFailurePercent, (failed / ended) * 100, 'Percent', dimensions);
    const waiting = item.waitingOnPacing;
    if (waiting !== undefined)
      metrics.put(
        METRICS.rolloutWaitingOnPacing,
        waiting.lowSignal + waiting.lowBattery,
        'Count',
        dimensions,
      );
  }
}

/** The id of a rollout's n-th rollback job: within AWS IoT's 64 characters, traceable to the rollout. */
export function rollbackJobId(rolloutId: string, n: number): string {
  const suffix = `-rollback-${n}`;
  return `${rolloutId.slice(0, 64 - suffix.length)}${suffix}`;
}

function emptyReport(item: RolloutItem): TickReport {
  return {
    rolloutId: item.rolloutId,
    status: item.status,
    queued: 0,
    retried: 0,
    timedOut: 0,
    canceled: 0,
    rolledBack: 0,
  };
}

/** Runs `work` over `items`, 25 at a time: fast without flooding the table or the broker. */
async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 25) await Promise.all(items.slice(i, i + 25).map(work));
}
