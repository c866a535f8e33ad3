import { METRICS } from '../../lib/protocol/metrics.ts';
import { rolloutArtifact } from '../../lib/protocol/rollouts.ts';
import type { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import type { DynamoRolloutCounterStore } from '../adapters/dynamo-rollout-counters.ts';
import type { DynamoRolloutPlanStore, DynamoRolloutStore } from '../adapters/dynamo-rollout-store.ts';
import { epochSeconds, queueExecution } from '../domain/jobs/execution.ts';
import { cancelExecution, retryExecution, timeOut } from '../domain/jobs/service.ts';
import type { RolloutCounters } from '../domain/rollout/counters.ts';
import { pacingHold } from '../domain/rollout/pacing.ts';
import { ratePerMinute } from '../domain/rollout/rate.ts';
import { type Candidate, nextActions, type RolloutDecision } from '../domain/rollout/scheduler.ts';
import type { Metrics } from '../shared/metrics.ts';
import { changeEach, inBatches, queueNew } from './rollout-execution-writes.ts';
import type { RolloutHealth } from './rollout-health.ts';
import type { RolloutItem } from './rollout-item.ts';
import { type RollbackStep, RolloutRollbacks, type RolloutRollbacksProps } from './rollout-rollback.ts';
import { readCounters, rolloutDeviceOf } from './rollout-service.ts';

/** Most candidates one tick looks at per rollout (and so most it queues). */
export const MAX_CANDIDATE_PAGE = 1000;
/** Executions per shard of the due index one tick looks at. */
const WATCHED_PER_SHARD = 100;

export interface RolloutSchedulerProps extends RolloutRollbacksProps {
  readonly rollouts: Pick<DynamoRolloutStore, 'active' | 'save'>;
  readonly plans: RolloutRollbacksProps['plans'] &
    Pick<DynamoRolloutPlanStore, 'candidates' | 'removeTargets'>;
  readonly counters: Pick<DynamoRolloutCounterStore, 'read'>;
  readonly executions: RolloutRollbacksProps['executions'] & Pick<DynamoJobExecutionStore, 'watched'>;
  readonly health: Pick<RolloutHealth, 'measure'>;
  /** Seconds between two health-gate measurements of one rollout. */
  readonly healthCheckSeconds: number;
  readonly metrics: Metrics;
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
 * roll back, and after a rollback re-check the devices still owed one. Every execution write is
 * conditional on the execution's version and counted once.
 */
export class RolloutScheduler {
  private readonly rollbacks: RolloutRollbacks;

  constructor(private readonly props: RolloutSchedulerProps) {
    this.rollbacks = new RolloutRollbacks(props);
  }

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
    const checkedAt = health === undefined ? item.health?.checkedAt : epochSeconds(nowMs);
    const decision = nextActions(
      {
        rollout: item,
        candidates: page?.candidates ?? [],
        watched: watched.items,
        // The latest verdict: measured now, or the one stored when it is not yet time to measure again.
        ...(latestHealth === undefined ? {} : { health: latestHealth }),
        ...(checkedAt === undefined ? {} : { healthCheckedAt: checkedAt }),
      },
      counters,
      nowMs,
    );
    const cancelQueued = decision.cancelQueued || item.pendingWork?.cancelQueued === true;
    const rollback = decision.rollback || item.pendingWork?.rollback === true;
    const {
      candidateCursor: _old,
      pendingWork: _work,
      waitingOnHealth: _held,
      ...rest
    } = {
      ...item,
      ...decision.rollout,
    };
    const cursor = page === undefined ? item.candidateCursor : this.cursorAfter(item, decision, page);
    const saved = await this.props.rollouts.save({
      ...rest,
      revision: item.revision,
      ...(active ? { waitingOnPacing: decision.waitingOnPacing } : {}),
      ...(decision.waitingOnHealth === undefined ? {} : { waitingOnHealth: decision.waitingOnHealth }),
      ...(health === undefined ? {} : { health: { ...health, checkedAt: epochSeconds(nowMs) } }),
      lastTickAt: epochSeconds(nowMs),
      ...(decision.wakeAt === undefined ? {} : { wakeAt: decision.wakeAt }),
      ...(cursor === undefined ? {} : { candidateCursor: cursor }),
      // Claimed by this tick: done below, or redone on the next tick if this one dies midway.
      ...(cancelQueued || rollback ? { pendingWork: { cancelQueued, rollback } } : {}),
    });
    if (saved === 'conflict') return { ...emptyReport(item), skipped: 'conflict' };
    for (const change of decision.changes)
      this.props.log.info('rollout status changed', { rolloutId: item.rolloutId, ...change });

    const queued = await this.queue(item, decision.queue, page?.keys ?? new Map());
    const timedOut = await changeEach(this.props, item.rolloutId, decision.timeOut, (e) =>
      timeOut(e, this.props.now()),
    );
    const retried = await changeEach(this.props, item.rolloutId, decision.retry, (e) =>
      retryExecution(e, item.request.retries, this.props.now()),
    );
    const canceled = cancelQueued ? await this.cancelQueued(item.rolloutId) : 0;
    const step = rollback ? await this.rollbacks.start(saved) : await this.rollbacks.recheck(saved);
    const final = cancelQueued || step !== undefined ? await this.settle(saved, step) : saved;
    const report: TickReport = {
      rolloutId: item.rolloutId,
      status: final.status,
      queued,
      retried,
      timedOut,
      canceled,
      rolledBack: step?.sentBack ?? 0,
    };
    this.emit(final, counters, report);
    return report;
  }

  /** Stores what the tick's claimed work and rollback step changed; on a conflict, the next tick redoes it. */
  private async settle(saved: RolloutItem, step: RollbackStep | undefined): Promise<RolloutItem> {
    const { pendingWork: _done, rollbackWatch: _watch, ...done } = saved;
    const watch = step === undefined ? saved.rollbackWatch : step.rollbackWatch;
    const cleared = await this.props.rollouts.save({
      ...done,
      ...(step === undefined ? {} : { rollbackJobs: step.rollbackJobs }),
      ...(watch === undefined ? {} : { rollbackWatch: watch }),
    });
    return cleared === 'conflict' ? saved : cleared;
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
    // The control cohort is being updated: nothing is left to compare with, and the gate passed already.
    if (item.controlWave !== undefined && item.currentWave >= item.controlWave) return undefined;
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
    const artifact = rolloutArtifact(item.request);
    await inBatches(candidates, async (candidate) => {
      const execution = queueExecution(
        {
          jobId: item.rolloutId,
          thingName: candidate.thingName,
          // A model rollout's executions are model-update jobs; a firmware one's carry no purpose (the default).
          ...(artifact.purpose === 'model' ? { purpose: 'model' as const } : {}),
          firmwareVersion: artifact.version,
          previousVersion: candidate.firmwareVersion,
          wave: candidate.wave,
          ...(timeout === undefined ? {} : { inProgressTimeoutMinutes: timeout }),
          ...(item.request.retries === undefined ? {} : { retries: item.request.retries }),
        },
        this.props.now(),
      );
      // Exists: an earlier tick queued it and died before removing the target (see queueNew).
      if ((await queueNew(this.props, execution)) === 'saved') queued++;
    });
    await this.props.plans.removeTargets(
      item.rolloutId,
      candidates.map((c) => keys.get(c.thingName)).filter((k) => k !== undefined),
    );
    return queued;
  }

  private async cancelQueued(rolloutId: string): Promise<number> {
    const queued: string[] = [];
    for await (const page of this.props.executions.allOf(rolloutId))
      for (const execution of page) if (execution.status === 'QUEUED') queued.push(execution.thingName);
    return changeEach(this.props, rolloutId, queued, (e) =>
      cancelExecution(e, this.props.now(), { statusDetails: { reason: 'rollout stopped' } }),
    );
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
