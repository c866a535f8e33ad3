import type { RolloutRequest } from '../../../lib/protocol/rollouts.ts';
import { bucketOf, cohortKey, type PlanningParams, type PlanTally, placeOf, positionOf } from './planning.ts';
import {
  type FirmwareImage,
  installedVersion,
  type RolloutDevice,
  SKIP_REASONS,
  selectTargets,
} from './targets.ts';

/** An eligible device as the planner writes it into the plan. */
export interface PlannedDevice {
  readonly thingName: string;
  /** {@link positionOf}: cohort key, then thing name. */
  readonly position: string;
  readonly previousVersion: string;
  readonly pilot: boolean;
  /** Its re-drawn cohort key, when it is held for the control draw. */
  readonly heldKey?: string;
}

/**
 * One page of the registry through target selection and placement: the eligible devices to write, and
 * `tally` with the page counted in. Each device's outcome depends on that device alone, so pages can be
 * planned in any order, by any number of workers, and summed (`sumTallies`).
 */
export function planPage(
  request: RolloutRequest,
  image: FirmwareImage,
  params: PlanningParams,
  devices: readonly RolloutDevice[],
  tally: PlanTally,
): { readonly planned: PlannedDevice[]; readonly tally: PlanTally } {
  const selection = selectTargets(devices, request.targets, image);
  const skipped = { ...tally.skipped };
  for (const reason of SKIP_REASONS) skipped[reason] += selection.skipped[reason];
  const open = [...tally.open];
  let { pilot, held, lastPilot } = tally;
  const planned: PlannedDevice[] = [];
  for (const { device, cohort } of selection.eligible) {
    const place = placeOf(params, cohort);
    const position = positionOf(cohort, device.thingName);
    const bucket = bucketOf(params, cohort);
    open[bucket] = (open[bucket] ?? 0) + 1;
    if (place.pilot) {
      pilot++;
      if (lastPilot === undefined || position > lastPilot) lastPilot = position;
    }
    if (place.held) held++;
    planned.push({
      thingName: device.thingName,
      position,
      // Where a rollback takes the device: the version of the artifact (firmware or model) it runs now.
      previousVersion: installedVersion(device, image.purpose),
      pilot: place.pilot,
      ...(place.held && place.redraw !== undefined ? { heldKey: cohortKey(place.redraw) } : {}),
    });
  }
  return {
    planned,
    tally: {
      scanned: tally.scanned + devices.length,
      targeted: tally.targeted + selection.targeted,
      eligible: tally.eligible + selection.eligible.length,
      skipped,
      pilot,
      held,
      ...(lastPilot === undefined ? {} : { lastPilot }),
      open,
    },
  };
}
