import { rolloutArtifact } from '../../lib/protocol/rollouts.ts';
import type { DynamoDeviceRegistry } from '../adapters/dynamo-device-registry.ts';
import {
  type DynamoRolloutPlanningStore,
  LEASE_KEY,
  type SegmentState,
} from '../adapters/dynamo-rollout-planning-store.ts';
import type { DynamoRolloutPlanStore, DynamoRolloutStore } from '../adapters/dynamo-rollout-store.ts';
import { epochSeconds } from '../domain/jobs/execution.ts';
import { planPage } from '../domain/rollout/plan-page.ts';
import {
  emptyTally,
  type PlanningParams,
  type PlanTally,
  pilotInEffect,
  planningParams,
  sumTallies,
} from '../domain/rollout/planning.ts';
import { isPlanning } from '../domain/rollout/record.ts';
import { RolloutStateError, transitionRollout } from '../domain/rollout/rollout-status.ts';
import { windowState } from '../domain/rollout/window.ts';
import type { Logger } from '../shared/logger.ts';
import type { RolloutItem } from './rollout-item.ts';
import { type CutDeps, cutPlan } from './rollout-plan-cut.ts';
import { rolloutDeviceOf } from './rollout-service.ts';

/** Past the planner's budget, how long its lease still keeps another planner off. */
const LEASE_MARGIN_MS = 60_000;
/** How often a planner looks whether its rollout was canceled meanwhile. */
const STATUS_CHECK_MS = 5_000;

export interface RolloutPlannerProps extends CutDeps {
  readonly rollouts: Pick<DynamoRolloutStore, 'get' | 'save' | 'active'>;
  readonly planning: CutDeps['planning'] &
    Pick<
      DynamoRolloutPlanningStore,
      'acquire' | 'release' | 'segments' | 'createSegments' | 'checkpoint' | 'putEligible'
    >;
  readonly plans: Pick<DynamoRolloutPlanStore, 'clearPlan'>;
  readonly registry: Pick<DynamoDeviceRegistry, 'scanSegment'>;
  /** Asks the scheduler to advance the rollout now (an asynchronous invocation of it). */
  readonly advance: (rolloutId: string) => Promise<void>;
  /** Registry segments read in parallel, for a rollout whose planning starts now. */
  readonly segments: number;
  /** Most registry items per page (a checkpoint each); DynamoDB's 1 MB pages when undefined. */
  readonly pageSize?: number;
  /** How long one run may plan before it leaves the rest to the next (its function's timeout, less a margin). */
  readonly budgetMs: number;
  /** A fresh owner id for a run's lease. */
  readonly newOwner: () => string;
  readonly log: Logger;
  readonly now: () => number;
}

/** What one run did for one rollout. */
export interface PlanReport {
  readonly rolloutId: string;
  readonly outcome: 'planned' | 'refused' | 'continues' | 'stopped' | 'busy' | 'nothing';
  /** Registry pages this run read. */
  readonly pages: number;
}

/**
 * Plans rollouts accepted by `POST /rollouts`, asynchronously: reads the registry in parallel segments
 * (DynamoDB's parallel scan), selects and places each page's devices (`planPage`), writes them in batches
 * and checkpoints each segment after each page, so a run that dies resumes where its segments stopped
 * and counts no page twice. Once the devices read prove the pilot in effect, the scheduler is asked to
 * start offering pilot devices; once every segment is read, the plan is cut (`cutPlan`), the rollout
 * leaves PLANNING and the scheduler is asked to go on. A lease keeps a second planner off the same rollout.
 */
export class RolloutPlanner {
  constructor(private readonly props: RolloutPlannerProps) {}

  /** Continues every rollout whose plan is not finished (a run that died, or ran out of time). */
  async resume(): Promise<PlanReport[]> {
    const reports: PlanReport[] = [];
    for (const item of await this.props.rollouts.active())
      if (isPlanning(item)) reports.push(await this.plan(item.rolloutId));
    return reports;
  }

  /** Plans one rollout, as far as this run's budget goes. */
  async plan(rolloutId: string): Promise<PlanReport> {
    const startedMs = this.props.now();
    const item = await this.props.rollouts.get(rolloutId);
    const nothing = { rolloutId, pages: 0 };
    if (item === undefined || !isPlanning(item) || item.planning === undefined)
      return { ...nothing, outcome: 'nothing' };
    if (item.status === 'CANCELED' || item.status === 'ROLLED_BACK') {
      await this.finish(rolloutId, () => ({}));
      return { ...nothing, outcome: 'stopped' };
    }
    const owner = this.props.newOwner();
    const until = startedMs + this.props.budgetMs + LEASE_MARGIN_MS;
    if (!(await this.props.planning.acquire(rolloutId, owner, startedMs, until)))
      return { ...nothing, outcome: 'busy' };
    try {
      return await this.run(item, startedMs);
    } finally {
      await this.props.planning.release(rolloutId, owner);
    }
  }

