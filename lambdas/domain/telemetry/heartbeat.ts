import type { TelemetryRule } from '../../../lib/protocol/telemetry-rules.ts';
import { HEARTBEAT_METRIC, raisedAlert, type TelemetryAlert } from './alerts.ts';
import { heartbeatLimitMs, rulesFor } from './compiled-rules.ts';

/** What the sweep needs of a device; a {@link DeviceStreamState} is one. */
export interface HeartbeatSubject {
  readonly deviceId: string;
  readonly deviceType: string;
  /** Broker receive time of the device's last telemetry, epoch ms; undefined for a device never heard. */
  readonly lastSeen?: number;
  /** Active alerts by rule id: a heartbeat alert already raised is not raised again. */
  readonly activeAlerts: Readonly<Record<string, unknown>>;
}

/**
 * Raises heartbeat alerts for devices silent for `missedIntervals × expectedIntervalSeconds`, for a
 * scheduled function: silence produces no record, so the stream alone cannot notice it.
 *
 * A device is raised once per silence: the alert's `raisedAt` (and so its id) is the moment the silence
 * crossed the limit, `lastSeen + limit`, whatever time the sweep runs, and a device whose alert is
 * already active is passed over. The device's next reading clears it (see `evaluateReadings`); record
 * the returned alerts in the devices' states with `withAlerts` so it can.
 *
 * @param now the scheduler's clock, epoch ms (the same clock as `lastSeen`)
 * @returns raised alerts, in device order then rule order; `value` is the silence in seconds at `now`
 */
export function sweepHeartbeats(
  devices: Iterable<HeartbeatSubject>,
  rules: readonly TelemetryRule[],
  now: number,
): TelemetryAlert[] {
  const alerts: TelemetryAlert[] = [];
  for (const device of devices) {
    if (device.lastSeen === undefined) continue;
    for (const rule of rulesFor(rules, device.deviceType).heartbeats) {
      const limitMs = heartbeatLimitMs(rule);
      const silentMs = now - device.lastSeen;
      if (silentMs < limitMs || device.activeAlerts[rule.id] !== undefined) continue;
      const crossedAt = device.lastSeen + limitMs;
      alerts.push(raisedAlert(device, rule, HEARTBEAT_METRIC, silentMs / 1000, limitMs / 1000, crossedAt));
    }
  }
  return alerts;
}
