import { describe, expect, it } from 'vitest';
import { cohortOrder, planRollout, waveSizes } from '../../../../lambdas/domain/rollout/plan.ts';
import {
  type EligibleDevice,
  type RolloutDevice,
  selectTargets,
} from '../../../../lambdas/domain/rollout/targets.ts';
import { type RolloutWaves, rolloutArtifact } from '../../../../lib/protocol/rollouts.ts';
import { MONDAY_10_UTC, request } from './support.ts';

const exponential = (
  base: number,
  factor: number,
  criteria: { numberOfNotifiedThings?: number; numberOfSucceededThings?: number },
  maximumPerMinute?: number,
): RolloutWaves => ({
  exponentialRate: { baseRatePerMinute: base, incrementFactor: factor, rateIncreaseCriteria: criteria },
  ...(maximumPerMinute === undefined ? {} : { maximumPerMinute }),
});

describe('waveSizes', () => {
  it.each<[string, RolloutWaves | undefined, number, number[]]>([
    ['no waves: one wave', undefined, 500, [500]],
    ['no devices: no waves', { sizes: [10, 100] }, 0, []],
    ['cumulative percentages', { sizes: [1, 10, 50, 100] }, 1000, [10, 90, 400, 500]],
    [
      'rounding up, so a 1 % wave of a small fleet has a device',
      { sizes: [1, 10, 50, 100] },
      30,
      [1, 2, 12, 15],
    ],
    ['waves that round to nothing are dropped', { sizes: [1, 2, 3, 100] }, 10, [1, 9]],
    [
      'exponential: one wave per rate step (10, 20, 40, 80, 160, 320, 640/min) then the rest at the cap',
      exponential(10, 2, { numberOfNotifiedThings: 100 }),
      10_000,
      [100, 100, 100, 100, 100, 100, 100, 9300],
    ],
    [
      'exponential with a maximum: steps only until the maximum',
      exponential(10, 2, { numberOfSucceededThings: 50 }, 50),
      1000,
      [50, 50, 50, 850],
    ],
    [
      'exponential starting at the maximum: no ramp',
      exponential(100, 2, { numberOfNotifiedThings: 10 }, 100),
      300,
      [300],
    ],
    [
      'exponential over a small fleet: the ramp covers it',
      exponential(1, 1.5, { numberOfNotifiedThings: 4 }),
      10,
      [4, 4, 2],
    ],
  ])('%s', (_name, waves, count, expected) => {
    const sizes = waveSizes(waves, count);
    expect(sizes).toEqual(expected);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(count);
  });
});

const fleet: RolloutDevice[] = Array.from({ length: 2000 }, (_, i) => ({
  thingName: `sim-${String(i).padStart(4, '0')}`,
  deviceType: i % 2 === 0 ? 'tracker' : 'env-sensor',
  firmwareVersion: '1.0.0',
}));

