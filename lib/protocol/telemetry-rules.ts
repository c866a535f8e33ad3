import * as z from 'zod';
import { deviceType, metricName } from './messages.ts';

/**
 * The telemetry stream processor's rules: data kept in a configuration table and parsed with
 * {@link telemetryRuleSet} when read, so a bad rule is refused with the path of the bad field instead
 * of misbehaving in the stream.
 */

/** Rule ids: stable, and free of `/`, because alert ids are built as `{deviceId}/{ruleId}/{raisedAt}`. */
export const ruleId = z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be 1-64 characters of [a-zA-Z0-9_.-]');

/** Alert types are UPPER_SNAKE (`HIGH_TEMPERATURE`): they become CloudWatch dimensions and UI labels. */
export const alertType = z
  .string()
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/, 'must be UPPER_SNAKE_CASE such as HIGH_TEMPERATURE');

export const alertSeverity = z.enum(['info', 'warning', 'critical']);
export type AlertSeverity = z.output<typeof alertSeverity>;

export const comparison = z.enum(['>', '>=', '<', '<=']);
export type Comparison = z.output<typeof comparison>;

const ruleCommon = {
  id: ruleId,
  /** Absent: the rule applies to every device type. */
  deviceType: deviceType.optional(),
  alert: alertType,
  severity: alertSeverity,
};

/** Raised while `metric op value` holds; cleared once the metric crosses back past `clearValue`. */
export const thresholdRule = z
  .object({
    kind: z.literal('threshold'),
    ...ruleCommon,
    metric: metricName,
    op: comparison,
    /** zod 4 numbers refuse NaN and ±Infinity, so a rule cannot hold a level no reading can cross. */
    value: z.number(),
    /** Hysteresis: a value wobbling around `value` would otherwise raise and clear on every reading. */
    clearValue: z.number().optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.clearValue === undefined) return;
    // The clear level must sit on the far side of the raise level, or the alert could never clear.
    const above = rule.op === '>' || rule.op === '>=';
    if (above ? rule.clearValue > rule.value : rule.clearValue < rule.value) {
      ctx.addIssue({
        code: 'custom',
        path: ['clearValue'],
        message: `must be ${above ? '<=' : '>='} value (${rule.value}) for op '${rule.op}'`,
      });
    }
  });

/** Raised when a metric moves faster than `maxPerMinute` (absolute) between consecutive readings. */
export const rateOfChangeRule = z.object({
  kind: z.literal('rateOfChange'),
  ...ruleCommon,
  metric: metricName,
  maxPerMinute: z.number().positive('must be > 0'),
});

/** Raised when a device sends no telemetry for `missedIntervals × expectedIntervalSeconds`. */
export const heartbeatRule = z.object({
  kind: z.literal('heartbeat'),
  ...ruleCommon,
  expectedIntervalSeconds: z.number().int('must be a whole number of seconds').positive('must be > 0'),
  missedIntervals: z.number().int('must be a whole number').min(1, 'must be >= 1'),
});

/** Raised while the edge model's anomaly score is above `above`. */
export const anomalyRule = z.object({
  kind: z.literal('anomaly'),
  ...ruleCommon,
  metric: metricName.default('anomalyScore'),
  above: z.number().min(0, 'must be >= 0').max(1, 'must be <= 1'),
});

/** One rule, chosen by `kind`; a bad field is refused with its own path (`op`, `clearValue`). */
export const telemetryRule = z.discriminatedUnion('kind', [
  thresholdRule,
  rateOfChangeRule,
  heartbeatRule,
  anomalyRule,
]);
export type TelemetryRule = z.output<typeof telemetryRule>;
export type ThresholdRule = z.output<typeof thresholdRule>;
export type RateOfChangeRule = z.output<typeof rateOfChangeRule>;
export type HeartbeatRule = z.output<typeof heartbeatRule>;
export type AnomalyRule = z.output<typeof anomalyRule>;

/** Most rules one configuration may hold: every reading is checked against each, so they cost. */
export const MAX_TELEMETRY_RULES = 200;

/** The whole configuration: rules with unique ids (alert ids and active alerts are keyed by rule id). */
export const telemetryRuleSet = z
  .array(telemetryRule)
  .max(MAX_TELEMETRY_RULES, `must hold at most ${MAX_TELEMETRY_RULES} rules`)
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    rules.forEach((rule, index) => {
      if (seen.has(rule.id)) {
        ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicates rule id '${rule.id}'` });
      }
      seen.add(rule.id);
    });
  });
export type TelemetryRuleSet = z.output<typeof telemetryRuleSet>;

/**
 * The rules a deployment starts with. The first is the seed's; the others cover what a battery-powered
 * cellular sensor fleet watches for. Parsed here so a typo fails at import, not in the stream.
 */
export const DEFAULT_RULES: TelemetryRuleSet = telemetryRuleSet.parse([
  {
    kind: 'threshold',
    id: 'high-temperature',
    metric: 'temperature',
    op: '>',
    value: 50,
    clearValue: 48,
    alert: 'HIGH_TEMPERATURE',
    severity: 'critical',
  },
  {
    kind: 'threshold',
    id: 'low-battery',
    metric: 'battery',
    op: '<',
    value: 15,
    clearValue: 20,
    alert: 'LOW_BATTERY',
    severity: 'warning',
  },
  {
    kind: 'threshold',
    id: 'poor-signal',
    metric: 'rsrp',
    op: '<',
    value: -115,
    clearValue: -110,
    alert: 'POOR_SIGNAL',
    severity: 'warning',
  },
  {
    kind: 'heartbeat',
    id: 'heartbeat-lost',
    // The edge agent's status interval (FLEETKIT_STATUS_INTERVAL_S, 300 s) is its most frequent contact
    // at the default settings (telemetry goes in batches of up to an hour), so 3 missed statuses.
    expectedIntervalSeconds: 300,
    missedIntervals: 3,
    alert: 'HEARTBEAT_LOST',
    severity: 'critical',
  },
  { kind: 'anomaly', id: 'anomaly', above: 0.8, alert: 'ANOMALY', severity: 'warning' },
  {
    kind: 'rateOfChange',
    id: 'temperature-spike',
    metric: 'temperature',
    maxPerMinute: 5,
    alert: 'TEMPERATURE_SPIKE',
    severity: 'warning',
  },
]);
