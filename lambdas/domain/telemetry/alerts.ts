import type { AlertSeverity } from '../../../lib/protocol/telemetry-rules.ts';
import type { ActiveAlert, DeviceStreamState } from './state.ts';

/**
 * An alert edge: `raised` once when a rule's condition becomes true, `cleared` once when it stops.
 * Both edges of one episode carry the same `id`.
 */
export interface TelemetryAlert {
  /** `{deviceId}/{ruleId}/{raisedAt}`: the same on every reprocessing, so downstream writes are idempotent. */
  readonly id: string;
  readonly deviceId: string;
  readonly deviceType: string;
  /** The rule's alert type (`HIGH_TEMPERATURE`). */
  readonly type: string;
  readonly severity: AlertSeverity;
  readonly ruleId: string;
  /** The metric the rule watched; heartbeat alerts use {@link HEARTBEAT_METRIC}. */
  readonly metric: string;
  /** The value that caused this edge (per minute for rate-of-change, seconds of silence for heartbeats). */
  readonly value: number;
  /** The level crossed: the rule's value when raised, its clear value when cleared. */
  readonly threshold: number;
  /** Reading time of this edge, epoch ms. */
  readonly at: number;
  readonly state: 'raised' | 'cleared';
  /** Reading time the episode was raised at, epoch ms. */
  readonly raisedAt: number;
}

/** The pseudo-metric of heartbeat alerts: seconds without telemetry. */
export const HEARTBEAT_METRIC = 'secondsSinceLastSeen';

/**
 * The id of an alert episode. Neither device ids (`[a-zA-Z0-9:_-]`) nor rule ids contain `/`, so the
 * parts cannot run into each other, and the id is readable in a table or a log line.
 */
export function alertId(deviceId: string, ruleId: string, raisedAt: number): string {
  return `${deviceId}/${ruleId}/${raisedAt}`;
}

/** The alert a raise produces, and what the device state remembers of it. */
export function raisedAlert(
  device: { readonly deviceId: string; readonly deviceType: string },
  rule: { readonly id: string; readonly alert: string; readonly severity: AlertSeverity },
  metric: string,
  value: number,
  threshold: number,
  at: number,
): TelemetryAlert {
  return {
    id: alertId(device.deviceId, rule.id, at),
    deviceId: device.deviceId,
    deviceType: device.deviceType,
    type: rule.alert,
    severity: rule.severity,
    ruleId: rule.id,
    metric,
    value,
    threshold,
    at,
    state: 'raised',
    raisedAt: at,
  };
}

/** The clearing edge of an active alert. */
export function clearedAlert(
  device: { readonly deviceId: string; readonly deviceType: string },
  ruleId: string,
  active: ActiveAlert,
  value: number,
  threshold: number,
  at: number,
): TelemetryAlert {
  return {
    id: active.id,
    deviceId: device.deviceId,
    deviceType: device.deviceType,
    type: active.type,
    severity: active.severity,
    ruleId,
    metric: active.metric,
    value,
    threshold,
    at,
    state: 'cleared',
    raisedAt: active.raisedAt,
  };
}

/** What a device state keeps of a raised alert. */
export function toActiveAlert(alert: TelemetryAlert): ActiveAlert {
  return {
    id: alert.id,
    type: alert.type,
    severity: alert.severity,
    metric: alert.metric,
    threshold: alert.threshold,
    value: alert.value,
    raisedAt: alert.raisedAt,
  };
}

/**
 * Records alerts raised or cleared outside the stream (the heartbeat sweep) in a device's state, so the
 * stream clears them on the device's next reading and does not raise them twice.
 */
export function withAlerts(state: DeviceStreamState, alerts: readonly TelemetryAlert[]): DeviceStreamState {
  const activeAlerts = { ...state.activeAlerts };
  for (const alert of alerts) {
    if (alert.deviceId !== state.deviceId) continue;
    if (alert.state === 'raised') activeAlerts[alert.ruleId] = toActiveAlert(alert);
    else if (activeAlerts[alert.ruleId]?.id === alert.id) delete activeAlerts[alert.ruleId];
  }
  return { ...state, activeAlerts };
}