describe('planRollout', () => {
  const plan = (
    devices: readonly RolloutDevice[],
    changes: Parameters<typeof request>[0] = {},
    nowMs = MONDAY_10_UTC,
  ) => {
    const req = request(changes);
    return planRollout(
      req,
      selectTargets(devices, req.targets, { version: rolloutArtifact(req).version }).eligible,
      nowMs,
    );
  };

  it('orders by cohort, so the same devices lead whatever order the registry returns', () => {
    const forward = plan(fleet, { waves: { sizes: [1, 100] } });
    const backward = plan([...fleet].reverse(), { waves: { sizes: [1, 100] } });
    expect(backward.waves).toEqual(forward.waves);
    expect(forward.waves[0]?.things).toHaveLength(20);
  });

  it('keeps the first wave’s devices first when the fleet grows (cohorts are per device)', () => {
    const more: RolloutDevice[] = [
      ...fleet,
      ...Array.from({ length: 2000 }, (_, i) => ({
        thingName: `new-${i}`,
        deviceType: 'tracker',
        firmwareVersion: '1.0.0',
      })),
    ];
    const small = plan(fleet, { waves: { sizes: [1, 100] } }).waves.flatMap((w) => w.things);
    const large = plan(more, { waves: { sizes: [1, 100] } }).waves.flatMap((w) => w.things);
    // The old devices keep their relative order: the merged order restricted to them is the old one.
    expect(large.filter((name) => name.startsWith('sim-'))).toEqual(small);
  });

  const gate = {
    metric: 'alertRate' as const,
    maxWorsening: { relative: 0.1 },
    windowMinutes: 60,
    controlPercentage: 5,
  };

  it('puts every eligible device in exactly one wave, the control cohort in a last wave of its own', () => {
    const result = plan(fleet, {
      rolloutId: 'r-1',
      waves: { sizes: [5, 25, 100] },
      healthGate: { ...gate, controlPercentage: 10 },
    });
    const all = result.waves.flatMap((w) => w.things);
    expect(new Set(all).size).toBe(2000);
    expect(all).toHaveLength(2000);
    expect(result.control).toHaveLength(200);
    expect(result.waveSizes).toEqual([90, 360, 1350, 200]);
    expect(result.controlWave).toBe(3);
    expect(result.waves[3]?.things).toEqual(result.control);
    expect(result.waves.map((w) => w.things.length)).toEqual(result.waveSizes);
  });

  it('draws the control cohort per rollout: the same for a rerun in any order, another for another rollout', () => {
    const a = plan(fleet, { rolloutId: 'rollout-a', healthGate: gate });
    const again = plan([...fleet].reverse(), {
      rolloutId: 'rollout-a',
      healthGate: gate,
      waves: { sizes: [10, 100] },
    });
    const b = plan(fleet, { rolloutId: 'rollout-b', healthGate: gate });
    expect(again.control).toEqual(a.control);
    const shared = b.control.filter((thing) => a.control.includes(thing));
    // Two independent 5 % samples of 2000 share about 5 devices, not 100.
    expect(shared.length).toBeLessThan(20);
  });

  it('draws the control cohort from the whole cohort order, not from its tail, and keeps that order for the waves', () => {
    const result = plan(fleet, { rolloutId: 'rollout-a', healthGate: gate, waves: { sizes: [50, 100] } });
    const cohorts = new Map(
      selectTargets(fleet, { percentage: 100 }, { version: '2.0.0' }).eligible.map((e) => [
        e.device.thingName,
        e.cohort,
      ]),
    );
    const cohortOfThing = (thing: string) => cohorts.get(thing) as number;
    // Old behaviour: every control device came after every updated one in cohort order.
    expect(result.control.filter((thing) => cohortOfThing(thing) < 0.5).length).toBeGreaterThan(20);
    const updated = result.waves.slice(0, -1).flatMap((w) => w.things);
    expect(updated.map(cohortOfThing)).toEqual([...updated.map(cohortOfThing)].sort((x, y) => x - y));
  });

  it('rounds the control cohort down, so a one-device rollout still updates its device', () => {
    const result = plan(fleet.slice(0, 1), { healthGate: { ...gate, controlPercentage: 50 } });
    expect(result.control).toEqual([]);
    expect(result.waveSizes).toEqual([1]);
    expect(result).not.toHaveProperty('controlWave');
  });

  it.each<[string, number, 'IN_PROGRESS' | 'SCHEDULED', number]>([
    [
      'inside the window: starts now',
      Date.parse('2026-03-02T01:30:00Z'),
      'IN_PROGRESS',
      Date.parse('2026-03-02T01:30:00Z') / 1000,
    ],
    [
      'outside the window: scheduled for the next opening',
      MONDAY_10_UTC,
      'SCHEDULED',
      Date.parse('2026-03-03T01:00:00Z') / 1000,
    ],
  ])('maintenance windows: %s', (_name, nowMs, status, startsAt) => {
    const result = plan(
      fleet,
      {
        maintenanceWindows: [
          { daysOfWeek: ['MON', 'TUE'], startTime: '01:00', durationMinutes: 120, utcOffsetMinutes: 0 },
        ],
      },
      nowMs,
    );
    expect(result).toMatchObject({ status, startsAt });
  });

  it('plans no waves when nothing is eligible', () => {
    expect(plan([], {})).toMatchObject({ waves: [], control: [], waveSizes: [] });
  });
});

describe('cohortOrder', () => {
  const eligible = (name: string, cohort: number): EligibleDevice => ({
    device: { thingName: name, deviceType: 'tracker', firmwareVersion: '1.0.0' },
    cohort,
  });
  const ordered = (list: EligibleDevice[]) => [...cohortOrder(list)].map((i) => list[i]?.device.thingName);

  it.each<[string, EligibleDevice[], string[]]>([
    ['by cohort', [eligible('a', 0.9), eligible('b', 0.1), eligible('c', 0.5)], ['b', 'c', 'a']],
    [
      'equal cohorts by name, whatever the input order',
      [eligible('z', 0.5), eligible('m', 0.5), eligible('a', 0.5)],
      ['a', 'm', 'z'],
    ],
    [
      'cohorts equal in their first 32 bits but not after: by full cohort, not by input order',
      [eligible('late', 0.25 + 2 ** -40), eligible('early', 0.25 + 2 ** -45), eligible('first', 0.25)],
      ['first', 'early', 'late'],
    ],
    ['nothing', [], []],
  ])('%s', (_name, list, expected) => {
    expect(ordered(list)).toEqual(expected);
    expect(ordered([...list].reverse())).toEqual(expected);
  });
});
