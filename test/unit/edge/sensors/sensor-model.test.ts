import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import {
  initialSensorState,
  type SensorSample,
  stepSensors,
} from '../../../../edge/src/sensors/sensor-model.ts';
import { batteryState, signalQuality } from '../../../../lib/protocol/messages.ts';

const STEPS = 10_000;

function simulate(seed: string, dtSeconds: number): SensorSample[] {
  const random = seededRandom(seed);
  const state = initialSensorState(random);
  return Array.from({ length: STEPS }, () => stepSensors(state, dtSeconds, random));
}

/**
 * Physical ranges: a typical environmental sensor (−40…85 °C, 0…100 %RH, 300…1100 hPa), a battery
 * percentage, and the RSRP / RSRQ reporting ranges of 3GPP TS 36.133 that the model clamps to.
 */
const fields: Array<[keyof SensorSample, number, number, number, number]> = [
  // field, min, max, resolution, decimals of that resolution
  ['temperature', -40, 85, 0.01, 2],
  ['humidity', 0, 100, 0.1, 1],
  ['pressure', 300, 1100, 0.1, 1],
  ['battery', 0, 100, 1, 0],
  ['rsrp', -140, -44, 1, 0],
  ['rsrq', -19.5, -3, 0.5, 1],
];

const runs: Array<[string, number]> = [
  ['dev-1', 1],
  ['tracker-7', 60],
  ['gw-3', 3600],
];

describe('stepSensors', () => {
  it.each(runs)('is reproducible: seed %j at dt %is gives the same history twice', (seed, dt) => {
    expect(simulate(seed, dt)).toEqual(simulate(seed, dt));
  });

  it('gives different devices different histories', () => {
    expect(simulate('dev-1', 60).slice(0, 20)).not.toEqual(simulate('dev-2', 60).slice(0, 20));
  });

  describe.each(runs)('seed %j at dt %is, over 10,000 steps,', (seed, dt) => {
    const samples = simulate(seed, dt);

    it.each(fields)('keeps %s within [%d, %d]', (field, min, max) => {
      const values = samples.map((s) => s[field]);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(min);
      expect(Math.max(...values)).toBeLessThanOrEqual(max);
    });

    it.each(fields)('keeps %s a multiple of its resolution', (field, _min, _max, step) => {
      const off = samples
        .map((s) => s[field])
        .filter((v) => Math.abs(v / step - Math.round(v / step)) > 1e-6);
      expect(off).toEqual([]);
    });

    it.each(fields)('varies %s (not constant)', (field) => {
      expect(new Set(samples.map((s) => s[field])).size).toBeGreaterThan(1);
    });

    it('gives readings the status schema accepts', () => {
      const refused = samples.filter(
        (s) =>
          !batteryState.safeParse({ percent: s.battery }).success ||
          !signalQuality.safeParse({ rsrp: s.rsrp, rsrq: s.rsrq }).success,
      );
      expect(refused).toEqual([]);
    });
  });
});

describe('stepSensors on the wire', () => {
  const samples = simulate('tracker-7', 60);

  // Samples go out as JSON: 21.33 must be sent as 21.33, not 21.330000000000002.
  it.each(fields)(
    'sends %s with no more decimals than its resolution',
    (field, _min, _max, _step, decimals) => {
      // Act
      const tooPrecise = samples
        .map((s) => s[field])
        .filter((v) => (String(v).split('.')[1] ?? '').length > decimals);

      // Assess
      expect(tooPrecise.slice(0, 5)).toEqual([]);
    },
  );
});

describe('initialSensorState', () => {
  it('starts each device in a plausible climate, charge and radio site', () => {
    // Prepare
    const random = seededRandom('dev-1');

    // Act
    const states = Array.from({ length: 1000 }, () => initialSensorState(random));

    // Assess
    for (const s of states) {
      expect(s.temperature).toBeGreaterThanOrEqual(18);
      expect(s.temperature).toBeLessThanOrEqual(26);
      expect(s.humidity).toBeGreaterThanOrEqual(35);
      expect(s.humidity).toBeLessThanOrEqual(65);
      expect(s.battery).toBeGreaterThanOrEqual(60);
      expect(s.battery).toBeLessThanOrEqual(100);
      expect(s.rsrpBase).toBeGreaterThanOrEqual(-115);
      expect(s.rsrpBase).toBeLessThanOrEqual(-75);
      expect(s.rsrp).toBe(s.rsrpBase);
    }
  });
});
