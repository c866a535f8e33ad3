import { describe, expect, it } from 'vitest';
import type { RolloutCounters } from '../../../../lambdas/domain/rollout/counters.ts';
import type { RolloutRecord } from '../../../../lambdas/domain/rollout/record.ts';
import type { RolloutStatus } from '../../../../lib/protocol/rollouts.ts';
import { candidates, MINUTE, NOW, names, rollout, tick } from './scheduler-support.ts';
import { counters, execution, MONDAY_10_UTC, request } from './support.ts';

describe('rate', () => {
  const exponential = request({
    waves: {
      exponentialRate: {
        baseRatePerMinute: 10,
        incrementFactor: 2,
        rateIncreaseCriteria: { numberOfNotifiedThings: 20 },
      },
      maximumPerMinute: 35,
    },
  });

  it.each<[string, RolloutRecord, RolloutCounters, number, number | undefined]>([
    ['no rate config: everything offered', rollout(), counters([{}]), 50, undefined],
    [
      'maximumPerMinute',
      rollout({ request: request({ waves: { maximumPerMinute: 7 } }) }),
      counters([{}]),
      7,
      (MINUTE + 1) * 60,
    ],
    [
      'exponential at the base rate',
      rollout({ request: exponential, waveSizes: [1000] }),
      counters([{ QUEUED: 19 }]),
      10,
      (MINUTE + 1) * 60,
    ],
    [
      'exponential after the criterion was met once',
      rollout({ request: exponential, waveSizes: [1000] }),
      counters([{ SUCCEEDED: 20 }]),
      20,
      (MINUTE + 1) * 60,
    ],
    [
      'exponential capped by maximumPerMinute',
      rollout({ request: exponential, waveSizes: [1000] }),
      counters([{ SUCCEEDED: 60 }]),
      35,
      (MINUTE + 1) * 60,
    ],
    [
      'the rate is per minute: what this minute already queued counts',
      rollout({
        request: request({ waves: { maximumPerMinute: 7 } }),
        rateWindow: { minute: MINUTE, queued: 5 },
      }),
      counters([{ QUEUED: 5 }]),
      2,
      (MINUTE + 1) * 60,
    ],
    [
      'a new minute has a fresh budget',
      rollout({
        request: request({ waves: { maximumPerMinute: 7 } }),
        rateWindow: { minute: MINUTE - 1, queued: 7 },
      }),
      counters([{ QUEUED: 7 }]),
      7,
      (MINUTE + 1) * 60,
    ],
  ])('%s', (_name, record, executionCounters, queued, wakeAt) => {
    const decision = tick({ rollout: record, candidates: candidates(50), counters: executionCounters });
    expect(decision.queue).toHaveLength(queued);
    expect(names(decision.queue)).toEqual(names(candidates(queued)));
    expect(decision.wakeAt).toBe(wakeAt);
    expect(decision.rollout.rateWindow).toEqual({
      minute: MINUTE,
      queued: queued + (record.rateWindow?.minute === MINUTE ? record.rateWindow.queued : 0),
    });
  });
});

describe('waves and gates', () => {
  const gated = request({
    waves: { sizes: [10, 100], gate: { successPercentage: 90, minimumSoakMinutes: 30 } },
  });
  const base = rollout({ request: gated, waveSizes: [10, 90] });
  const offered = [...candidates(3, 0), ...candidates(5, 1)];

  it('offers only waves the gates opened (stragglers of earlier waves included)', () => {
    const decision = tick({ rollout: base, candidates: offered, counters: counters([{ QUEUED: 7 }]) });
    expect(names(decision.queue)).toEqual(['w0-0', 'w0-1', 'w0-2']);
    expect(decision.gate).toMatchObject({ wave: 0, planned: 10, thresholdMet: false, passed: false });
  });

  it('remembers when the threshold was met and wakes when the soak ends', () => {
    const decision = tick({
      rollout: base,
      candidates: offered,
      counters: counters([{ SUCCEEDED: 9, FAILED: 1 }]),
    });
    expect(decision.rollout).toMatchObject({ currentWave: 0, gateMetAt: NOW });
    expect(decision.queue).toHaveLength(3);
    expect(decision.wakeAt).toBe(NOW + 1800);
  });

  it('opens the next wave after the soak, and queues from it on the same tick', () => {
    const soaked = { ...base, gateMetAt: NOW - 1800 };
    const decision = tick({
      rollout: soaked,
      candidates: offered,
      counters: counters([{ SUCCEEDED: 9, FAILED: 1 }]),
    });
    expect(decision.rollout.currentWave).toBe(1);
    expect(decision.rollout).not.toHaveProperty('gateMetAt');
    expect(names(decision.queue)).toEqual([...names(candidates(3, 0)), ...names(candidates(5, 1))]);
    expect(decision.gate).toMatchObject({ wave: 1, passed: false });
  });

  it('forgets the soak start when the wave falls back below the threshold', () => {
    const soaking = { ...base, gateMetAt: NOW - 600 };
    const decision = tick({ rollout: soaking, counters: counters([{ SUCCEEDED: 8, FAILED: 2 }]) });
    expect(decision.rollout).not.toHaveProperty('gateMetAt');
  });

  it('without a gate, moves on once the wave was fully notified', () => {
    const ungated = rollout({ request: request({ waves: { sizes: [10, 100] } }), waveSizes: [10, 90] });
    expect(tick({ rollout: ungated, counters: counters([{ QUEUED: 10 }]) }).rollout.currentWave).toBe(1);
    expect(tick({ rollout: ungated, counters: counters([{ QUEUED: 9 }]) }).rollout.currentWave).toBe(0);
  });
});

