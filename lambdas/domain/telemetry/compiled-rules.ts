import type {
  AnomalyRule,
  HeartbeatRule,
  RateOfChangeRule,
  TelemetryRule,
  ThresholdRule,
} from '../../../lib/protocol/telemetry-rules.ts';

/** The rules that apply to one device type, sorted by kind so a reading only looks at what it needs. */
export interface RulesForType {
  readonly thresholds: readonly ThresholdRule[];
  readonly rates: readonly RateOfChangeRule[];
  readonly anomalies: readonly AnomalyRule[];
  readonly heartbeats: readonly HeartbeatRule[];
  /** Ids of every rule above: an active alert whose rule is not here has lost its rule. */
  readonly ids: ReadonlySet<string>;
  /** Metrics a rate-of-change rule watches: the only ones whose last value the state keeps. */
  readonly rateMetrics: readonly string[];
}

// Rule sets are loaded once and reused for every record, so the split per device type is memoised by
// the identity of the (immutable) rule array. A WeakMap keeps this invisible: same input, same output.
const cache = new WeakMap<readonly TelemetryRule[], Map<string, RulesForType>>();

function compile(rules: readonly TelemetryRule[], deviceType: string): RulesForType {
  const thresholds: ThresholdRule[] = [];
  const rates: RateOfChangeRule[] = [];
  const anomalies: AnomalyRule[] = [];
  const heartbeats: HeartbeatRule[] = [];
  const ids = new Set<string>();
  for (const rule of rules) {
    if (rule.deviceType !== undefined && rule.deviceType !== deviceType) continue;
    ids.add(rule.id);
    switch (rule.kind) {
      case 'threshold':
        thresholds.push(rule);
        break;
      case 'rateOfChange':
        rates.push(rule);
        break;
      case 'anomaly':
        anomalies.push(rule);
        break;
      case 'heartbeat':
        heartbeats.push(rule);
        break;
    }
  }
  const rateMetrics = [...new Set(rates.map((rule) => rule.metric))];
  return { thresholds, rates, anomalies, heartbeats, ids, rateMetrics };
}

/**
 * A lookup of the rules that apply to each device type (rules without a type apply to all), built
 * lazily and kept for as long as the rule array lives.
 */
export function rulesByType(rules: readonly TelemetryRule[]): (deviceType: string) => RulesForType {
  let byType = cache.get(rules);
  if (byType === undefined) {
    byType = new Map();
    cache.set(rules, byType);
  }
  const known = byType;
  return (deviceType) => {
    let compiled = known.get(deviceType);
    if (compiled === undefined) {
      compiled = compile(rules, deviceType);
      known.set(deviceType, compiled);
    }
    return compiled;
  };
}

/** The rules of `rules` that apply to devices of `deviceType` (rules without a type apply to all). */
export function rulesFor(rules: readonly TelemetryRule[], deviceType: string): RulesForType {
  return rulesByType(rules)(deviceType);
}

/** Silence after which a heartbeat rule fires, ms. */
export function heartbeatLimitMs(rule: HeartbeatRule): number {
  return rule.expectedIntervalSeconds * rule.missedIntervals * 1000;
}
