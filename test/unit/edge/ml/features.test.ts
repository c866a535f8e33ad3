import { describe, expect, it } from 'vitest';
import {
  FEATURE_COUNT,
  FEATURE_NAMES,
  WINDOW_LENGTH,
  type WindowRejectionReason,
  windowFeatures,
} from '../../../../edge/src/ml/features.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { simulatedWindow } from './support.ts';

/** A clean window every 10 s from the simulator's sensor model. */
const clean = (): Reading[] => simulatedWindow('ml-test/features');

const withValue = (w: Reading[], i: number, metric: string, value: unknown): Reading[] =>
  w.map((r, k) => (k === i ? { ...r, values: { ...r.values, [metric]: value as number } } : r));

const feature = (f: Float32Array | { ok: false }, name: string): number => {
  if (!(f instanceof Float32Array)) throw new Error('window was refused');
  return f[FEATURE_NAMES.indexOf(name)] ?? Number.NaN;
};

describe('windowFeatures: bad windows are refused with a reason', () => {
  it.each<[string, (w: Reading[]) => unknown, WindowRejectionReason]>([
    ['one reading short', (w) => w.slice(1), 'wrong-length'],
    ['one reading too many', (w) => [...w, w[0]], 'wrong-length'],
    ['not an array', () => ({ length: WINDOW_LENGTH }), 'wrong-length'],
    ['NaN temperature', (w) => withValue(w, 7, 'temperature', Number.NaN), 'not-finite'],
    ['infinite pressure', (w) => withValue(w, 30, 'pressure', Number.POSITIVE_INFINITY), 'not-finite'],
    ['humidity sent as a string', (w) => withValue(w, 3, 'humidity', '51.2'), 'not-finite'],
    [
      'values so large their differences overflow',
      (w) => withValue(w, 10, 'temperature', 1e308),
      'not-finite',
    ],
    ['battery missing', (w) => withValue(w, 59, 'battery', undefined), 'missing-metric'],
    ['a reading without values', (w) => w.map((r, i) => (i === 5 ? { ts: r.ts } : r)), 'missing-metric'],
    ['a null reading', (w) => w.map((r, i) => (i === 5 ? null : r)), 'missing-metric'],
    ['NaN timestamp', (w) => w.map((r, i) => (i === 2 ? { ...r, ts: Number.NaN } : r)), 'not-finite'],
    [
      'a repeated timestamp',
      (w) => w.map((r, i) => (i === 9 ? { ...r, ts: w[8]?.ts ?? 0 } : r)),
      'not-increasing',
    ],
    ['readings out of order', (w) => [w[1], w[0], ...w.slice(2)], 'not-increasing'],
    [
      'a gap: five readings lost in an outage, the window filled from later ones',
      (w) => [...w.slice(0, 30), ...w.slice(35), ...w.slice(55).map((r) => ({ ...r, ts: r.ts + 60_000 }))],
      'irregular-interval',
    ],
  ])('%s → %s', (_name, mutate, reason) => {
    // Prepare
    const window = mutate(clean()) as Reading[];
    // Act
    const result = windowFeatures(window);
    // Assess
    expect(result).toMatchObject({ ok: false, reason });
    expect((result as { detail: string }).detail.length).toBeGreaterThan(0);
  });

  it('refuses an interval outside the range the caller allows (the model’s trained range)', () => {
    // Prepare
    const window = clean();
    // Act
    const result = windowFeatures(window, { min: 15, max: 60 });
    // Assess
    expect(result).toMatchObject({ ok: false, reason: 'interval-out-of-range' });
  });
});

describe('windowFeatures: what each feature responds to', () => {
  const base = clean();
  const before = windowFeatures(base) as Float32Array;

  it('names 25 distinct features: the interval, then six per channel', () => {
    // Prepare
    const names = new Set(FEATURE_NAMES);
    // Act
    const count = before.length;
    // Assess
    expect(count).toBe(FEATURE_COUNT);
    expect(names.size).toBe(25);
    expect(FEATURE_NAMES[0]).toBe('interval');
  });

  it('encodes the sampling interval as ln(interval / 10 s)', () => {
    // Prepare
    const interval = ((base[WINDOW_LENGTH - 1]?.ts ?? 0) - (base[0]?.ts ?? 0)) / (WINDOW_LENGTH - 1) / 1000;
    // Act
    const value = feature(before, 'interval');
    // Assess
    expect(value).toBeCloseTo(Math.log(interval / 10), 5);
  });

  it.each<[string, (w: Reading[]) => Reading[], string, number]>([
    ['a 5 °C spike raises temperature.spike', (w) => bump(w, 'temperature', [20], 5), 'temperature.spike', 1],
    [
      'a 10 %RH ramp over the last 30 readings raises humidity.drift',
      (w) => bump(w, 'humidity', range(30, 60), 0, (i) => ((i - 30) / 29) * 10),
      'humidity.drift',
      0.5,
    ],
    [
      'a 10 %RH step raises humidity.spike',
      (w) => bump(w, 'humidity', range(30, 60), 10),
      'humidity.spike',
      1,
    ],
    [
      'a pressure sensor frozen for 40 readings raises pressure.stuck',
      (w) => freeze(w, 'pressure', 20),
      'pressure.stuck',
      0.3,
    ],
    [
      'a 20 % battery sag raises battery.jump',
      (w) => bump(w, 'battery', range(25, 60), -20),
      'battery.jump',
      1,
    ],
    [
      'noise on the last 20 temperature readings raises temperature.burst',
      (w) => bump(w, 'temperature', range(40, 60), 0, (i) => (i % 2 ? 1 : -1)),
      'temperature.burst',
      1,
    ],
  ])('%s', (_name, mutate, name, minIncrease) => {
    // Prepare
    const window = mutate(structuredClone(base));
    // Act
    const after = windowFeatures(window) as Float32Array;
    // Assess
    expect(feature(after, name) - feature(before, name)).toBeGreaterThan(minIncrease);
  });

  it('does not modify the window it reads (a frozen window works)', () => {
    // Prepare
    const frozen = Object.freeze(
      clean().map((r) => Object.freeze({ ...r, values: Object.freeze({ ...r.values }) })),
    );
    const copy = structuredClone(frozen);
    // Act
    const result = windowFeatures(frozen);
    // Assess
    expect(result).toBeInstanceOf(Float32Array);
    expect(frozen).toEqual(copy);
  });

  it('depends on differences, not levels: shifting every reading by a constant changes no feature', () => {
    // Prepare
    const shifted = bump(structuredClone(base), 'temperature', range(0, 60), 7.25);
    // Act
    const after = windowFeatures(shifted) as Float32Array;
    // Assess
    for (const name of FEATURE_NAMES) expect(feature(after, name)).toBeCloseTo(feature(before, name), 3);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

function bump(
  w: Reading[],
  metric: string,
  indices: number[],
  by: number,
  noise: (i: number) => number = () => 0,
): Reading[] {
  return w.map((r, i) =>
    indices.includes(i)
      ? { ...r, values: { ...r.values, [metric]: (r.values[metric] ?? 0) + by + noise(i) } }
      : r,
  );
}

function freeze(w: Reading[], metric: string, from: number): Reading[] {
  const value = w[from]?.values[metric] ?? 0;
  return w.map((r, i) => (i >= from ? { ...r, values: { ...r.values, [metric]: value } } : r));
}
