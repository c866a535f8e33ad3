import { describe, expect, it } from 'vitest';
import {
  cohortOf,
  DEFAULT_COHORT_SALT,
  redrawCohort,
  saltKey,
} from '../../../../lambdas/domain/rollout/cohort.ts';

const names = (n: number, prefix = 'device-') =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);

describe('cohortOf', () => {
  it('is pinned: these values must never change, or every fleet’s canaries reshuffle', () => {
    // Recorded when the hash was written. A change here needs a new DEFAULT_COHORT_SALT, not a new expectation.
    const pinned = ['sim-0001', 'sim-0002', 'tracker-ab12'].map((name) => cohortOf(name).toFixed(12));
    expect(pinned).toEqual(['0.545048778129', '0.786817398139', '0.504942445004']);
  });

  it.each<[string, () => number]>([
    ['the same name and salt give the same cohort', () => cohortOf('sim-0001')],
    ['the default salt is the fleet-wide one', () => cohortOf('sim-0001', DEFAULT_COHORT_SALT)],
  ])('%s', (_name, compute) => {
    expect(compute()).toBe(cohortOf('sim-0001'));
  });

  it('differs with the salt', () => {
    const same = names(1000).filter((n) => Math.abs(cohortOf(n, 'a') - cohortOf(n, 'b')) < 1e-3).length;
    expect(same).toBeLessThan(10);
  });

  it('separates salt from name: (ab, c) and (a, bc) differ', () => {
    expect(cohortOf('c', 'ab')).not.toBe(cohortOf('bc', 'a'));
  });

  it.each<[string, string[]]>([
    ['sequential names', names(100_000)],
    ['short names', Array.from({ length: 100_000 }, (_, i) => `t${i}`)],
    [
      'names differing in the middle',
      Array.from({ length: 100_000 }, (_, i) => `fleet-${i.toString(36)}-tracker`),
    ],
  ])('spreads %s evenly over [0, 1): every 1 % bucket within 15 % of its share', (_name, list) => {
    const buckets = new Array<number>(100).fill(0);
    for (const name of list) {
      const cohort = cohortOf(name);
      expect(cohort).toBeGreaterThanOrEqual(0);
      expect(cohort).toBeLessThan(1);
      buckets[Math.floor(cohort * 100)] = (buckets[Math.floor(cohort * 100)] ?? 0) + 1;
    }
    const share = list.length / 100;
    expect(Math.min(...buckets)).toBeGreaterThan(share * 0.85);
    expect(Math.max(...buckets)).toBeLessThan(share * 1.15);
  });

  it('does not correlate neighbouring names', () => {
    const list = names(50_000);
    let sum = 0;
    for (let i = 1; i < list.length; i++)
      sum += (cohortOf(list[i] as string) - 0.5) * (cohortOf(list[i - 1] as string) - 0.5);
    // Correlation coefficient: covariance ÷ variance (1/12 for a uniform variable).
    expect(Math.abs((sum / list.length) * 12)).toBeLessThan(0.03);
  });
});

describe('redrawCohort', () => {
  const cohorts = names(100_000).map((name) => cohortOf(name));
  const redrawn = (salt: string) => {
    const key = saltKey(salt);
    return cohorts.map((cohort) => redrawCohort(cohort, key));
  };
  /** Indices of the lowest 5 %. */
  const lowest = (values: readonly number[]) =>
    new Set(
      values
        .map((value, i) => ({ value, i }))
        .sort((a, b) => a.value - b.value)
        .slice(0, values.length / 20)
        .map(({ i }) => i),
    );

  it('spreads evenly over [0, 1): every 1 % bucket within 15 % of its share', () => {
    const buckets = new Array<number>(100).fill(0);
    for (const value of redrawn('rollout-a')) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      buckets[Math.floor(value * 100)] = (buckets[Math.floor(value * 100)] ?? 0) + 1;
    }
    expect(Math.min(...buckets)).toBeGreaterThan(1000 * 0.85);
    expect(Math.max(...buckets)).toBeLessThan(1000 * 1.15);
  });

  it('is stable for a salt, and does not follow the cohort order', () => {
    const a = redrawn('rollout-a');
    expect(redrawn('rollout-a')).toEqual(a);
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += ((cohorts[i] as number) - 0.5) * ((a[i] as number) - 0.5);
    expect(Math.abs((sum / a.length) * 12)).toBeLessThan(0.03);
  });

  it('draws independent samples for different salts: the lowest 5 % share about 5 % of their members', () => {
    const a = lowest(redrawn('rollout-a'));
    const b = lowest(redrawn('rollout-b'));
    const shared = [...a].filter((i) => b.has(i)).length;
    // 5000 each, independent: about 250 shared.
    expect(shared).toBeGreaterThan(150);
    expect(shared).toBeLessThan(350);
  });
});
