import { describe, expect, it } from 'vitest';
import type { StatusCounts } from '../../../../lambdas/domain/rollout/counters.ts';
import { evaluateAbort, evaluateWaveGate } from '../../../../lambdas/domain/rollout/gates.ts';
import { pacingHold } from '../../../../lambdas/domain/rollout/pacing.ts';
import { ratePerMinute } from '../../../../lambdas/domain/rollout/rate.ts';
import type {
  AbortCriterion,
  PacingConfig,
  RolloutWaves,
  WaveGate,
} from '../../../../lib/protocol/rollouts.ts';
import { counts } from './support.ts';

const NOW = 1_800_000_000;

describe('evaluateWaveGate', () => {
  const gate: WaveGate = { successPercentage: 90, minimumSoakMinutes: 30 };

  it.each<[string, WaveGate | undefined, number, StatusCounts, number | undefined, Record<string, unknown>]>([
    [
      'no gate: passes once every planned device was notified',
      undefined,
      10,
      counts({ QUEUED: 2, SUCCEEDED: 8 }),
      undefined,
      { passed: true, successPercent: 80 },
    ],
    [
      'no gate: waits while devices are not notified',
      undefined,
      10,
      counts({ SUCCEEDED: 9 }),
      undefined,
      { passed: false },
    ],
    [
      'the threshold is of planned devices, not of notified ones',
      gate,
      100,
      counts({ SUCCEEDED: 10 }),
      undefined,
      { thresholdMet: false, successPercent: 10, passed: false },
    ],
    [
      'threshold met now: the soak starts now',
      gate,
      10,
      counts({ SUCCEEDED: 9, FAILED: 1 }),
      undefined,
      { thresholdMet: true, thresholdMetAt: NOW, soakEndsAt: NOW + 1800, passed: false },
    ],
    [
      'threshold met earlier: the soak runs from then',
      gate,
      10,
      counts({ SUCCEEDED: 9 }),
      NOW - 1800,
      { thresholdMetAt: NOW - 1800, soakEndsAt: NOW, passed: true },
    ],
    [
      'a soak of 0 minutes passes at once',
      { successPercentage: 50 },
      10,
      counts({ SUCCEEDED: 5 }),
      undefined,
      { passed: true, requiredPercent: 50 },
    ],
    [
      'dropping below the threshold forgets when it was met',
      gate,
      10,
      counts({ SUCCEEDED: 8 }),
      NOW - 9999,
      { thresholdMet: false, passed: false },
    ],
  ])('%s', (_name, waveGate, planned, waveCounts, metAt, expected) => {
    const result = evaluateWaveGate(0, waveGate, planned, waveCounts, metAt, NOW);
    expect(result).toMatchObject(expected);
    if (expected.thresholdMet === false) expect(result).not.toHaveProperty('thresholdMetAt');
  });
});

describe('evaluateAbort', () => {
  const criterion = (c: Partial<AbortCriterion>): AbortCriterion => ({
    failureType: 'FAILED',
    thresholdPercentage: 10,
    minNumberOfExecutedThings: 20,
    action: 'pause',
    ...c,
  });

  it.each<[string, AbortCriterion[], StatusCounts, string | undefined]>([
    ['below the minimum number of things: never', [criterion({})], counts({ FAILED: 19 }), undefined],
    [
      'at the minimum, failures at the threshold: abort',
      [criterion({})],
      counts({ FAILED: 2, SUCCEEDED: 18 }),
      'pause',
    ],
    ['just under the threshold', [criterion({})], counts({ FAILED: 2, SUCCEEDED: 19 }), undefined],
    ['queued things count as notified', [criterion({})], counts({ FAILED: 2, QUEUED: 30 }), undefined],
    [
      'REJECTED does not count for FAILED',
      [criterion({})],
      counts({ REJECTED: 5, SUCCEEDED: 15 }),
      undefined,
    ],
    [
      'REJECTED counts for REJECTED',
      [criterion({ failureType: 'REJECTED' })],
      counts({ REJECTED: 5, SUCCEEDED: 15 }),
      'pause',
    ],
    [
      'TIMED_OUT counts for TIMED_OUT',
      [criterion({ failureType: 'TIMED_OUT' })],
      counts({ TIMED_OUT: 2, SUCCEEDED: 18 }),
      'pause',
    ],
    [
      'ALL adds the three failure types',
      [criterion({ failureType: 'ALL', thresholdPercentage: 15 })],
      counts({ FAILED: 1, REJECTED: 1, TIMED_OUT: 1, SUCCEEDED: 17 }),
      'pause',
    ],
    [
      'cancel wins over pause when both are met',
      [criterion({}), criterion({ failureType: 'ALL', action: 'cancel' })],
      counts({ FAILED: 5, SUCCEEDED: 15 }),
      'cancel',
    ],
    ['no criteria: never', [], counts({ FAILED: 100 }), undefined],
  ])('%s', (_name, criteriaList, executionCounts, action) => {
    const result = evaluateAbort(criteriaList.length === 0 ? undefined : { criteriaList }, executionCounts);
    expect(result?.action).toBe(action);
  });

  it('reports the numbers', () => {
    expect(
      evaluateAbort({ criteriaList: [criterion({})] }, counts({ FAILED: 3, SUCCEEDED: 17 })),
    ).toMatchObject({
      notified: 20,
      failures: 3,
      failurePercent: 15,
    });
  });
});