describe('abort criteria', () => {
  const withAbort = (action: 'pause' | 'cancel') =>
    rollout({
      request: request({
        abort: {
          criteriaList: [
            { failureType: 'FAILED', thresholdPercentage: 20, minNumberOfExecutedThings: 10, action },
          ],
        },
      }),
    });

  it.each<[string, RolloutRecord, RolloutCounters, RolloutStatus, boolean]>([
    ['pause', withAbort('pause'), counters([{ FAILED: 2, SUCCEEDED: 8 }]), 'PAUSED', false],
    [
      'cancel, and cancel what is queued',
      withAbort('cancel'),
      counters([{ FAILED: 2, SUCCEEDED: 8 }]),
      'CANCELED',
      true,
    ],
    [
      'not before the minimum number of things',
      withAbort('cancel'),
      counters([{ FAILED: 2, SUCCEEDED: 7 }]),
      'IN_PROGRESS',
      false,
    ],
    [
      'not under the threshold',
      withAbort('pause'),
      counters([{ FAILED: 1, SUCCEEDED: 9 }]),
      'IN_PROGRESS',
      false,
    ],
    [
      'after a resume, only failures since count',
      { ...withAbort('pause'), abortBaseline: counters([{ FAILED: 2, SUCCEEDED: 8 }]).rollout },
      counters([{ FAILED: 3, SUCCEEDED: 17 }]),
      'IN_PROGRESS',
      false,
    ],
    [
      'while a window is closed too',
      { ...withAbort('pause'), status: 'SCHEDULED' },
      counters([{ FAILED: 5, SUCCEEDED: 5 }]),
      'PAUSED',
      false,
    ],
  ])('%s', (_name, record, executionCounters, status, cancelQueued) => {
    const decision = tick({ rollout: record, candidates: candidates(5), counters: executionCounters });
    expect(decision.rollout.status).toBe(status);
    expect(decision.cancelQueued).toBe(cancelQueued);
    if (status !== 'IN_PROGRESS') {
      expect(decision.queue).toEqual([]);
      expect(decision.rollout.statusReason).toMatch(/^abort: FAILED/);
      expect(decision.changes).toHaveLength(1);
    }
  });
});

describe('timeouts and retries', () => {
  const retrying = rollout({
    request: request({
      retries: {
        criteriaList: [{ failureType: 'ALL', numberOfRetries: 2 }],
        backoff: { baseSeconds: 600, factor: 2 },
      },
      waves: { maximumPerMinute: 3 },
    }),
  });
  const failed = (thingName: string, attempt: number, failedAgo: number) =>
    execution('FAILED', { thingName, attempt, lastUpdatedAt: NOW - failedAgo });

  it('times out executions whose timer expired, and wakes for the next timer', () => {
    const decision = tick({
      watched: [
        execution('IN_PROGRESS', { thingName: 'late', stepTimeoutAt: NOW }),
        execution('IN_PROGRESS', { thingName: 'later', inProgressTimeoutAt: NOW + 90 }),
        execution('IN_PROGRESS', { thingName: 'no-timer' }),
      ],
    });
    expect(decision.timeOut).toEqual(['late']);
    expect(decision.wakeAt).toBe(NOW + 90);
  });

  it.each<[RolloutStatus]>([['PAUSED'], ['CANCELED'], ['SCHEDULED']])(
    'times out in a %s rollout too',
    (status) => {
      const decision = tick({
        rollout: rollout({ status }),
        watched: [execution('IN_PROGRESS', { thingName: 'late', stepTimeoutAt: NOW - 1 })],
      });
      expect(decision.timeOut).toEqual(['late']);
    },
  );

  it('retries what is due before offering new devices, within the rate', () => {
    const decision = tick({
      rollout: retrying,
      candidates: candidates(5),
      watched: [
        failed('due-1', 0, 600),
        failed('waiting', 1, 600),
        failed('done', 2, 99_999),
        failed('due-2', 0, 700),
      ],
      counters: counters([{ FAILED: 4, SUCCEEDED: 10 }]),
    });
    expect(decision.retry).toEqual(['due-1', 'due-2']);
    expect(names(decision.queue)).toEqual(['w0-0']);
    // 'waiting' (second retry: 1200 s after its failure) is due in 600 s; the rate frees up first.
    expect(decision.wakeAt).toBe((MINUTE + 1) * 60);
  });

  it('wakes next minute when a due retry had to wait for the rate', () => {
    const decision = tick({
      rollout: { ...retrying, rateWindow: { minute: MINUTE, queued: 3 } },
      watched: [failed('due', 0, 9999)],
      counters: counters([{ FAILED: 1, QUEUED: 3 }]),
    });
    expect(decision.retry).toEqual([]);
    expect(decision.wakeAt).toBe((MINUTE + 1) * 60);
  });

  it('queues no retries while a maintenance window is closed', () => {
    const closed = {
      ...retrying,
      request: {
        ...retrying.request,
        maintenanceWindows: [
          { daysOfWeek: ['SUN' as const], startTime: '00:00', durationMinutes: 60, utcOffsetMinutes: 0 },
        ],
      },
    };
    expect(tick({ rollout: closed, watched: [failed('due', 0, 9999)] }).retry).toEqual([]);
  });
});

