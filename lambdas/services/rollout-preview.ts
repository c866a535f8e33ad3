import type { RolloutRequest } from '../../lib/protocol/rollouts.ts';
import { RolloutRefusedError } from '../domain/rollout/errors.ts';
import { planRollout } from '../domain/rollout/plan.ts';
import {
  type EligibleDevice,
  type FirmwareImage,
  mergeSelections,
  type RolloutDevice,
  selectTargets,
  type TargetSelection,
} from '../domain/rollout/targets.ts';
import type { DeviceRecord, DeviceRegistry } from '../ports.ts';

const REGISTRY_PAGE = 1000;

/**
 * The most registry items a preview reads. A preview plans in the API's request (29 s at API Gateway),
 * reading the registry whole; beyond this it is refused, and `POST /rollouts` (planned asynchronously,
 * with progress) is the way to see a large fleet's plan.
 */
export const PREVIEW_MAX_DEVICES = 10_000;

/** What a preview needs: the registry it reads whole, and how much of it it may read. */
export interface RolloutPreviewDeps {
  readonly registry: Pick<DeviceRegistry, 'scan'>;
  /** @default {@link PREVIEW_MAX_DEVICES} */
  readonly maxDevices?: number;
}

/**
 * What `POST /rollouts` would plan for `request` (its image already checked), stored nowhere: how many
 * devices are targeted and eligible, how many are skipped and why, and each wave's size (the control
 * cohort's last). It plans with {@link planRollout}, the definition the asynchronous planner reproduces,
 * so the sizes are the ones the rollout gets; which devices the control cohort takes is drawn under the
 * rollout's id. Refused, like planning would end, when nothing is eligible or a gate has no control cohort.
 */
export async function previewRollout(
  deps: RolloutPreviewDeps,
  request: RolloutRequest,
  image: FirmwareImage,
  nowMs: number,
) {
  const selection = await selectAll(deps, request, image);
  if (selection.eligible.length === 0)
    throw new RolloutRefusedError(
      'NoEligibleDevices',
      `no device is eligible for ${image.purpose ?? 'firmware'} ${image.version}: ${selection.targeted} targeted, none fit (see skipped)`,
      { targeted: selection.targeted, skipped: selection.skipped },
    );
  // The id is in the request the plan sees: it salts the draw of the control cohort.
  const plan = planRollout(
    { ...request, rolloutId: request.rolloutId ?? 'preview' },
    selection.eligible,
    nowMs,
  );
  if (request.healthGate !== undefined && plan.control.length === 0)
    throw new RolloutRefusedError(
      'NoControlCohort',
      `controlPercentage ${request.healthGate.controlPercentage} % of ${selection.eligible.length} eligible devices holds back none: the health gate could never compare; target more devices, raise controlPercentage, or drop the gate`,
      { eligible: selection.eligible.length, controlPercentage: request.healthGate.controlPercentage },
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

/** The whole registry's selection, page by page, refused once it holds more than the cap. */
async function selectAll(
  deps: RolloutPreviewDeps,
  request: RolloutRequest,
  image: FirmwareImage,
): Promise<TargetSelection> {
  const cap = deps.maxDevices ?? PREVIEW_MAX_DEVICES;
  let selection = selectTargets([], request.targets, image);
  const eligible: EligibleDevice[] = [];
  let read = 0;
  let token: string | undefined;
  do {
    const page = await deps.registry.scan(Math.min(REGISTRY_PAGE, cap + 1 - read), token);
    read += page.items.length;
    if (read > cap)
      throw new RolloutRefusedError(
        'PreviewTooLarge',
        `the registry holds more than ${cap} devices: a preview reads it whole within the request, so it is for small fleets; create the rollout instead (POST /rollouts plans it asynchronously and shows its progress)`,
        { maxDevices: cap },
      );
    const picked = selectTargets(page.items.map(rolloutDeviceOf), request.targets, image);
    // Counts merged page by page; the eligible devices gathered once (merging them is quadratic).
    selection = mergeSelections(selection, { ...picked, eligible: [] });
    for (const device of picked.eligible) eligible.push(device);
    token = page.nextToken;
  } while (token !== undefined);
  return { ...selection, eligible };
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