  private async run(item: RolloutItem, startedMs: number): Promise<PlanReport> {
    const { rolloutId } = item;
    const request = { ...item.request, rolloutId };
    const params = planningParams(request);
    let states = await this.props.planning.segments(rolloutId);
    if (states.length === 0) {
      // A create of the first layout that died before storing its rollout may have left part of a plan.
      await this.props.plans.clearPlan(rolloutId, [LEASE_KEY]);
      await this.props.planning.createSegments(
        rolloutId,
        Array.from({ length: this.props.segments }, (_, segment) => ({
          segment,
          totalSegments: this.props.segments,
          pages: 0,
          done: false,
          tally: emptyTally(params),
        })),
      );
      states = await this.props.planning.segments(rolloutId);
    }
    const scan = await this.scan(item, params, states, startedMs + this.props.budgetMs);
    if (scan.stopped === 'canceled') {
      await this.finish(rolloutId, () => ({}));
      return { rolloutId, outcome: 'stopped', pages: scan.pages };
    }
    if (scan.stopped !== undefined) {
      this.props.log.info('rollout planning continues in a later run', {
        rolloutId,
        reason: scan.stopped,
        pages: scan.pages,
      });
      return { rolloutId, outcome: 'continues', pages: scan.pages };
    }
    const total = scan.states.map((s) => s.tally).reduce(sumTallies, emptyTally(params));
    const cut = await cutPlan(this.props, rolloutId, request, params, total);
    const nowMs = this.props.now();
    const saved = await this.finish(rolloutId, (current) => {
      if (!cut.ok) {
        const failed = transitionRollout(current.status, 'planningFailed', 'scheduler');
        return {
          ...(failed instanceof RolloutStateError
            ? {}
            : { status: failed, statusReason: `planning: ${cut.message}` }),
          selection: cut.selection,
          error: { code: cut.code, message: cut.message, details: cut.details },
        };
      }
      // Paused (or stopped) while planning: the plan is recorded, the status stays the operator's.
      const planned = transitionRollout(current.status, 'planned', 'scheduler');
      const window = windowState(request.maintenanceWindows, nowMs);
      const now = epochSeconds(nowMs);
      return {
        ...(planned instanceof RolloutStateError
          ? {}
          : {
              status: window.open ? planned : 'SCHEDULED',
              statusReason: window.open
                ? 'the plan is cut: every wave is known'
                : 'the plan is cut; waiting for a maintenance window',
              startsAt: window.open ? now : (window.opensAt ?? now),
            }),
        selection: cut.selection,
        waveSizes: cut.waveSizes,
        ...(cut.controlWave === undefined ? {} : { controlWave: cut.controlWave }),
        targets: { layout: 'cohort', waveEnds: cut.waveEnds, pilot: cut.pilot },
      };
    });
    this.props.log.info(cut.ok ? 'rollout planned' : 'rollout planning found nothing to roll out', {
      rolloutId,
      ...cut.selection,
      ...(cut.ok ? { waveSizes: cut.waveSizes, pilot: cut.pilot } : { code: cut.code }),
      seconds: (nowMs - startedMs) / 1000,
    });
    if (cut.ok && saved) await this.askScheduler(rolloutId);
    return { rolloutId, outcome: cut.ok ? 'planned' : 'refused', pages: scan.pages };
  }

