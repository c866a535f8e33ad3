import { describe, expect, it } from 'vitest';
import { AGENT_DEFAULTS } from '../../../../edge/src/agent/settings.ts';
import { SchemaValidationError } from '../../../../lib/protocol/errors.ts';
import { parseWith } from '../../../../lib/protocol/parse.ts';
import { DEFAULT_RULES, telemetryRuleSet } from '../../../../lib/protocol/telemetry-rules.ts';
import { telemetryFixture } from './support.ts';

const parseRules = (input: unknown) => parseWith(telemetryRuleSet, input, 'telemetry rules');

function issuesOf(input: unknown): { field: string; reason: string }[] {
  try {
    parseRules(input);
  } catch (error) {
    if (error instanceof SchemaValidationError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the rule set to be refused, it was accepted');
}

describe('telemetry rule sets that are accepted', () => {
  it.each<[string, unknown]>([
    [
      'good-one-of-each.json',
      [
        expect.objectContaining({ kind: 'threshold', id: 'hot', op: '>=', value: 40.5 }),
        expect.objectContaining({ kind: 'rateOfChange', deviceType: 'greenhouse', maxPerMinute: 2.5 }),
        expect.objectContaining({ kind: 'heartbeat', expectedIntervalSeconds: 300, missedIntervals: 1 }),
        // The anomaly rule's metric defaults to the edge model's score.
        expect.objectContaining({ kind: 'anomaly', metric: 'anomalyScore', above: 0.95 }),
      ],
    ],
    ['good-empty.json', []],
    // Unknown fields are stripped: an older processor must not refuse rules a newer console wrote.
    [
      'good-unknown-fields.json',
      [
        {
          kind: 'threshold',
          id: 'cold',
          metric: 'temperature',
          op: '<',
          value: -10,
          clearValue: -5,
          alert: 'COLD',
          severity: 'info',
        },
      ],
    ],
  ])('%s', (name, expected) => {
    expect(parseRules(telemetryFixture(`rules/${name}`))).toEqual(expected);
  });
});

describe('telemetry rule sets that are refused, with the path of the bad field', () => {
  it.each<[string, string, RegExp]>([
    ['bad-kind-unknown.json', '0.kind', /Invalid discriminator value/],
    ['bad-threshold-op.json', '0.op', /expected one of ">"\|">="\|"<"\|"<="/],
    ['bad-threshold-value-string.json', '0.value', /expected number/],
    ['bad-threshold-clear-above-raise.json', '0.clearValue', /must be <= value \(50\) for op '>'/],
    ['bad-threshold-clear-below-raise.json', '0.clearValue', /must be >= value \(15\) for op '<='/],
    ['bad-threshold-metric-missing.json', '0.metric', /expected string/],
    ['bad-metric-name.json', '0.metric', /must match/],
    ['bad-alert-not-upper-snake.json', '0.alert', /must be UPPER_SNAKE_CASE/],
    ['bad-severity-unknown.json', '0.severity', /expected one of "info"\|"warning"\|"critical"/],
    ['bad-id-with-slash.json', '0.id', /\[a-zA-Z0-9_.-\]/],
    ['bad-device-type-with-slash.json', '0.deviceType', /\[a-zA-Z0-9:_-\]/],
    ['bad-rate-zero.json', '0.maxPerMinute', /must be > 0/],
    ['bad-heartbeat-fractional-interval.json', '0.expectedIntervalSeconds', /whole number of seconds/],
    ['bad-heartbeat-missed-zero.json', '0.missedIntervals', /must be >= 1/],
    ['bad-anomaly-above-over-one.json', '0.above', /must be <= 1/],
    ['bad-duplicate-id.json', '1.id', /duplicates rule id 'a'/],
    ['bad-not-an-array.json', '(root)', /expected array/],
  ])('%s → %s', (name, field, reason) => {
    const issues = issuesOf(telemetryFixture(`rules/${name}`));
    expect(issues).toEqual([{ field, reason: expect.stringMatching(reason) }]);
  });

  it('refuses more rules than the maximum, at the root', () => {
    const rule = { kind: 'anomaly', above: 0.5, alert: 'A', severity: 'info' };
    const rules = Array.from({ length: 201 }, (_, i) => ({ ...rule, id: `r${i}` }));
    expect(issuesOf(rules)).toEqual([{ field: '(root)', reason: 'must hold at most 200 rules' }]);
  });
});

describe('DEFAULT_RULES', () => {
  it('parse as a rule set', () => {
    expect(parseRules(DEFAULT_RULES)).toEqual(DEFAULT_RULES);
  });

  it.each<[string, Record<string, unknown>]>([
    [
      'high-temperature',
      {
        kind: 'threshold',
        metric: 'temperature',
        op: '>',
        value: 50,
        alert: 'HIGH_TEMPERATURE',
        severity: 'critical',
      },
    ],
    ['low-battery', { kind: 'threshold', metric: 'battery', op: '<', value: 15, alert: 'LOW_BATTERY' }],
    ['poor-signal', { kind: 'threshold', metric: 'rsrp', op: '<', value: -115, alert: 'POOR_SIGNAL' }],
    [
      'heartbeat-lost',
      { kind: 'heartbeat', expectedIntervalSeconds: 300, missedIntervals: 3, alert: 'HEARTBEAT_LOST' },
    ],
    ['anomaly', { kind: 'anomaly', metric: 'anomalyScore', above: 0.8, alert: 'ANOMALY' }],
    [
      'temperature-spike',
      { kind: 'rateOfChange', metric: 'temperature', maxPerMinute: 5, alert: 'TEMPERATURE_SPIKE' },
    ],
  ])('hold %s', (id, expected) => {
    expect(DEFAULT_RULES.find((rule) => rule.id === id)).toMatchObject(expected);
  });

  it("expect a heartbeat no more often than the edge agent's default status interval", () => {
    // A device at the default settings is heard from by its status (telemetry comes in batches of up
    // to an hour): a shorter heartbeat would take every such device offline between two statuses.
    const heartbeat = DEFAULT_RULES.find((rule) => rule.id === 'heartbeat-lost');
    expect(heartbeat).toMatchObject({ expectedIntervalSeconds: Number(AGENT_DEFAULTS.statusIntervalS) });
  });
});
