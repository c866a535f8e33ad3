import type { HealthGate, HealthMetric } from '../../../lib/protocol/rollouts.ts';
import { REBOOT_ALERT } from '../fleet/reboot.ts';
import { HEARTBEAT_METRIC } from '../telemetry/alerts.ts';

/**
 * The health gate: the updated devices against a control cohort kept on the old firmware, over the same
 * window, so a worse rate is the firmware's doing and not the weather's, a network outage's or a
 * Monday's. Rates are events per device-hour, so cohorts of different sizes compare.
 */

/** Device-hours each cohort needs before the gate judges, when the gate does not say. */
export const DEFAULT_MIN_DEVICE_HOURS = 24;

/** A cohort's exposure and events of the gate's metric, over the gate's window. */
export interface CohortMetrics {
  readonly devices: number;
  /** Sum over the cohort's devices of the hours each was observed in the window. */
  readonly deviceHours: number;
  /** Events of the metric (anomalies, alerts, reboots, offline transitions) in the window. */
  readonly events: number;
}

/** The gate's verdict, with the numbers it was reached on. */
export interface HealthVerdict {
  readonly verdict: 'pass' | 'fail' | 'insufficientData';
  readonly metric: HealthMetric;
  /** Events per device-hour; absent when the cohort has no exposure. */
  readonly updatedRate?: number;
  readonly controlRate?: number;
  /** updatedRate − controlRate. */
  readonly worsening?: number;
  /** The highest updated rate the gate accepts. */
  readonly limit?: number;
  readonly reason: string;
}

const rateOf = (m: CohortMetrics) => (m.deviceHours > 0 ? m.events / m.deviceHours : undefined);

/**
 * Judges the updated cohort against the control cohort.
 *
 * Each cohort needs `minDeviceHours` (default {@link DEFAULT_MIN_DEVICE_HOURS}) of exposure first: a
 * handful of devices for a few minutes says nothing, and a gate that judged on it would roll back good
 * firmware on noise. Then the updated rate may exceed the control rate by at most `maxWorsening`:
 * `absolute` in events per device-hour, or `relative` as a fraction of the control rate. A relative limit
 * over a control cohort with no events at all accepts no events either; use `absolute` for rare events.
 */
export function compareCohorts(
  updated: CohortMetrics,
  control: CohortMetrics,
  gate: HealthGate,
): HealthVerdict {
  const minHours = gate.minDeviceHours ?? DEFAULT_MIN_DEVICE_HOURS;
  const updatedRate = rateOf(updated);
  const controlRate = rateOf(control);
  const rates = {
    ...(updatedRate === undefined ? {} : { updatedRate }),
    ...(controlRate === undefined ? {} : { controlRate }),
  };
  const short = [
    ...(updated.deviceHours < minHours ? [`updated cohort has ${updated.deviceHours} device-hours`] : []),
    ...(control.deviceHours < minHours ? [`control cohort has ${control.deviceHours} device-hours`] : []),
  ];
  if (short.length > 0 || updatedRate === undefined || controlRate === undefined)
    return {
      verdict: 'insufficientData',
      metric: gate.metric,
      ...rates,
      reason: `${short.join('; ')} (needs ${minHours} each)`,
    };
  const { absolute, relative } = gate.maxWorsening;
  const limit = absolute !== undefined ? controlRate + absolute : controlRate * (1 + (relative ?? 0));
  const worsening = updatedRate - controlRate;
  const pass = updatedRate <= limit;
  return {
    verdict: pass ? 'pass' : 'fail',
    metric: gate.metric,
    ...rates,
    worsening,
    limit,
    reason: `${gate.metric} ${updatedRate.toPrecision(3)}/device-hour updated vs ${controlRate.toPrecision(3)} control, limit ${limit.toPrecision(3)}`,
  };
}

/** What the gate needs to know of an alert edge. */
export interface HealthEvent {
  readonly type: string;
  readonly ruleId: string;
  readonly metric: string;
  /** When the edge was seen, epoch ms. */
  readonly at: number;
  /** The value that raised it; for a reboot, the uptime (seconds) in the status that revealed it. */
  readonly value: number;
}

/**
 * Whether an event of a device counts for a window that opened at `sinceMs`. A reboot is seen on the
 * first status message after it, up to a status interval later: it happened `value` seconds (the uptime
 * then) before it was seen, and counts only if it happened in the window. Otherwise the reboot into an
 * update's own trial boot, seen on a status that arrives after the execution succeeded, would count
 * against every updated device, and a `rebootRate` gate would fail good firmware.
 */
export function happenedSince(event: HealthEvent, sinceMs: number): boolean {
  return event.type !== REBOOT_ALERT || event.at - event.value * 1000 >= sinceMs;
}

/**
 * Whether a raised alert is an event of the gate's metric: any alert for `alertRate`, an alert of an
 * anomaly rule for `anomalyRate`, a reboot for `rebootRate`, a lost heartbeat for `offlineRate`.
 */
export function isHealthEvent(
  metric: HealthMetric,
  event: HealthEvent,
  anomalyRuleIds: ReadonlySet<string>,
): boolean {
  switch (metric) {
    case 'alertRate':
      return event.type !== REBOOT_ALERT;
    case 'anomalyRate':
      return anomalyRuleIds.has(event.ruleId);
    case 'rebootRate':
      return event.type === REBOOT_ALERT;
    case 'offlineRate':
      return event.metric === HEARTBEAT_METRIC;
  }
}
