import { describe, expect, it } from 'vitest';
import { gaussian, seededRandom } from '../../../../edge/src/sensors/random.ts';

const take = (random: () => number, n: number) => Array.from({ length: n }, () => random());

describe('seededRandom', () => {
  it.each(['dev-1', 'tracker-0042', '', 'Zürich'])('gives the same sequence for the same seed %j', (seed) => {
    // Act
    const first = take(seededRandom(seed), 1000);
    const second = take(seededRandom(seed), 1000);

    // Assess
    expect(second).toEqual(first);
  });

  it.each<[string, string]>([
    ['dev-1', 'dev-2'],
    ['ab', 'ba'],
    ['a', 'a\u0000'],
  ])('gives different sequences for %j and %j', (a, b) => {
    expect(take(seededRandom(a), 10)).not.toEqual(take(seededRandom(b), 10));
  });

  it('yields values in [0, 1), spread over the interval, and not constant', () => {
    // Act
    const values = take(seededRandom('dev-1'), 10_000);

    // Assess
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(values).size).toBeGreaterThan(9_900);
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    const deciles = Array.from(
      { length: 10 },
      (_, d) => values.filter((v) => Math.floor(v * 10) === d).length,
    );
    for (const count of deciles) expect(count).toBeGreaterThan(850);
  });
});

describe('gaussian', () => {
  it('gives finite samples with mean about 0 and standard deviation about 1', () => {
    // Prepare
    const random = seededRandom('gauss');

    // Act
    const samples = Array.from({ length: 10_000 }, () => gaussian(random));

    // Assess
    expect(samples.every(Number.isFinite)).toBe(true);
    const mean = samples.reduce((sum, v) => sum + v, 0) / samples.length;
    const sd = Math.sqrt(samples.reduce((sum, v) => sum + (v - mean) ** 2, 0) / samples.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(sd).toBeGreaterThan(0.95);
    expect(sd).toBeLessThan(1.05);
  });

  it('stays finite when the generator returns its extremes', () => {
    expect(Number.isFinite(gaussian(() => 0))).toBe(true);
    expect(Number.isFinite(gaussian(() => 0.9999999999))).toBe(true);
  });
});
