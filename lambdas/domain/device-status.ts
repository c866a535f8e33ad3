import type { StatusMessage } from '../../lib/protocol/messages.ts';
import type { DeviceStatusUpdate } from '../ports.ts';

/** Where a status message came from, as the rules engine saw it. */
export interface StatusOrigin {
  readonly deviceId: string;
  readonly deviceType: string;
  /** Broker receive time, epoch ms. */
  readonly receivedAt: number;
}

/**
 * Turns a parsed status message into the registry update it causes.
 *
 * `lastSeen` is the broker's clock, not the device's: devices with an unset or drifting RTC would
 * otherwise look offline, or seen in the future. The difference is kept as `clockSkewMs`.
 */
export function statusToUpdate(status: StatusMessage, origin: StatusOrigin): DeviceStatusUpdate {
  return {
    deviceId: origin.deviceId,
    deviceType: origin.deviceType,
    lastSeen: origin.receivedAt,
    firmwareVersion: status.firmwareVersion,
    ...(status.modelVersion === undefined ? {} : { modelVersion: status.modelVersion }),
    ...(status.battery === undefined ? {} : { battery: status.battery }),
    ...(status.signal === undefined ? {} : { signal: status.signal }),
    ...(status.uptimeSeconds === undefined ? {} : { uptimeSeconds: status.uptimeSeconds }),
    ...(status.tlsVersion === undefined ? {} : { tlsVersion: status.tlsVersion }),
    ...(status.psm === undefined ? {} : { psm: status.psm }),
    // Every status says whether the gateway is exposed: one without it clears what an earlier one said.
    coapExposure: status.coapExposure ?? null,
    ...(status.ts === undefined ? {} : { clockSkewMs: status.ts - origin.receivedAt }),
  };
}
