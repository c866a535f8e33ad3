import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import { planRollout, waveSizes } from '../../../../lambdas/domain/rollout/plan.ts';
import { decimalFraction, shareOf } from '../../../../lambdas/domain/rollout/share.ts';
import type { EligibleDevice } from '../../../../lambdas/domain/rollout/targets.ts';
import { MONDAY_10_UTC, request } from './support.ts';

/** The reference: `hundredths` / 100 % of `count`, in integers only. */
function exactShare(count: number, hundredths: number, rounding: 'ceil' | 'floor'): number {
  const product = BigInt(count) * BigInt(hundredths);
  const quotient = product / 10_000n;
  return Number(rounding === 'ceil' && quotient * 10_000n !== product ? quotient + 1n : quotient);
}

/** Wave sizes from cumulative hundredths of a percent, in integers only. */
function exactWaveSizes(hundredths: readonly number[], count: number): number[] {
  const sizes: number[] = [];
  let done = 0;
  for (const h of hundredths) {
    const end = Math.min(count, exactShare(count, h, 'ceil'));
    if (end > done) sizes.push(end - done);
    done = Math.max(done, end);
  }
  return sizes;
}

const MAX_FLEET = 10_000_000;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * A fleet size for `hundredths`: uniform half the time; otherwise one for which the exact share is a
 * whole number, where floating point lands a hair above or below it and rounding goes the wrong way
 * (uniform sizes alone hit such a case about once in ten thousand).
 */
function fleetFor(random: () => number, hundredths: readonly number[]): number {
  if (random() < 0.5) return Math.floor(random() * (MAX_FLEET + 1));
  const step = hundredths.reduce((lcm, h) => {
    const unit = 10_000 / gcd(h, 10_000);
    return Math.min(MAX_FLEET, (lcm * unit) / gcd(lcm, unit));
  }, 1);
  return step * Math.floor(random() * (Math.floor(MAX_FLEET / step) + 1));
}

describe('decimalFraction', () => {
  it.each<[number, bigint, number]>([
    [1.1, 11n, 1],
    [100, 100n, 0],
    [0.01, 1n, 2],
    [33.33, 3333n, 2],
    [1e-7, 1n, 7],
    [1.5e-7, 15n, 8],
    [1e21, 10n ** 21n, 0],
  ])('reads %d as the decimal it was written as', (value, numerator, scale) => {
    expect(decimalFraction(value)).toEqual({ numerator, scale });
  });

  it.each([[-1], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses %d', (value) => {
    expect(() => decimalFraction(value)).toThrow(RangeError);
  });
});

describe('shareOf', () => {
  it.each<[number, number, 'ceil' | 'floor', number]>([
    // 100000 × 1.1 / 100 is 1100.0000000000002 in floating point, so Math.ceil gave 1101.
    [100_000, 1.1, 'ceil', 1100],
    [10_000_000, 0.07, 'ceil', 7000],
    [10_000_000, 0.01, 'floor', 1000],
    [3, 33.33, 'ceil', 1],
    [3, 33.34, 'ceil', 2],
    [1, 0.01, 'ceil', 1],
    [1, 50, 'floor', 0],
    [MAX_FLEET, 100, 'ceil', MAX_FLEET],
    [0, 37.5, 'ceil', 0],
  ])('%d × %d % rounded %s is %d', (count, percent, rounding, expected) => {
    expect(shareOf(count, percent, rounding)).toBe(expected);
  });

  it('equals the integer reference for 20,000 percentages with up to two decimals and fleets up to 10 M', () => {
    const random = seededRandom('shares');
    const mismatches: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const hundredths = 1 + Math.floor(random() * 10_000);
      const count = fleetFor(random, [hundredths]);
      // The percentage as an operator writes it in JSON, parsed as the request parser does.
      const percent = JSON.parse((hundredths / 100).toFixed(2)) as number;
      for (const rounding of ['ceil', 'floor'] as const) {
        const got = shareOf(count, percent, rounding);
        const want = exactShare(count, hundredths, rounding);
        if (got !== want) mismatches.push(`${percent} % of ${count} (${rounding}): ${got}, not ${want}`);
      }
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });
});

describe('waveSizes in exact arithmetic', () => {
  it('equals the integer reference for random cumulative schedules over fleets up to 10 M', () => {
    const random = seededRandom('wave sizes');
    const mismatches: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const points = new Set<number>([10_000]);
      const extra = Math.floor(random() * 6);
      for (let k = 0; k < extra; k++) points.add(1 + Math.floor(random() * 9999));
      const hundredths = [...points].sort((a, b) => a - b);
      const count = fleetFor(random, hundredths);
      const sizes = hundredths.map((h) => JSON.parse((h / 100).toFixed(2)) as number);
      const got = waveSizes({ sizes }, count);
      const want = exactWaveSizes(hundredths, count);
      if (JSON.stringify(got) !== JSON.stringify(want))
        mismatches.push(`${sizes.join(',')} of ${count}: ${got.join(',')} ≠ ${want.join(',')}`);
    }
    expect(mismatches.slice(0, 5)).toEqual([]);
  });

  it('gives a 1.1 % first wave of 100,000 devices exactly 1,100 of them', () => {
    expect(waveSizes({ sizes: [1.1, 100] }, 100_000)).toEqual([1100, 98_900]);
  });

  it('holds back an exact control share: 0.57 % of 10,000 is 57 devices, not 56', () => {
    // Prepare
    const eligible: EligibleDevice[] = Array.from({ length: 10_000 }, (_, i) => ({
      device: { thingName: `d-${i}`, deviceType: 'tracker', firmwareVersion: '1.0.0' },
      cohort: i / 10_000,
    }));
    const gated = request({
      healthGate: {
        metric: 'alertRate',
        maxWorsening: { absolute: 1 },
        windowMinutes: 60,
        controlPercentage: 0.57,
      },
    });
    // Act
    const plan = planRollout(gated, eligible, MONDAY_10_UTC);
    // Assess
    expect(plan.control).toHaveLength(exactShare(10_000, 57, 'floor'));
  });
});
