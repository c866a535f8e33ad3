import { describe, expect, it } from 'vitest';
import { cohortOf, redrawCohort, saltKey } from '../../../../lambdas/domain/rollout/cohort.ts';
import { controlSalt } from '../../../../lambdas/domain/rollout/control.ts';
import { planRollout } from '../../../../lambdas/domain/rollout/plan.ts';
import {
  bucketOf,
  bucketRange,
  cohortKey,
  cohortOfKey,
  emptyTally,
  firstWaveOf,
  locateRank,
  MAX_BUCKETS,
  MIN_PILOT_WAVE,
  pilotInEffect,
  placeOf,
  planningParams,
  positionOf,
  sumTallies,
  waveEnds,
} from '../../../../lambdas/domain/rollout/planning.ts';
import { type EligibleDevice, selectTargets } from '../../../../lambdas/domain/rollout/targets.ts';
import { waveSizes } from '../../../../lambdas/domain/rollout/wave-sizes.ts';
import { type RolloutRequest, rolloutArtifact } from '../../../../lib/protocol/rollouts.ts';
import { MONDAY_10_UTC, request } from './support.ts';

const gate = (controlPercentage: number) => ({
  metric: 'rebootRate' as const,
  maxWorsening: { absolute: 0.1 },
  windowMinutes: 60,
  controlPercentage,
});

const gated = (changes: Partial<RolloutRequest> = {}) =>
  request({ rolloutId: 'plan-r1', waves: { sizes: [1, 10, 100] }, healthGate: gate(5), ...changes });

describe('planningParams', () => {
  it.each<[string, Partial<RolloutRequest>, number | undefined, number]>([
    ['sizes: half of the first wave’s cohort span', { waves: { sizes: [10, 100] } }, 0.05, 0],
    ['one wave: half of the selected span', { targets: { percentage: 40 } }, 0.2, 0],
    [
      'an exponential ramp: no pilot (its first wave is a count)',
      {
        waves: {
          exponentialRate: {
            baseRatePerMinute: 10,
            incrementFactor: 2,
            rateIncreaseCriteria: { numberOfNotifiedThings: 100 },
          },
        },
      },
      undefined,
      0,
    ],
    ['a gate of 5 %: devices re-drawn below 12 % are held', { healthGate: gate(5) }, 0.5, 0.12],
    ['a gate of 50 %: every device is held', { healthGate: gate(50) }, 0.5, 1],
  ])('%s', (_case, changes, pilotBelow, holdBelow) => {
    // Act
    const params = planningParams(request({ rolloutId: 'r', ...changes }));
    // Assess
    if (pilotBelow === undefined) expect(params.pilotBelow).toBeUndefined();
    else expect(params.pilotBelow).toBeCloseTo(pilotBelow, 12);
    expect(params.holdBelow).toBeCloseTo(holdBelow, 12);
  });

  it.each([100, 50, 12.5, 5, 0.1, 0.001])(
    'at %s % selected, every bucket is within its range and there are at most 1024, at least 512',
    (percentage) => {
      // Prepare
      const params = planningParams(request({ targets: { percentage } }));
      const cohorts = Array.from({ length: 2000 }, (_, i) => cohortOf(`dev-${i}`)).filter(
        (c) => c < percentage / 100,
      );
      // Act
      const misplaced = cohorts.filter((cohort) => {
        const { from, to } = bucketRange(params, bucketOf(params, cohort));
        const key = cohortKey(cohort);
        return key < from || key > to;
      });
      // Assess
      expect(params.buckets).toBeLessThanOrEqual(MAX_BUCKETS);
      expect(params.buckets).toBeGreaterThanOrEqual(MAX_BUCKETS / 2);
      expect(misplaced).toEqual([]);
      expect(bucketRange(params, 0).from).toBe('00000000000000');
      expect(bucketRange(params, params.buckets - 1).to).toBe('1fffffffffffff');
    },
  );
});

describe('cohort keys', () => {
  it('sort as the cohorts do, and read back exactly', () => {
    // Prepare
    const cohorts = Array.from({ length: 500 }, (_, i) => cohortOf(`k-${i}`));
    // Act
    const byKey = [...cohorts].sort((a, b) => (cohortKey(a) < cohortKey(b) ? -1 : 1));
    // Assess
    expect(byKey).toEqual([...cohorts].sort((a, b) => a - b));
    for (const cohort of cohorts) expect(cohortOfKey(cohortKey(cohort))).toBe(cohort);
    expect(positionOf(0.5, 'a') < positionOf(0.5, 'b')).toBe(true);
  });
});

