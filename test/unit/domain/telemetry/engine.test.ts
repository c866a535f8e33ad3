import { describe, expect, it } from 'vitest';
import { withAlerts } from '../../../../lambdas/domain/telemetry/alerts.ts';
import { evaluateReadings } from '../../../../lambdas/domain/telemetry/engine.ts';
import type { DeviceStreamState } from '../../../../lambdas/domain/telemetry/state.ts';
import { at, deepFreeze, edgeLine, type ReadingRow, readingsAt, rulesFixture, T0 } from './support.ts';

const rules = rulesFixture('engine.json');
const sensor = { deviceId: 'dev-1', deviceType: 'sensor' };
const freezer = { deviceId: 'fr-1', deviceType: 'freezer' };

type Row = [string, { deviceId: string; deviceType: string }, ReadingRow[], string[]];

/** Each row: a device's readings from a fresh state, and the alert edges they give, in order. */
const rows: Row[] = [
  [
    'threshold > raises when the value crosses it',
    sensor,
    [
      [0, { temperature: 47 }],
      [60, { temperature: 51 }],
    ],
    ['raised HIGH_TEMPERATURE @60s 51 vs 50'],
  ],
  ['threshold does not fire at the level itself for >', sensor, [[0, { temperature: 50 }]], []],
  [
    'threshold is not raised again while active',
    sensor,
    [
      [0, { temperature: 51 }],
      [60, { temperature: 55 }],
      [120, { temperature: 52 }],
    ],
    ['raised HIGH_TEMPERATURE @0s 51 vs 50'],
  ],
  [
    'threshold with hysteresis clears only at its clear value',
    sensor,
    [
      [0, { temperature: 51 }],
      [60, { temperature: 49 }],
      [120, { temperature: 48 }],
    ],
    ['raised HIGH_TEMPERATURE @0s 51 vs 50', 'cleared HIGH_TEMPERATURE @120s 48 vs 48'],
  ],
  [
    'threshold without clearValue clears where it raised (< 15 clears at 15)',
    sensor,
    [
      [0, { battery: 14 }],
      [60, { battery: 14.9 }],
      [120, { battery: 15 }],
    ],
    ['raised LOW_BATTERY @0s 14 vs 15', 'cleared LOW_BATTERY @120s 15 vs 15'],
  ],
  [
    'threshold <= raises at the level and clears above it',
    sensor,
    [
      [0, { pressure: 950 }],
      [60, { pressure: 950.1 }],
    ],
    ['raised LOW_PRESSURE @0s 950 vs 950', 'cleared LOW_PRESSURE @60s 950.1 vs 950'],
  ],
  [
    'threshold >= scoped to a device type fires for that type, with hysteresis',
    freezer,
    [
      [0, { temperature: -20 }],
      [60, { temperature: -15 }],
      [120, { temperature: -17 }],
      [180, { temperature: -18.5 }],
    ],
    ['raised FREEZER_WARM @60s -15 vs -15', 'cleared FREEZER_WARM @180s -18.5 vs -18'],
  ],
  [
    'threshold scoped to another device type does not fire',
    sensor,
    [
      [0, { temperature: -20 }],
      [60, { temperature: -15 }],
    ],
    [],
  ],
  [
    'a reading without the metric leaves the alert as it is',
    sensor,
    [
      [0, { temperature: 51 }],
      [60, { humidity: 40 }],
    ],
    ['raised HIGH_TEMPERATURE @0s 51 vs 50'],
  ],
  [
    'anomaly raises above its score and clears at or under it',
    sensor,
    [
      [0, { anomalyScore: 0.5 }],
      [10, { anomalyScore: 0.81 }],
      [20, { anomalyScore: 0.95 }],
      [30, { anomalyScore: 0.8 }],
    ],
    ['raised ANOMALY @10s 0.81 vs 0.8', 'cleared ANOMALY @30s 0.8 vs 0.8'],
  ],
  ['anomaly at exactly its score does not raise', sensor, [[0, { anomalyScore: 0.8 }]], []],
  [
    'rate of change raises above maxPerMinute and clears when it slows',
    sensor,
    [
      [0, { temperature: 20 }],
      [60, { temperature: 20.5 }],
      [120, { temperature: 27 }],
      [180, { temperature: 27.5 }],
    ],
    ['raised TEMPERATURE_SPIKE @120s 6.5 vs 5', 'cleared TEMPERATURE_SPIKE @180s 0.5 vs 5'],
  ],
  [
    'rate of change is per minute over the actual interval',
    sensor,
    [
      [0, { temperature: 20 }],
      [30, { temperature: 23 }],
    ],
    ['raised TEMPERATURE_SPIKE @30s 6 vs 5'],
  ],
  [
    'rate of change counts falls as well as rises',
    sensor,
    [
      [0, { temperature: 20 }],
      [60, { temperature: 14 }],
    ],
    ['raised TEMPERATURE_SPIKE @60s 6 vs 5'],
  ],
  [
    'rate of change at exactly maxPerMinute does not raise',
    sensor,
    [
      [0, { temperature: 20 }],
      [60, { temperature: 25 }],
    ],
    [],
  ],
  [
    'rate of change compares consecutive readings of the metric, skipping readings without it',
    sensor,
    [
      [0, { temperature: 20 }],
      [30, { humidity: 40 }],
      [60, { temperature: 26 }],
    ],
    ['raised TEMPERATURE_SPIKE @60s 6 vs 5'],
  ],
  [
    'rate of change has no rate between two readings of one instant',
    sensor,
    [
      [0, { temperature: 20 }],
      [0, { temperature: 30 }],
    ],
    [],
  ],
  [
    'a reading older than the newest one is not evaluated (store-and-forward backlog)',
    sensor,
    [
      [60, { temperature: 51 }],
      [30, { temperature: 40 }],
      [120, { temperature: 47 }],
    ],
    ['raised HIGH_TEMPERATURE @60s 51 vs 50', 'cleared HIGH_TEMPERATURE @120s 47 vs 48'],
  ],
  [
    'several rules fire on one reading, in rule order',
    sensor,
    [
      [0, { temperature: 20, battery: 50 }],
      [60, { temperature: 51, battery: 10, anomalyScore: 0.9 }],
    ],
    [
      'raised HIGH_TEMPERATURE @60s 51 vs 50',
      'raised LOW_BATTERY @60s 10 vs 15',
      'raised ANOMALY @60s 0.9 vs 0.8',
      'raised TEMPERATURE_SPIKE @60s 31 vs 5',
    ],
  ],
];