describe('maintenance windows', () => {
  const mondayMorning = [
    { daysOfWeek: ['MON' as const], startTime: '09:00', durationMinutes: 120, utcOffsetMinutes: 0 },
  ];
  const windowed = (status: RolloutStatus) =>
    rollout({ status, request: request({ maintenanceWindows: mondayMorning }) });

  it.each<[string, RolloutStatus, number, RolloutStatus, number, number]>([
    ['open: a scheduled rollout starts and queues', 'SCHEDULED', MONDAY_10_UTC, 'IN_PROGRESS', 4, NOW + 3600],
    [
      'closed: a running rollout goes back to SCHEDULED and queues nothing',
      'IN_PROGRESS',
      MONDAY_10_UTC + 7_200_000,
      'SCHEDULED',
      0,
      Date.parse('2026-03-09T09:00:00Z') / 1000,
    ],
    [
      'closed: a scheduled rollout waits for the opening',
      'SCHEDULED',
      MONDAY_10_UTC - 7_200_000,
      'SCHEDULED',
      0,
      NOW - 3600,
    ],
  ])('%s', (_name, status, nowMs, expected, queued, wakeAt) => {
    const decision = tick({ rollout: windowed(status), candidates: candidates(4), nowMs });
    expect(decision.rollout.status).toBe(expected);
    expect(decision.queue).toHaveLength(queued);
    expect(decision.wakeAt).toBe(wakeAt);
  });
});

describe('pacing', () => {
  it('counts devices below the limits and does not offer them, nor spend the rate on them', () => {
    const paced = rollout({
      request: request({
        pacing: { minRsrpDbm: -110, minBatteryPercent: 25 },
        waves: { maximumPerMinute: 2 },
      }),
    });
    const decision = tick({
      rollout: paced,
      candidates: [
        { thingName: 'weak', wave: 0, firmwareVersion: '1.0.0', rsrp: -120, batteryPercent: 90 },
        { thingName: 'flat', wave: 0, firmwareVersion: '1.0.0', rsrp: -90, batteryPercent: 10 },
        { thingName: 'ok-1', wave: 0, firmwareVersion: '1.0.0', rsrp: -90, batteryPercent: 90 },
        { thingName: 'unknown', wave: 0, firmwareVersion: '1.0.0' },
        { thingName: 'ok-2', wave: 0, firmwareVersion: '1.0.0', rsrp: -100 },
      ],
    });
    expect(names(decision.queue)).toEqual(['ok-1', 'unknown']);
    expect(decision.waitingOnPacing).toEqual({ lowSignal: 1, lowBattery: 1 });
  });

  it('does not wake for the rate when only paced devices are left', () => {
    const paced = rollout({
      request: request({ pacing: { minBatteryPercent: 25 }, waves: { maximumPerMinute: 1 } }),
    });
    const decision = tick({
      rollout: paced,
      candidates: [
        { thingName: 'ok', wave: 0, firmwareVersion: '1.0.0' },
        { thingName: 'flat', wave: 0, firmwareVersion: '1.0.0', batteryPercent: 5 },
      ],
    });
    expect(names(decision.queue)).toEqual(['ok']);
    expect(decision.wakeAt).toBeUndefined();
  });
});