  /**
   * Reads every unfinished segment, all at once, page by page, until done, out of budget, canceled, or
   * another planner got a segment's page in first.
   */
  private async scan(
    item: RolloutItem,
    params: PlanningParams,
    initial: readonly SegmentState[],
    deadlineMs: number,
  ): Promise<{
    states: SegmentState[];
    pages: number;
    stopped?: 'budget' | 'canceled' | 'conflict' | 'failed';
  }> {
    const { rolloutId } = item;
    const request = { ...item.request, rolloutId };
    const image = item.planning?.image ?? rolloutArtifact(request);
    const states = new Map(initial.map((s) => [s.segment, s]));
    let stopped: 'budget' | 'canceled' | 'conflict' | 'failed' | undefined;
    let pages = 0;
    let pilotAsked = item.planning?.pilotFrom !== undefined;
    let lastCheck = this.props.now();
    // Eligible devices of pages read but not yet checkpointed: they exist, so they count towards proving
    // the pilot in effect (a lower bound of the fleet's eligible count is all the proof needs).
    const reading = new Map<number, number>();
    const progress = async () => {
      const total =
        [...states.values()].reduce((sum, s) => sum + s.tally.eligible, 0) +
        [...reading.values()].reduce((sum, n) => sum + n, 0);
      if (!pilotAsked && pilotInEffect(request, params, total)) {
        pilotAsked = true;
        await this.releasePilot(rolloutId);
      }
      if (this.props.now() - lastCheck >= STATUS_CHECK_MS) {
        lastCheck = this.props.now();
        const current = await this.props.rollouts.get(rolloutId);
        if (current?.status === 'CANCELED' || current?.status === 'ROLLED_BACK') stopped = 'canceled';
      }
    };
    const work = async (initialState: SegmentState) => {
      let state = initialState;
      while (!state.done && stopped === undefined) {
        if (this.props.now() >= deadlineMs) {
          stopped = 'budget';
          return;
        }
        const page = await this.props.registry.scanSegment(
          state.segment,
          state.totalSegments,
          state.cursor,
          this.props.pageSize,
        );
        const placed = planPage(request, image, params, page.items.map(rolloutDeviceOf), state.tally);
        // Pilot devices first (a few per page): once written they may be offered, before the page's
        // other writes (most of it) are done.
        await this.props.planning.putEligible(
          rolloutId,
          placed.planned.filter((d) => d.pilot),
        );
        reading.set(state.segment, placed.tally.eligible - state.tally.eligible);
        await progress();
        await this.props.planning.putEligible(
          rolloutId,
          placed.planned.filter((d) => !d.pilot),
        );
        const { cursor: _old, ...rest } = state;
        const next: SegmentState = {
          ...rest,
          pages: state.pages + 1,
          done: page.last === undefined,
          ...(page.last === undefined ? {} : { cursor: page.last }),
          tally: placed.tally as PlanTally,
        };
        if ((await this.props.planning.checkpoint(rolloutId, next)) === 'conflict') {
          stopped = 'conflict';
          return;
        }
        state = next;
        states.set(state.segment, state);
        reading.delete(state.segment);
        pages++;
        await progress();
      }
    };
    // One segment failing stops the others after their page (a run that dies leaves no worker behind).
    const results = await Promise.allSettled(
      [...states.values()]
        .filter((s) => !s.done)
        .map((s) =>
          work(s).catch((error: unknown) => {
            stopped = 'failed';
            throw error;
          }),
        ),
    );
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
    // A fleet read in one go before any check: the pilot question still deserves its answer.
    if (stopped === undefined) await progress();
    return {
      states: [...states.values()].sort((a, b) => a.segment - b.segment),
      pages,
      ...(stopped === undefined ? {} : { stopped }),
    };
  }

  /** Records that pilot devices may be offered, and asks the scheduler to start offering them. */
  private async releasePilot(rolloutId: string): Promise<void> {
    const nowS = epochSeconds(this.props.now());
    const saved = await this.update(rolloutId, (current) =>
      isPlanning(current) && current.planning !== undefined && current.planning.pilotFrom === undefined
        ? { ...current, planning: { ...current.planning, pilotFrom: nowS } }
        : undefined,
    );
    if (saved) {
      this.props.log.info('rollout pilot devices may be offered while planning goes on', { rolloutId });
      await this.askScheduler(rolloutId);
    }
  }

  /**
   * Ends planning on the record: `change` gives what to store besides `planning.finishedAt` (and an
   * `error`, for a plan that found nothing).
   * @returns whether the record was stored
   */
  private finish(
    rolloutId: string,
    change: (
      current: RolloutItem,
    ) => Partial<RolloutItem> & { error?: NonNullable<RolloutItem['planning']>['error'] },
  ): Promise<boolean> {
    const nowS = epochSeconds(this.props.now());
    return this.update(rolloutId, (current) => {
      if (!isPlanning(current) || current.planning === undefined) return undefined;
      const { error, ...rest } = change(current);
      return {
        ...current,
        ...rest,
        updatedAt: nowS,
        planning: { ...current.planning, finishedAt: nowS, ...(error === undefined ? {} : { error }) },
      };
    });
  }

  /** A read-modify-write of the rollout, conditional on its revision, retried on a conflict. */
  private async update(
    rolloutId: string,
    change: (current: RolloutItem) => RolloutItem | undefined,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.props.rollouts.get(rolloutId);
      if (current === undefined) return false;
      const next = change(current);
      if (next === undefined) return false;
      if ((await this.props.rollouts.save(next)) !== 'conflict') return true;
    }
    throw new Error(`rollout ${rolloutId} kept changing while planning tried to record its progress`);
  }

  private async askScheduler(rolloutId: string): Promise<void> {
    try {
      await this.props.advance(rolloutId);
    } catch (error) {
      // The scheduler's own tick picks the rollout up within a minute.
      this.props.log.warn('could not ask the scheduler to advance the rollout now', {
        rolloutId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