describe('evaluateReadings', () => {
  it.each(rows)('%s', (_name, device, readings, expected) => {
    const { alerts } = evaluateReadings(undefined, device, readingsAt(readings), rules);
    expect(alerts.map(edgeLine)).toEqual(expected);
  });

  it.each(rows)(
    'carries state across calls: %s, split at every reading',
    (_name, device, readings, expected) => {
      for (let split = 1; split < readings.length; split++) {
        const first = evaluateReadings(undefined, device, readingsAt(readings.slice(0, split)), rules);
        // Round-trip through JSON: the handler stores the state as an item between batches.
        const stored = JSON.parse(JSON.stringify(first.state)) as DeviceStreamState;
        const second = evaluateReadings(stored, device, readingsAt(readings.slice(split)), rules);
        expect([...first.alerts, ...second.alerts].map(edgeLine)).toEqual(expected);
      }
    },
  );

  it('gives an episode one deterministic id on both edges, from device, rule and raising reading', () => {
    const readings = readingsAt([
      [0, { temperature: 51 }],
      [60, { temperature: 47 }],
    ]);
    const once = evaluateReadings(undefined, sensor, readings, rules).alerts;
    const again = evaluateReadings(undefined, sensor, readings, rules).alerts;
    expect(once.map((a) => a.id)).toEqual([`dev-1/high-temperature/${T0}`, `dev-1/high-temperature/${T0}`]);
    expect(again).toEqual(once);
    expect(once[1]).toEqual({
      id: `dev-1/high-temperature/${T0}`,
      deviceId: 'dev-1',
      deviceType: 'sensor',
      type: 'HIGH_TEMPERATURE',
      severity: 'critical',
      ruleId: 'high-temperature',
      metric: 'temperature',
      value: 47,
      threshold: 48,
      at: at(60),
      state: 'cleared',
      raisedAt: T0,
    });
  });

  it('clears an active heartbeat alert on the next reading, even an old one', () => {
    const raised = evaluateReadings(undefined, sensor, readingsAt([[0, { temperature: 20 }]]), rules).state;
    const heartbeat = {
      id: `dev-1/heartbeat-lost/${at(181)}`,
      deviceId: 'dev-1',
      deviceType: 'sensor',
      type: 'HEARTBEAT_LOST',
      severity: 'critical' as const,
      ruleId: 'heartbeat-lost',
      metric: 'secondsSinceLastSeen',
      value: 200,
      threshold: 180,
      at: at(181),
      state: 'raised' as const,
      raisedAt: at(181),
    };
    const state = withAlerts(raised, [heartbeat]);
    const backlog = [{ ts: at(-30), values: { temperature: 20 }, receivedAt: at(601) }];
    const { alerts, state: next } = evaluateReadings(state, sensor, backlog, rules);
    expect(alerts).toEqual([{ ...heartbeat, state: 'cleared', at: at(-30), value: 600 }]);
    expect(next.activeAlerts).toEqual({});
  });

  it("clears an active alert whose rule left the configuration, at the next reading's time", () => {
    const { state } = evaluateReadings(undefined, sensor, readingsAt([[0, { temperature: 51 }]]), rules);
    const withoutRule = rules.filter((rule) => rule.id !== 'high-temperature');
    const { alerts, state: next } = evaluateReadings(
      state,
      sensor,
      readingsAt([[60, { humidity: 1 }]]),
      withoutRule,
    );
    expect(alerts.map(edgeLine)).toEqual(['cleared HIGH_TEMPERATURE @60s 51 vs 50']);
    expect(next.activeAlerts).toEqual({});
  });

  it('keeps the last value only of metrics a rate rule watches', () => {
    const readings = readingsAt([[0, { temperature: 20, humidity: 40, anomalyScore: 0.1 }]]);
    const { state } = evaluateReadings(undefined, sensor, readings, rules);
    expect(state.lastValues).toEqual({ temperature: { ts: T0, value: 20 } });
    expect(state).toMatchObject({ lastReadingTs: T0, lastSeen: at(1) });
  });

  it('does not change the state it is given', () => {
    const first = evaluateReadings(undefined, sensor, readingsAt([[0, { temperature: 51 }]]), rules).state;
    const frozen = deepFreeze(structuredClone(first));
    const next = evaluateReadings(frozen, sensor, readingsAt([[60, { temperature: 30 }]]), rules);
    expect(frozen).toEqual(first);
    expect(next.state.activeAlerts).not.toHaveProperty('high-temperature');
  });
});
