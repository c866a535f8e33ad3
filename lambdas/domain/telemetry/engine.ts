import type { Comparison, TelemetryRule } from '../../../lib/protocol/telemetry-rules.ts';
import { clearedAlert, raisedAlert, type TelemetryAlert, toActiveAlert } from './alerts.ts';
import { type RulesForType, rulesFor } from './compiled-rules.ts';
import {
  type ActiveAlert,
  type DeviceRef,
  type DeviceStreamState,
  draftOf,
  type StateDraft,
  stateOf,
  type TimedReading,
} from './state.ts';

function holds(op: Comparison, value: number, level: number): boolean {
  switch (op) {
    case '>':
      return value > level;
    case '>=':
      return value >= level;
    case '<':
      return value < level;
    case '<=':
      return value <= level;
  }
}

/**
 * Clears active alerts whose rule was removed from the configuration or no longer applies to the
 * device's type: left alone they would stay open downstream forever, since nothing evaluates them.
 * Call once per group of readings, before them, with the first reading's time.
 */
export function clearOrphanedAlerts(
  draft: StateDraft,
  rules: RulesForType,
  at: number,
  alerts: TelemetryAlert[],
): void {
  for (const ruleId in draft.activeAlerts) {
    const active = draft.activeAlerts[ruleId];
    if (active === undefined || rules.ids.has(ruleId)) continue;
    alerts.push(clearedAlert(draft, ruleId, active, active.value, active.threshold, at));
    delete draft.activeAlerts[ruleId];
  }
}

/** Any telemetry proves the device alive, in or out of order, so it ends a heartbeat alert. */
function clearHeartbeats(
  draft: StateDraft,
  rules: RulesForType,
  reading: TimedReading,
  alerts: TelemetryAlert[],
): void {
  for (const rule of rules.heartbeats) {
    const active = draft.activeAlerts[rule.id];
    if (active === undefined) continue;
    const heardAt = reading.receivedAt ?? reading.ts;
    const silentSince = draft.lastSeen ?? draft.lastReadingTs ?? heardAt;
    const silenceSeconds = Math.max(0, (heardAt - silentSince) / 1000);
    alerts.push(clearedAlert(draft, rule.id, active, silenceSeconds, active.threshold, reading.ts));
    delete draft.activeAlerts[rule.id];
  }
}

/**
 * Raises or clears one rule's alert given whether its condition holds now.
 *
 * @param current the rule's active alert, if any
 * @returns whether it raised
 */
function edge(
  draft: StateDraft,
  rule: TelemetryRule,
  current: ActiveAlert | undefined,
  holdsNow: boolean,
  metric: string,
  value: number,
  threshold: number,
  at: number,
  alerts: TelemetryAlert[],
): boolean {
  if (holdsNow && current === undefined) {
    const alert = raisedAlert(draft, rule, metric, value, threshold, at);
    alerts.push(alert);
    draft.activeAlerts[rule.id] = toActiveAlert(alert);
    return true;
  }
  if (!holdsNow && current !== undefined) {
    alerts.push(clearedAlert(draft, rule.id, current, value, threshold, at));
    delete draft.activeAlerts[rule.id];
  }
  return false;
}

function hasAny(record: Readonly<Record<string, unknown>>): boolean {
  for (const _ in record) return true;
  return false;
}

/**
 * Applies one reading's rules to `draft`, appending alert edges to `alerts`. Readings older than the
 * newest one evaluated only count as a sign of life: evaluating them would move alerts back in time
 * (a store-and-forward backlog interleaved with live readings would raise and clear on every switch).
 */
export function applyRules(
  draft: StateDraft,
  rules: RulesForType,
  reading: TimedReading,
  alerts: TelemetryAlert[],
): void {
  const { ts, values, receivedAt } = reading;
  // Most devices have no active alert; knowing it spares a lookup per rule on every reading.
  let anyActive = hasAny(draft.activeAlerts);
  if (anyActive) clearHeartbeats(draft, rules, reading, alerts);
  if (receivedAt !== undefined && (draft.lastSeen === undefined || receivedAt > draft.lastSeen))
    draft.lastSeen = receivedAt;
  if (draft.lastReadingTs !== undefined && ts < draft.lastReadingTs) return;
  draft.lastReadingTs = ts;

  for (const rule of rules.thresholds) {
    const value = values[rule.metric];
    if (value === undefined) continue;
    const current = anyActive ? draft.activeAlerts[rule.id] : undefined;
    // Hysteresis: while raised, the condition is judged against the clear level instead.
    const level = current === undefined ? rule.value : (rule.clearValue ?? rule.value);
    if (edge(draft, rule, current, holds(rule.op, value, level), rule.metric, value, level, ts, alerts))
      anyActive = true;
  }
  for (const rule of rules.anomalies) {
    const value = values[rule.metric];
    if (value === undefined) continue;
    const current = anyActive ? draft.activeAlerts[rule.id] : undefined;
    if (edge(draft, rule, current, value > rule.above, rule.metric, value, rule.above, ts, alerts))
      anyActive = true;
  }
  if (rules.rateMetrics.length === 0) return;
  for (const rule of rules.rates) {
    const value = values[rule.metric];
    const previous = draft.lastValues[rule.metric];
    // Two readings at one instant have no rate; the first reading of a metric has nothing to compare with.
    if (value === undefined || previous === undefined || ts <= previous.ts) continue;
    const perMinute = (Math.abs(value - previous.value) * 60_000) / (ts - previous.ts);
    const current = anyActive ? draft.activeAlerts[rule.id] : undefined;
    const holdsNow = perMinute > rule.maxPerMinute;
    if (edge(draft, rule, current, holdsNow, rule.metric, perMinute, rule.maxPerMinute, ts, alerts))
      anyActive = true;
  }
  for (const metric of rules.rateMetrics) {
    const value = values[metric];
    const previous = draft.lastValues[metric];
    if (value !== undefined && (previous === undefined || ts > previous.ts))
      draft.lastValues[metric] = { ts, value };
  }
}

/**
 * Evaluates a device's readings, in the order given (oldest first), against the rules.
 *
 * Alerts are edge-triggered: `raised` once when a condition becomes true, `cleared` once when it stops
 * (a threshold below its clear level, an anomaly score back at or under `above`, a heartbeat alert on
 * the next reading). Ids come from the device, the rule and the raising reading's time, so evaluating
 * the same readings again gives the same ids.
 *
 * @param state what the device's previous readings left, or undefined for a device not seen before
 * @returns the next state (the input is not changed) and the alert edges, in reading order
 */
export function evaluateReadings(
  state: DeviceStreamState | undefined,
  device: DeviceRef,
  readings: readonly TimedReading[],
  rules: readonly TelemetryRule[],
): { state: DeviceStreamState; alerts: TelemetryAlert[] } {
  const draft = draftOf(state, device);
  const forType = rulesFor(rules, device.deviceType);
  const alerts: TelemetryAlert[] = [];
  const first = readings[0];
  if (first !== undefined) clearOrphanedAlerts(draft, forType, first.ts, alerts);
  for (const reading of readings) applyRules(draft, forType, reading, alerts);
  return { state: stateOf(draft), alerts };
}
