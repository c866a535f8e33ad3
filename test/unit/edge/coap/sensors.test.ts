import { describe, expect, it } from 'vitest';
import { findFutureReadings, SensorTable, toDeviceReading } from '../../../../edge/src/coap/sensors.ts';
import {
  encodeCborPayload,
  MAX_SENSOR_ID_LENGTH,
  MAX_SENSOR_METRIC_LENGTH,
  parseSensorReadings,
  type SensorReading,
} from '../../../../lib/protocol/coap.ts';
import { metricName, type Reading } from '../../../../lib/protocol/messages.ts';

const T0 = 1_700_000_000_000;

describe('toDeviceReading', () => {
  it.each<{ rule: string; reading: SensorReading; expected: Reading }>([
    {
      rule: 'prefixes every metric with the sensor id',
      reading: { ts: T0 - 5, values: { temp: 1, rh: 2 } },
      expected: { ts: T0 - 5, values: { th1_temp: 1, th1_rh: 2 } },
    },
    {
      rule: 'stamps a reading without ts with the arrival time',
      reading: { values: { temp: 1 } },
      expected: { ts: T0, values: { th1_temp: 1 } },
    },
    {
      rule: "leaves the sensor's seq behind (the uplink numbers device readings)",
      reading: { ts: T0, seq: 9, values: { temp: 1 } },
      expected: { ts: T0, values: { th1_temp: 1 } },
    },
  ])('$rule', ({ reading, expected }) => {
    // Prepare
    const sensorId = 'th1';

    // Act
    const mapped = toDeviceReading(sensorId, reading, T0);

    // Assess
    expect(mapped).toEqual(expected);
  });

  it('always yields a valid device metric name, even at the longest id and metric', () => {
    // Prepare
    const id = `s${'9'.repeat(MAX_SENSOR_ID_LENGTH - 1)}`;
    const metric = `m${'_'.repeat(MAX_SENSOR_METRIC_LENGTH - 1)}`;
    const [reading] = parseSensorReadings(encodeCborPayload({ values: { [metric]: 1 } }));

    // Act
    const mapped = toDeviceReading(id, reading ?? { values: {} }, T0);

    // Assess
    const keys = Object.keys(mapped.values);
    expect(keys).toHaveLength(1);
    expect(metricName.safeParse(keys[0]).success).toBe(true);
    expect(keys[0]).toHaveLength(64);
  });
});

describe('findFutureReadings', () => {
  it.each([
    { rule: 'accepts a ts within the skew', readings: [{ ts: T0 + 1000, values: { x: 1 } }], fields: [] },
    { rule: 'accepts a reading without ts', readings: [{ values: { x: 1 } }], fields: [] },
    {
      rule: 'names ts of a single reading',
      readings: [{ ts: T0 + 60_001, values: { x: 1 } }],
      fields: ['ts'],
    },
    {
      rule: 'names the index in a batch',
      readings: [
        { ts: T0, values: { x: 1 } },
        { ts: T0 + 60_001, values: { x: 1 } },
      ],
      fields: ['readings.1.ts'],
    },
  ])('$rule', ({ readings, fields }) => {
    // Prepare
    const maxSkewMs = 60_000;

    // Act
    const issues = findFutureReadings(readings, T0, maxSkewMs);

    // Assess
    expect(issues.map((i) => i.field)).toEqual(fields);
  });
});

describe('SensorTable', () => {
  it('keeps the last historyPerSensor readings, oldest first', () => {
    // Prepare
    const table = new SensorTable({ maxSensors: 4, historyPerSensor: 2 });

    // Act
    const first = table.record('a', [{ seq: 1, values: { x: 1 } }], T0);
    const second = table.record(
      'a',
      [
        { seq: 2, values: { x: 2 } },
        { seq: 3, values: { x: 3 } },
      ],
      T0 + 1,
    );

    // Assess
    expect([first, second]).toEqual([true, false]);
    expect(table.history('a')?.map((e) => e.seq)).toEqual([2, 3]);
    expect(table.summaries()).toEqual([{ id: 'a', lastSeen: T0 + 1, accepted: 3 }]);
  });

  it('admits known sensors at the limit but no new one, until one is removed', () => {
    // Prepare
    const table = new SensorTable({ maxSensors: 1, historyPerSensor: 1 });
    table.record('a', [{ values: { x: 1 } }], T0);

    // Act
    const admits = [table.canAdmit('a'), table.canAdmit('b')];
    table.remove('a');

    // Assess
    expect(admits).toEqual([true, false]);
    expect(table.canAdmit('b')).toBe(true);
  });

  it('returns a copy of the history, not its own array', () => {
    // Prepare
    const table = new SensorTable({ maxSensors: 1, historyPerSensor: 4 });
    table.record('a', [{ values: { x: 1 } }], T0);

    // Act
    (table.history('a') as unknown[]).push('intruder');

    // Assess
    expect(table.history('a')).toHaveLength(1);
  });

  it.each([
    {
      options: { maxSensors: 0, historyPerSensor: 1 },
      message: 'maxSensors must be a positive integer, got 0',
    },
    {
      options: { maxSensors: 1, historyPerSensor: 1.5 },
      message: 'historyPerSensor must be a positive integer, got 1.5',
    },
  ])('refuses $options', ({ options, message }) => {
    // Prepare
    const make = () => new SensorTable(options);

    // Act
    // Assess
    expect(make).toThrow(message);
  });
});
