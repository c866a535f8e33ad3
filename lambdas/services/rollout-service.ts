import type { JobExecutionStatus } from '../../lib/protocol/jobs.ts';
import { type ArtifactPurpose, type RolloutRequest, rolloutArtifact } from '../../lib/protocol/rollouts.ts';
import type { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import type { DynamoRolloutCounterStore } from '../adapters/dynamo-rollout-counters.ts';
import type { DynamoRolloutPlanningStore, SegmentState } from '../adapters/dynamo-rollout-planning-store.ts';
import type { DynamoRolloutStore } from '../adapters/dynamo-rollout-store.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { FirmwareMetadata } from '../domain/firmware/metadata.ts';
import type { JobExecution } from '../domain/jobs/execution.ts';
import { type RolloutCounters, rolloutStatusView, tallyCounters } from '../domain/rollout/counters.ts';
import { RolloutRefusedError } from '../domain/rollout/errors.ts';
import { applyRolloutEvent, createPlanningRecord, isPlanning } from '../domain/rollout/record.ts';
import { RolloutStateError } from '../domain/rollout/rollout-status.ts';
import { compareVersions } from '../domain/rollout/semver.ts';
import { type FirmwareImage, SKIP_REASONS, type SkipReason } from '../domain/rollout/targets.ts';
import type { Page } from '../ports.ts';
import type { Logger } from '../shared/logger.ts';
import type { RolloutItem } from './rollout-item.ts';
import { previewRollout, type RolloutPreviewDeps } from './rollout-preview.ts';

/** Operator commands on a rollout (`POST /rollouts/{id}/{command}`). */
export const ROLLOUT_COMMANDS = ['pause', 'resume', 'cancel', 'rollback'] as const;
export type RolloutCommand = (typeof ROLLOUT_COMMANDS)[number];

const emptySkips = () => Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>;

export interface RolloutServiceProps {
  readonly rollouts: Pick<DynamoRolloutStore, 'get' | 'create' | 'save' | 'list'>;
  readonly planning: Pick<DynamoRolloutPlanningStore, 'segments'>;
  readonly executions: Pick<DynamoJobExecutionStore, 'listForJob' | 'forThing'>;
  readonly counters: Pick<DynamoRolloutCounterStore, 'read'>;
  /** The firmware registry, or the model registry for `purpose: 'model'`. */
  readonly catalog: {
    get(version: string, purpose: ArtifactPurpose): Promise<FirmwareMetadata | undefined>;
  };
  /** The registry a preview reads whole, and its cap. */
  readonly preview: RolloutPreviewDeps;
  /** Starts planning a rollout just accepted (an asynchronous invocation of the planner). */
  readonly startPlanning: (rolloutId: string) => Promise<void>;
  readonly log: Pick<Logger, 'warn'>;
  readonly newId: () => string;
  readonly now: () => number;
}

export { rolloutDeviceOf } from './rollout-preview.ts';

/** A rollout's counters as the domain reads them, from the counter store's items. */
export async function readCounters(
  store: Pick<DynamoRolloutCounterStore, 'read'>,
  rolloutId: string,
): Promise<RolloutCounters> {
  const items = await store.read(rolloutId);
  return tallyCounters(
    items.flatMap(({ scope, counters }) =>
      Object.entries(counters).map(([status, value]) => ({ scope, status, value })),
    ),
  );
}

/** How far planning got, from the segments' checkpoints (absent once the plan is cut). */
export interface PlanningProgress {
  readonly segments: { readonly done: number; readonly total: number };
  readonly scanned: number;
  readonly targeted: number;
  readonly eligible: number;
  readonly pilot: number;
}

/** The progress of a plan being made, summed over its segments. */
export function planningProgress(states: readonly SegmentState[]): PlanningProgress {
  return {
    segments: { done: states.filter((s) => s.done).length, total: states.length },
    scanned: states.reduce((sum, s) => sum + s.tally.scanned, 0),
    targeted: states.reduce((sum, s) => sum + s.tally.targeted, 0),
    eligible: states.reduce((sum, s) => sum + s.tally.eligible, 0),
    pilot: states.reduce((sum, s) => sum + s.tally.pilot, 0),
  };
}

/**
 * `GET /rollouts/{id}`: the rollout, its plan's shape and its progress, from the counters alone; while
 * it is planning, how far planning got.
 */
export function rolloutView(item: RolloutItem, counters: RolloutCounters, progress?: PlanningProgress) {
  const {
    revision: _revision,
    candidateCursor: _cursor,
    rateWindow: _rate,
    abortBaseline: _base,
    targets: _targets,
    planning,
    ...rest
  } = item;
  const status = rolloutStatusView(counters);
  const byWave = new Map(status.waves.map((w) => [w.wave, w]));
  return {
    ...rest,
    ...(planning === undefined
      ? {}
      : {
          planning: {
            startedAt: planning.startedAt,
            ...(planning.pilotFrom === undefined ? {} : { pilotFrom: planning.pilotFrom }),
            ...(planning.finishedAt === undefined ? {} : { finishedAt: planning.finishedAt }),
            ...(planning.error === undefined ? {} : { error: planning.error }),
            ...(progress === undefined ? {} : { progress }),
          },
        }),
    progress: { ...status, waves: undefined },
    waves: item.waveSizes.map((planned, wave) => {
      const seen = byWave.get(wave);
      return {
        wave,
        ...(wave === item.controlWave ? { control: true } : {}),
        planned,
        notified: seen?.notified ?? 0,
        byStatus: seen?.byStatus,
        succeededPercent: seen?.succeededPercent ?? 0,
        failedPercent: seen?.failedPercent ?? 0,
      };
    }),
  };
}

/**
 * Rollouts: accept (check the image, store the rollout in PLANNING and start the planner, which selects
 * and orders the devices asynchronously: `rollout-planner.ts`), read status from counters in O(1), and
 * operator commands. The scheduler does the rest.
 */
export class RolloutService {
  constructor(private readonly props: RolloutServiceProps) {}

  /**
   * Accepts a rollout: everything that can be refused without reading the registry is refused here
   * (unknown or unavailable firmware, an image that does not fit, a taken id); what only the registry
   * can tell (no eligible device, no control cohort) ends planning with the rollout CANCELED and the
   * reason in `planning.error`.
   */
  async create(request: RolloutRequest): Promise<ReturnType<typeof rolloutView>> {
    const image = await this.image(request);
    const rolloutId = request.rolloutId ?? this.props.newId();
    // The id is in the stored request: it salts the draw of the control cohort.
    const item: RolloutItem = {
      ...createPlanningRecord(rolloutId, { ...request, rolloutId }, image, this.props.now()),
      revision: 0,
      selection: { targeted: 0, eligible: 0, control: 0, skipped: emptySkips() },
    };
    if ((await this.props.rollouts.create(item)) === 'exists')
      throw new RolloutRefusedError('RolloutExists', `rollout ${rolloutId} exists; choose another id`);
    try {
      await this.props.startPlanning(rolloutId);
    } catch (error) {
      // Accepted all the same: the planner's own schedule picks up a rollout nobody is planning.
      this.props.log.warn('could not start planning the rollout; the planner schedule will', {
        rolloutId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return rolloutView(item, tallyCounters([]), planningProgress([]));
  }

  /**
   * `POST /rollouts/preview`: what `create` would plan, stored nowhere, planned synchronously from the
   * whole registry, so it is for small fleets: refused (`PreviewTooLarge`) beyond a cap
   * ({@link previewRollout}).
   */
  async preview(request: RolloutRequest): Promise<Awaited<ReturnType<typeof previewRollout>>> {
    const image = await this.image(request);
    return previewRollout(this.props.preview, request, image, this.props.now());
  }

  /** The image a rollout installs: registered, verified and signed, and fitting the request's limits. */
  private async image(request: RolloutRequest): Promise<FirmwareImage> {
    const artifact = rolloutArtifact(request);
    const model = artifact.purpose === 'model';
    const firmware = await this.props.catalog.get(artifact.version, artifact.purpose);
    if (firmware === undefined)
      throw new RolloutRefusedError(
        model ? 'UnknownModel' : 'UnknownFirmware',
        `${artifact.purpose} ${artifact.version} is not registered; register and upload it first (POST /${model ? 'models' : 'firmware'})`,
      );
    if (firmware.status !== 'available')
      throw new RolloutRefusedError(
        model ? 'ModelNotAvailable' : 'FirmwareNotAvailable',
        `${artifact.purpose} ${artifact.version} is ${firmware.status}; only a verified, signed ${model ? 'model' : 'image'} can be rolled out`,
      );
    return { ...imageOf(request, firmware), purpose: artifact.purpose };
  }

  /** A device's OTA job executions (`GET /devices/{id}/jobs`), as the rollout executions list shows them. */
  async jobsOf(thingName: string): Promise<ReturnType<typeof executionView>[]> {
    return (await this.props.executions.forThing(thingName)).map(executionView);
  }

  async get(rolloutId: string): Promise<ReturnType<typeof rolloutView>> {
    const item = await this.props.rollouts.get(rolloutId);
    if (item === undefined) throw new NotFoundError(`no rollout ${rolloutId}`);
    const [counters, progress] = await Promise.all([
      readCounters(this.props.counters, rolloutId),
      isPlanning(item)
        ? this.props.planning.segments(rolloutId, false).then(planningProgress)
        : Promise.resolve(undefined),
    ]);
    return rolloutView(item, counters, progress);
  }

  /** A page of a rollout's (or rollback job's) executions, with the device's status details. */
  async executions(
    jobId: string,
    query: { readonly status?: JobExecutionStatus; readonly limit: number; readonly nextToken?: string },
  ): Promise<Page<ReturnType<typeof executionView>>> {
    const page = await this.props.executions.listForJob(jobId, query);
    return { ...page, items: page.items.map(executionView) };
  }

  async list(limit: number, nextToken?: string): Promise<Page<ReturnType<typeof summaryOf>>> {
    const page = await this.props.rollouts.list(limit, nextToken);
    return { ...page, items: page.items.map(summaryOf) };
  }

  /**
   * Pause, resume, cancel or roll back. Cancel and rollback leave the heavy part (canceling queued
   * executions, queuing the way back) to the scheduler's next tick, marked as pending work.
   */
  async command(
    rolloutId: string,
    command: RolloutCommand,
    reason?: string,
  ): Promise<ReturnType<typeof rolloutView>> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const item = await this.props.rollouts.get(rolloutId);
      if (item === undefined) throw new NotFoundError(`no rollout ${rolloutId}`);
      const counters = await readCounters(this.props.counters, rolloutId);
      const next = applyRolloutEvent(
        item,
        command,
        'operator',
        this.props.now(),
        reason ?? `${command} by an operator`,
        counters,
      );
      if (next instanceof RolloutStateError)
        throw new RolloutRefusedError('InvalidRolloutTransition', next.message, { status: item.status });
      const pendingWork =
        command === 'cancel'
          ? { ...item.pendingWork, cancelQueued: true }
          : command === 'rollback'
            ? { ...item.pendingWork, cancelQueued: true, rollback: true }
            : item.pendingWork;
      const saved = await this.props.rollouts.save({
        ...item,
        ...next,
        ...(pendingWork === undefined ? {} : { pendingWork }),
      });
      if (saved !== 'conflict') return rolloutView(saved, counters);
    }
    throw new RolloutRefusedError('RolloutChanged', 'the rollout kept changing; try the command again');
  }
}

/** An execution as `GET /rollouts/{id}/executions` lists it: AWS's JobExecution fields and fleetkit's. */
export function executionView(execution: JobExecution) {
  const { retries: _retries, ...view } = execution;
  return view;
}

/** What `GET /rollouts` lists of each rollout. */
export function summaryOf(item: RolloutItem) {
  return {
    rolloutId: item.rolloutId,
    status: item.status,
    ...(item.statusReason === undefined ? {} : { statusReason: item.statusReason }),
    ...(item.request.firmwareVersion === undefined ? {} : { firmwareVersion: item.request.firmwareVersion }),
    ...(item.request.modelVersion === undefined ? {} : { modelVersion: item.request.modelVersion }),
    ...(item.request.description === undefined ? {} : { description: item.request.description }),
    planned: item.waveSizes.reduce((sum, n) => sum + n, 0),
    waves: item.waveSizes.length,
    currentWave: item.currentWave,
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

/** The image and the request's own limits as one: the stricter min version, the narrower device type. */
function imageOf(request: RolloutRequest, firmware: FirmwareMetadata): FirmwareImage {
  const fits = firmware.deviceTypes;
  if (request.deviceType !== undefined && fits.length > 0 && !fits.includes(request.deviceType))
    throw new RolloutRefusedError(
      'ImageDoesNotFit',
      `firmware ${firmware.version} is built for ${fits.join(', ')}, not ${request.deviceType}`,
    );
  const mins = [firmware.minVersion, request.minVersion].filter((v) => v !== undefined);
  const minVersion = mins.sort((a, b) => compareVersions(a, b) ?? 0).at(-1);
  const deviceTypes =
    request.deviceType !== undefined ? [request.deviceType] : fits.length > 0 ? fits : undefined;
  return {
    version: firmware.version,
    ...(deviceTypes === undefined ? {} : { deviceTypes }),
    ...(minVersion === undefined ? {} : { minVersion }),
    ...(request.allowDowngrade === undefined ? {} : { allowDowngrade: request.allowDowngrade }),
  };
}
