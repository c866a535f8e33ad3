import type { JobExecutionStatus } from '../../lib/protocol/jobs.ts';
import { type ArtifactPurpose, type RolloutRequest, rolloutArtifact } from '../../lib/protocol/rollouts.ts';
import type { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import type { DynamoRolloutCounterStore } from '../adapters/dynamo-rollout-counters.ts';
import type {
  DynamoRolloutPlanStore,
  DynamoRolloutStore,
  RolloutTarget,
} from '../adapters/dynamo-rollout-store.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { FirmwareMetadata } from '../domain/firmware/metadata.ts';
import type { JobExecution } from '../domain/jobs/execution.ts';
import { type RolloutCounters, rolloutStatusView, tallyCounters } from '../domain/rollout/counters.ts';
import { RolloutRefusedError } from '../domain/rollout/errors.ts';
import { planRollout } from '../domain/rollout/plan.ts';
import { applyRolloutEvent, createRolloutRecord } from '../domain/rollout/record.ts';
import { RolloutStateError } from '../domain/rollout/rollout-status.ts';
import { compareVersions } from '../domain/rollout/semver.ts';
import {
  type EligibleDevice,
  type FirmwareImage,
  installedVersion,
  mergeSelections,
  type RolloutDevice,
  selectTargets,
  type TargetSelection,
} from '../domain/rollout/targets.ts';
import type { DeviceRecord, DeviceRegistry, Page } from '../ports.ts';
import type { RolloutItem } from './rollout-item.ts';

/** Operator commands on a rollout (`POST /rollouts/{id}/{command}`). */
export const ROLLOUT_COMMANDS = ['pause', 'resume', 'cancel', 'rollback'] as const;
export type RolloutCommand = (typeof ROLLOUT_COMMANDS)[number];

const REGISTRY_PAGE = 1000;

export interface RolloutServiceProps {
  readonly rollouts: Pick<DynamoRolloutStore, 'get' | 'create' | 'save' | 'list'>;
  readonly plans: Pick<DynamoRolloutPlanStore, 'putPlan' | 'clearPlan'>;
  readonly executions: Pick<DynamoJobExecutionStore, 'listForJob' | 'forThing'>;
  readonly counters: Pick<DynamoRolloutCounterStore, 'read'>;
  readonly registry: Pick<DeviceRegistry, 'scan'>;
  /** The firmware registry, or the model registry for `purpose: 'model'`. */
  readonly catalog: {
    get(version: string, purpose: ArtifactPurpose): Promise<FirmwareMetadata | undefined>;
  };
  readonly newId: () => string;
  readonly now: () => number;
}

/** A registry record as target selection sees it. */
export function rolloutDeviceOf(record: DeviceRecord): RolloutDevice {
  return {
    thingName: record.deviceId,
    deviceType: record.deviceType,
    firmwareVersion: record.firmwareVersion ?? '',
    ...(record.modelVersion === undefined ? {} : { modelVersion: record.modelVersion }),
    ...(record.groups === undefined ? {} : { groups: record.groups }),
    ...(record.attributes === undefined ? {} : { attributes: record.attributes }),
    ...(record.signal?.rsrp === undefined ? {} : { rsrp: record.signal.rsrp }),
    ...(record.battery?.percent === undefined ? {} : { batteryPercent: record.battery.percent }),
  };
}

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

/** `GET /rollouts/{id}`: the rollout, its plan's shape and its progress, from the counters alone. */
export function rolloutView(item: RolloutItem, counters: RolloutCounters) {
  const {
    revision: _revision,
    candidateCursor: _cursor,
    rateWindow: _rate,
    abortBaseline: _base,
    ...rest
  } = item;
  const progress = rolloutStatusView(counters);
  const byWave = new Map(progress.waves.map((w) => [w.wave, w]));
  return {
    ...rest,
    progress: { ...progress, waves: undefined },
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
 * Rollouts: create (select targets from the registry, plan waves and the control cohort, store the
 * plan), read status from counters in O(1), and operator commands. The scheduler does the rest.
 */
export class RolloutService {
  constructor(private readonly props: RolloutServiceProps) {}

  async create(request: RolloutRequest): Promise<ReturnType<typeof rolloutView>> {
    const rolloutId = request.rolloutId ?? this.props.newId();
    if ((await this.props.rollouts.get(rolloutId)) !== undefined)
      throw new RolloutRefusedError('RolloutExists', `rollout ${rolloutId} exists; choose another id`);
    const nowMs = this.props.now();
    const { selection, plan, artifact } = await this.planFor({ ...request, rolloutId }, nowMs);
    // Where a rollback takes each device: the version of the artifact it runs now.
    const versionOf = new Map(
      selection.eligible.map((e) => [e.device.thingName, installedVersion(e.device, artifact.purpose)]),
    );
    const targets: RolloutTarget[] = plan.waves.flatMap((wave) =>
      wave.things.map((thingName, index) => ({
        thingName,
        wave: wave.index,
        index,
        previousVersion: versionOf.get(thingName) ?? '',
      })),
    );
    // A create of this id that timed out before storing the rollout may have left part of a plan.
    await this.props.plans.clearPlan(rolloutId);
    await this.props.plans.putPlan(
      rolloutId,
      targets,
      plan.control.map((thingName) => ({ thingName, version: versionOf.get(thingName) ?? '' })),
    );
    const item: RolloutItem = {
      ...createRolloutRecord(rolloutId, { ...request, rolloutId }, plan, nowMs),
      revision: 0,
      selection: {
        targeted: selection.targeted,
        eligible: selection.eligible.length,
        control: plan.control.length,
        skipped: selection.skipped,
      },
    };
    if ((await this.props.rollouts.create(item)) === 'exists')
      throw new RolloutRefusedError('RolloutExists', `rollout ${rolloutId} exists; choose another id`);
    return rolloutView(item, tallyCounters([]));
  }

  /**
   * What `create` would plan for `request`, stored nowhere: how many devices are targeted and eligible,
   * how many are skipped and why, and each wave's size (the control cohort's last). The control cohort's
   * size is the one `create` holds back; which devices it takes is drawn under the rollout's id.
   */
  async preview(request: RolloutRequest) {
    const { selection, plan } = await this.planFor(
      { ...request, rolloutId: request.rolloutId ?? 'preview' },
      this.props.now(),
    );
    return {
      targeted: selection.targeted,
      eligible: selection.eligible.length,
      control: plan.control.length,
      skipped: selection.skipped,
      waves: plan.waveSizes.map((planned, wave) => ({
        wave,
        planned,
        ...(wave === plan.controlWave ? { control: true } : {}),
      })),
      startsAt: plan.startsAt,
    };
  }

  /**
   * The checks every plan passes (a signed image or model, devices to update, a control cohort for a gate),
   * and the plan.
   */
  private async planFor(request: RolloutRequest & { rolloutId: string }, nowMs: number) {
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
    const image = { ...imageOf(request, firmware), purpose: artifact.purpose };
    const selection = await this.select(request, image);
    if (selection.eligible.length === 0)
      throw new RolloutRefusedError(
        'NoEligibleDevices',
        `no device is eligible for ${artifact.purpose} ${artifact.version}: ${selection.targeted} targeted, none fit (see skipped)`,
        { targeted: selection.targeted, skipped: selection.skipped },
      );
    // The id is in the request the plan sees: it salts the draw of the control cohort.
    const plan = planRollout(request, selection.eligible, nowMs);
    // With no device held back the gate has nothing to compare with: it would never judge, and the
    // rollout would wait for it forever after its first wave.
    if (request.healthGate !== undefined && plan.control.length === 0)
      throw new RolloutRefusedError(
        'NoControlCohort',
        `controlPercentage ${request.healthGate.controlPercentage} % of ${selection.eligible.length} eligible devices holds back none: the health gate could never compare; target more devices, raise controlPercentage, or drop the gate`,
        { eligible: selection.eligible.length, controlPercentage: request.healthGate.controlPercentage },
      );
    return { selection, plan, artifact };
  }

  /** A device's OTA job executions (`GET /devices/{id}/jobs`), as the rollout executions list shows them. */
  async jobsOf(thingName: string): Promise<ReturnType<typeof executionView>[]> {
    return (await this.props.executions.forThing(thingName)).map(executionView);
  }

  async get(rolloutId: string): Promise<ReturnType<typeof rolloutView>> {
    const item = await this.props.rollouts.get(rolloutId);
    if (item === undefined) throw new NotFoundError(`no rollout ${rolloutId}`);
    return rolloutView(item, await readCounters(this.props.counters, rolloutId));
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

  private async select(request: RolloutRequest, image: FirmwareImage): Promise<TargetSelection> {
    let selection = selectTargets([], request.targets, image);
    const eligible: EligibleDevice[] = [];
    let token: string | undefined;
    do {
      const page = await this.props.registry.scan(REGISTRY_PAGE, token);
      const picked = selectTargets(page.items.map(rolloutDeviceOf), request.targets, image);
      // Counts merged page by page; the eligible devices gathered once (merging them is quadratic).
      selection = mergeSelections(selection, { ...picked, eligible: [] });
      for (const device of picked.eligible) eligible.push(device);
      token = page.nextToken;
    } while (token !== undefined);
    return { ...selection, eligible };
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
