import { describe, expect, it } from 'vitest';
import { generateWindows } from '../../../../edge/model/dataset.ts';
import { FeatureWindow } from '../../../../edge/src/ml/feature-window.ts';
import { FEATURE_COUNT, WINDOW_LENGTH, windowFeatures } from '../../../../edge/src/ml/features.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';

/**
 * The agent's incremental features against `extractFeatures`, which training uses: the same
 * features for every window of a stream, reading by reading, and the same refusals.
 */

/** Windows of the training data, anomalies and all, one after another as one device's stream. */
function stream(seed: string, windows: number): Reading[] {
  const readings: Reading[] = [];
  let ts = 1_764_196_380_000;
  for (const window of generateWindows({ seed, count: windows, anomalyRate: 0.4 })) {
    const first = window.readings[0]?.ts ?? 0;
    // Shift each window in time so the stream's intervals stay regular across the seams.
    for (const r of window.readings) readings.push({ ...r, ts: ts + (r.ts - first) });
    ts = (readings.at(-1)?.ts ?? ts) + window.intervalSeconds * 1000;
  }
  return readings;
}

/** Relative difference, with an absolute floor for features near zero. */
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(a), Math.abs(b));

describe('FeatureWindow', () => {
  it("judges a compressed clock's windows in the device's seconds (the simulated fleet samples 10 s every 300 ms)", () => {
    // Prepare: one window of readings about 10 s apart, and the same readings on a clock 1000/30 times faster
    const readings = stream('compressed-clock', 1).slice(0, WINDOW_LENGTH);
    const first = readings[0]?.ts ?? 0;
    const compressed = readings.map((r) => ({ ...r, ts: first + (r.ts - first) * (30 / 1000) }));
    const device = new FeatureWindow();
    const simulated = new FeatureWindow(30);
    for (const r of readings) device.push(r);
    for (const r of compressed) simulated.push(r);
    const expected = new Float32Array(FEATURE_COUNT);
    const out = new Float32Array(FEATURE_COUNT);
    // Act
    const deviceInterval = device.extract(expected, 0, { min: 4.5, max: 60 });
    const simulatedInterval = simulated.extract(out, 0, { min: 4.5, max: 60 });
    // Assess: the same interval and features, not a 0.3 s interval outside the model's range
    expect(deviceInterval).toBeCloseTo(10, 1);
    expect(simulatedInterval).toBeCloseTo(deviceInterval as number, 6);
    expect([...out].every((v, f) => close(v, expected[f] as number))).toBe(true);
  });

  it('gives the features extractFeatures gives for every window of a long stream, reading by reading', () => {
    // Prepare: 40 windows' worth of readings: 2,400 windows to compare, through many re-summings
    const readings = stream('feature-window', 40);
    const incremental = new FeatureWindow();
    const out = new Float32Array(FEATURE_COUNT);
    let compared = 0;
    const differing: string[] = [];

    // Act
    readings.forEach((reading, i) => {
      incremental.push(reading);
      if (i + 1 < WINDOW_LENGTH) return;
      const expected = windowFeatures(readings.slice(i + 1 - WINDOW_LENGTH, i + 1));
      const outcome = incremental.extract(out, 0);
      if (!(expected instanceof Float32Array)) {
        if (typeof outcome === 'number' || outcome.reason !== expected.reason)
          differing.push(`window ending ${i}: ${JSON.stringify(outcome)} vs ${expected.reason}`);
        return;
      }
      compared++;
      if (typeof outcome !== 'number') differing.push(`window ending ${i}: refused ${outcome.reason}`);
      else
        expected.forEach((value, f) => {
          if (!close(value, out[f] as number))
            differing.push(`window ending ${i}, feature ${f}: ${out[f]} vs ${value}`);
        });
    });

    // Assess
    expect(differing.slice(0, 5)).toEqual([]);
    expect(compared).toBeGreaterThan(1_500);
  });

  it.each<[string, (r: Reading, i: number) => Reading, string]>([
    ['a missing metric', (r, i) => (i === 70 ? { ...r, values: { temperature: 20 } } : r), 'missing-metric'],
    [
      'a value that is not finite',
      (r, i) => (i === 70 ? { ...r, values: { ...r.values, battery: Number.NaN } } : r),
      'not-finite',
    ],
    ['a time that goes back', (r, i) => (i === 70 ? { ...r, ts: r.ts - 60_000 } : r), 'not-increasing'],
  ])(
    'refuses the windows that hold %s as extractFeatures does, then scores again',
    (_name, damage, reason) => {
      // Prepare
      const readings = stream('feature-window-bad', 3).map(damage);
      const incremental = new FeatureWindow();
      const out = new Float32Array(FEATURE_COUNT);
      const verdict = (outcome: number | { reason: string } | Float32Array) =>
        typeof outcome === 'number' || outcome instanceof Float32Array ? 'ok' : outcome.reason;

      // Act: the windows ending at readings 59…159, both ways
      const outcomes = readings.slice(0, 160).map((reading) => {
        incremental.push(reading);
        return verdict(incremental.extract(out, 0));
      });
      const expected = readings
        .slice(0, 160)
        .map((_, i) =>
          i < WINDOW_LENGTH - 1
            ? 'wrong-length'
            : verdict(windowFeatures(readings.slice(i + 1 - WINDOW_LENGTH, i + 1))),
        );

      // Assess
      expect(outcomes.slice(WINDOW_LENGTH - 1)).toEqual(expected.slice(WINDOW_LENGTH - 1));
      expect(outcomes).toContain(reason);
      expect(outcomes.at(-1)).toBe('ok');
    },
  );
});