describe('placeOf', () => {
  it('holds devices re-drawn below the hold bound, pilots others below the pilot bound', () => {
    // Prepare
    const params = planningParams(gated());
    const key = saltKey(controlSalt('plan-r1'));
    const cohorts = Array.from({ length: 20_000 }, (_, i) => cohortOf(`p-${i}`));
    // Act
    const placed = cohorts.map((cohort) => ({ cohort, ...placeOf(params, cohort) }));
    // Assess
    for (const p of placed) {
      expect(p.redraw).toBe(redrawCohort(p.cohort, key));
      expect(p.held).toBe((p.redraw ?? 1) < 0.12);
      expect(p.pilot).toBe(!p.held && p.cohort < 0.005);
    }
    expect(placed.filter((p) => p.pilot).length).toBeGreaterThan(50);
  });

  it('holds nothing without a gate', () => {
    expect(placeOf(planningParams(request({ rolloutId: 'x' })), 0.001)).toEqual({
      pilot: true,
      held: false,
    });
  });
});

describe('pilotInEffect', () => {
  it('needs wave 0 of at least 100 devices, and a control cohort when gated; grows with the fleet', () => {
    // Prepare
    const req = gated();
    const params = planningParams(req);
    const sizes = Array.from({ length: 30_000 }, (_, i) => i);
    // Act
    const inEffect = sizes.map((n) => pilotInEffect(req, params, n));
    const first = inEffect.indexOf(true);
    // Assess: monotone, so what the devices read so far prove holds for the fleet.
    expect(first).toBeGreaterThan(0);
    expect(inEffect.slice(first).every(Boolean)).toBe(true);
    expect(firstWaveOf(req, params, first)).toBe(MIN_PILOT_WAVE);
    expect(firstWaveOf(req, params, first - 1)).toBe(MIN_PILOT_WAVE - 1);
  });

  it('is off for an exponential ramp, and for a gate whose control share rounds to nothing', () => {
    const tiny = request({ rolloutId: 'x', healthGate: gate(0.001) });
    expect(pilotInEffect(tiny, planningParams(tiny), 10_000)).toBe(false);
    const ramp = request({
      waves: {
        exponentialRate: {
          baseRatePerMinute: 10,
          incrementFactor: 2,
          rateIncreaseCriteria: { numberOfNotifiedThings: 1000 },
        },
      },
    });
    expect(pilotInEffect(ramp, planningParams(ramp), 1_000_000)).toBe(false);
  });
});

describe('waveEnds', () => {
  const req = request({ waves: { sizes: [1, 10, 100] } });
  it.each<[string, number, number, number[]]>([
    ['no pilot: the cumulative wave sizes', 1000, 0, [10, 100, 1000]],
    ['a pilot inside wave 0 changes nothing', 1000, 7, [10, 100, 1000]],
    ['a pilot reaching past wave 0 stretches it', 1000, 40, [40, 100, 1000]],
    ['a pilot past wave 1 swallows it', 1000, 150, [150, 1000]],
    ['a pilot over everything: one wave', 1000, 1000, [1000]],
    ['nothing kept: no waves', 0, 0, []],
  ])('%s', (_case, kept, pilotRank, expected) => {
    expect(waveEnds(req, kept, pilotRank)).toEqual(expected);
  });
});

describe('locateRank', () => {
  it.each<[number[], number, { bucket: number; before: number }]>([
    [[3, 0, 2], 1, { bucket: 0, before: 0 }],
    [[3, 0, 2], 3, { bucket: 0, before: 0 }],
    [[3, 0, 2], 4, { bucket: 2, before: 3 }],
    [[0, 0, 5], 5, { bucket: 2, before: 0 }],
  ])('%j, rank %i', (counts, rank, expected) => {
    expect(locateRank(counts, rank)).toEqual(expected);
  });

  it('refuses a rank beyond the count', () => {
    expect(() => locateRank([1, 1], 3)).toThrow(RangeError);
  });
});

describe('sumTallies', () => {
  it('adds counts and buckets and keeps the later last pilot', () => {
    // Prepare
    const params = planningParams(request({ targets: { percentage: 50 } }));
    const a = {
      ...emptyTally(params),
      scanned: 5,
      eligible: 2,
      pilot: 1,
      lastPilot: 'aa#x',
      open: emptyTally(params).open.map((_, i) => (i === 3 ? 2 : 0)),
    };
    const b = {
      ...emptyTally(params),
      scanned: 7,
      eligible: 1,
      pilot: 1,
      lastPilot: 'ab#y',
      skipped: { ...emptyTally(params).skipped, downgrade: 4 },
      open: emptyTally(params).open.map((_, i) => (i === 3 ? 1 : 0)),
    };
    // Act
    const sum = sumTallies(a, b);
    // Assess
    expect(sum).toMatchObject({ scanned: 12, eligible: 3, pilot: 2, lastPilot: 'ab#y' });
    expect(sum.skipped.downgrade).toBe(4);
    expect(sum.open[3]).toBe(3);
    expect(sumTallies(b, a).lastPilot).toBe('ab#y');
  });
});