describe('ratePerMinute', () => {
  const exp = (criteria: Record<string, number>, maximumPerMinute?: number): RolloutWaves => ({
    exponentialRate: { baseRatePerMinute: 10, incrementFactor: 2, rateIncreaseCriteria: criteria },
    ...(maximumPerMinute === undefined ? {} : { maximumPerMinute }),
  });

  it.each<[string, RolloutWaves | undefined, StatusCounts, number]>([
    ['no rate config: unlimited', undefined, counts(), Number.POSITIVE_INFINITY],
    ['maximumPerMinute alone', { maximumPerMinute: 120 }, counts({ SUCCEEDED: 1e6 }), 120],
    ['exponential starts at the base', exp({ numberOfNotifiedThings: 50 }), counts({ QUEUED: 49 }), 10],
    [
      '× factor once 50 were notified',
      exp({ numberOfNotifiedThings: 50 }),
      counts({ QUEUED: 30, FAILED: 20 }),
      20,
    ],
    ['× factor² after 100', exp({ numberOfNotifiedThings: 50 }), counts({ SUCCEEDED: 100 }), 40],
    [
      'successes criterion counts only successes',
      exp({ numberOfSucceededThings: 50 }),
      counts({ QUEUED: 500, SUCCEEDED: 49 }),
      10,
    ],
    ['successes criterion met twice', exp({ numberOfSucceededThings: 50 }), counts({ SUCCEEDED: 120 }), 40],
    ['capped by maximumPerMinute', exp({ numberOfNotifiedThings: 1 }, 300), counts({ QUEUED: 10 }), 300],
    ['capped at 1000 without a maximum', exp({ numberOfNotifiedThings: 1 }), counts({ QUEUED: 5000 }), 1000],
  ])('%s', (_name, waves, executionCounts, expected) => {
    expect(ratePerMinute(waves, executionCounts)).toBe(expected);
  });
});

describe('pacingHold', () => {
  const pacing: PacingConfig = { minRsrpDbm: -115, minBatteryPercent: 30 };

  it.each<[string, PacingConfig | undefined, { rsrp?: number; batteryPercent?: number }, string | undefined]>(
    [
      ['no pacing: never held', undefined, { rsrp: -150, batteryPercent: 1 }, undefined],
      ['a good device goes', pacing, { rsrp: -100, batteryPercent: 80 }, undefined],
      ['at the limits goes', pacing, { rsrp: -115, batteryPercent: 30 }, undefined],
      ['weak signal waits', pacing, { rsrp: -116, batteryPercent: 80 }, 'lowSignal'],
      ['low battery waits', pacing, { rsrp: -100, batteryPercent: 29 }, 'lowBattery'],
      ['unknown values do not hold a device', pacing, {}, undefined],
      [
        'only the configured limit applies',
        { minBatteryPercent: 50 },
        { rsrp: -150, batteryPercent: 60 },
        undefined,
      ],
    ],
  )('%s', (_name, config, device, expected) => {
    expect(pacingHold(device, config)).toBe(expected);
  });
});
