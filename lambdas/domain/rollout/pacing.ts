import type { PacingConfig } from '../../../lib/protocol/rollouts.ts';

/** Why a device waits: a weak link makes a long download likely to fail, a low battery a brick. */
export type PacingHold = 'lowSignal' | 'lowBattery';

/** What pacing reads of a device: its last reported RSRP and battery. */
export interface PacingSubject {
  readonly rsrp?: number;
  readonly batteryPercent?: number;
}

/**
 * Whether a device must wait before it is offered the update. A device that never reported a value is not
 * held for it (mains-powered devices report no battery), as fleet health does not count unknown as low.
 *
 * @returns the first reason to wait, or undefined when the device may go now
 */
export function pacingHold(device: PacingSubject, pacing: PacingConfig | undefined): PacingHold | undefined {
  if (pacing === undefined) return undefined;
  if (pacing.minRsrpDbm !== undefined && device.rsrp !== undefined && device.rsrp < pacing.minRsrpDbm)
    return 'lowSignal';
  if (
    pacing.minBatteryPercent !== undefined &&
    device.batteryPercent !== undefined &&
    device.batteryPercent < pacing.minBatteryPercent
  )
    return 'lowBattery';
  return undefined;
}