/**
 * The rule without a pilot, written out plainly: control = the ⌊n × c⌋ lowest re-drawn cohorts of all
 * eligible devices, waves = the rest in cohort order cut at the exact cumulative shares.
 */
function planWithoutPilot(req: RolloutRequest, eligible: readonly EligibleDevice[]) {
  const key = saltKey(controlSalt(req.rolloutId ?? ''));
  const byName = (a: EligibleDevice, b: EligibleDevice) => (a.device.thingName < b.device.thingName ? -1 : 1);
  const controlCount = Math.floor((eligible.length * (req.healthGate?.controlPercentage ?? 0)) / 100);
  const control = new Set(
    [...eligible]
      .sort((a, b) => redrawCohort(a.cohort, key) - redrawCohort(b.cohort, key) || byName(a, b))
      .slice(0, controlCount)
      .map((e) => e.device.thingName),
  );
  const kept = [...eligible]
    .filter((e) => !control.has(e.device.thingName))
    .sort((a, b) => a.cohort - b.cohort || byName(a, b))
    .map((e) => e.device.thingName);
  const waves: string[][] = [];
  let at = 0;
  for (const size of waveSizes(req.waves, kept.length)) {
    waves.push(kept.slice(at, at + size));
    at += size;
  }
  return { waves, control };
}

describe('planRollout with a pilot', () => {
  const fleet = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      thingName: `fleet-${String(i).padStart(6, '0')}`,
      deviceType: 'tracker',
      firmwareVersion: '1.0.0',
    }));

  it.each([
    ['20,000 devices, 1 % first wave, 5 % control', 20_000, gated()],
    ['50,000 devices, 50 % selected, 0.5 % first wave', 50_000, gated({ targets: { percentage: 50 } })],
    ['3,000 devices, one wave, 10 % control', 3000, gated({ waves: undefined, healthGate: gate(10) })],
  ])('%s: the same waves and control as the rule without a pilot', (_case, n, req) => {
    // Prepare
    const eligible = selectTargets(fleet(n), req.targets, rolloutArtifact(req)).eligible;
    const params = planningParams(req);
    const pilots = eligible.filter(
      (e) => pilotInEffect(req, params, eligible.length) && placeOf(params, e.cohort).pilot,
    );
    // Act
    const plan = planRollout(req, eligible, MONDAY_10_UTC);
    const plain = planWithoutPilot(req, eligible);
    // Assess
    expect(pilots.length).toBeGreaterThan(10);
    expect(plan.waves.slice(0, -1).map((w) => w.things)).toEqual(plain.waves);
    expect(new Set(plan.control)).toEqual(plain.control);
    const wave0 = new Set(plan.waves[0]?.things);
    expect(pilots.filter((p) => !wave0.has(p.device.thingName))).toEqual([]);
  });

  it('a lopsided fleet whose pilot reaches past wave 0: wave 0 stretches, control stays exact and pilot-free', () => {
    // Prepare: 2,000 devices all with cohorts below the pilot bound (a fleet nothing like uniform).
    const req = gated({ waves: { sizes: [20, 100] } });
    const params = planningParams(req);
    const eligible: EligibleDevice[] = fleet(2000).map((device, i) => ({
      device,
      cohort: ((params.pilotBelow ?? 0) * (i + 0.5)) / 2000,
    }));
    const pilots = eligible.filter((e) => placeOf(params, e.cohort).pilot).map((e) => e.device.thingName);
    // Act
    const plan = planRollout(req, eligible, MONDAY_10_UTC);
    // Assess
    expect(plan.control.length).toBe(100);
    expect(plan.control.filter((thing) => pilots.includes(thing))).toEqual([]);
    expect(pilots.length).toBeGreaterThan(380);
    const wave0 = plan.waves[0]?.things ?? [];
    expect(pilots.every((thing) => wave0.includes(thing))).toBe(true);
    // The exact 20 % of 1,900 kept would be 380; wave 0 runs to the last pilot device instead.
    expect(wave0.length).toBeGreaterThan(380);
    expect(plan.waveSizes.reduce((a, b) => a + b, 0)).toBe(2000);
  });
});
