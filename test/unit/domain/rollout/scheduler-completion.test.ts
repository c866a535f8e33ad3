import { describe, expect, it } from 'vitest';
import type { JobExecution } from '../../../../lambdas/domain/jobs/execution.ts';
import type { RolloutCounters } from '../../../../lambdas/domain/rollout/counters.ts';
import type { HealthVerdict } from '../../../../lambdas/domain/rollout/health-gate.ts';
import type { Candidate } from '../../../../lambdas/domain/rollout/scheduler.ts';
import type { RolloutStatus } from '../../../../lib/protocol/rollouts.ts';
import { candidates, NOW, rollout, tick } from './scheduler-support.ts';
import { counters, execution, request } from './support.ts';

/** `nextActions`: when a rollout completes, what a health verdict does, and what terminal states do. */

describe('completion, health and terminal states', () => {
  it.each<[string, RolloutCounters, JobExecution[], Candidate[], RolloutStatus]>([
    [
      'every planned device notified and finished: COMPLETED',
      counters([{ SUCCEEDED: 95, FAILED: 5 }]),
      [],
      [],
      'COMPLETED',
    ],
    ['an execution still running', counters([{ SUCCEEDED: 99, IN_PROGRESS: 1 }]), [], [], 'IN_PROGRESS'],
    ['devices not yet notified', counters([{ SUCCEEDED: 99 }]), [], [], 'IN_PROGRESS'],
    [
      'a retry still to come',
      counters([{ SUCCEEDED: 99, FAILED: 1 }]),
      [execution('FAILED', { lastUpdatedAt: NOW })],
      [],
      'IN_PROGRESS',
    ],
  ])('%s', (_name, executionCounters, watched, offered, status) => {
    const record = rollout({
      request: request({ retries: { criteriaList: [{ failureType: 'FAILED', numberOfRetries: 1 }] } }),
    });
    expect(
      tick({ rollout: record, counters: executionCounters, watched, candidates: offered }).rollout.status,
    ).toBe(status);
  });

  it('completes while a window is closed, when the last executions end after it closed', () => {
    const closed = rollout({
      status: 'SCHEDULED',
      request: request({
        maintenanceWindows: [
          { daysOfWeek: ['SUN'], startTime: '00:00', durationMinutes: 60, utcOffsetMinutes: 0 },
        ],
      }),
    });
    expect(tick({ rollout: closed, counters: counters([{ SUCCEEDED: 100 }]) }).rollout.status).toBe(
      'COMPLETED',
    );
  });

  it.each<[string, HealthVerdict | undefined, RolloutStatus]>([
    ['no verdict yet', undefined, 'IN_PROGRESS'],
    [
      'too little data to judge',
      { verdict: 'insufficientData', metric: 'anomalyRate', reason: 'updated cohort has 0 device-hours' },
      'IN_PROGRESS',
    ],
    [
      'a passing verdict',
      { verdict: 'pass', metric: 'anomalyRate', reason: 'within the limit' },
      'COMPLETED',
    ],
  ])('with a health gate, waits for a pass before completing: %s', (_name, health, status) => {
    const gated = rollout({
      request: request({
        healthGate: {
          metric: 'anomalyRate',
          maxWorsening: { absolute: 1 },
          windowMinutes: 60,
          controlPercentage: 10,
        },
      }),
    });
    const decision = tick({
      rollout: gated,
      counters: counters([{ SUCCEEDED: 100 }]),
      ...(health === undefined ? {} : { health }),
    });
    expect(decision.rollout.status).toBe(status);
  });

  it('completes at once when nothing was eligible', () => {
    expect(tick({ rollout: rollout({ waveSizes: [] }) }).rollout.status).toBe('COMPLETED');
  });

  const failing: HealthVerdict = { verdict: 'fail', metric: 'rebootRate', reason: 'rebootRate 0.02 vs 0.01' };

  it.each<[RolloutStatus, RolloutStatus, boolean]>([
    ['IN_PROGRESS', 'ROLLED_BACK', true],
    ['PAUSED', 'ROLLED_BACK', true],
    ['COMPLETED', 'ROLLED_BACK', true],
    ['CANCELED', 'CANCELED', false],
  ])('a failed health gate rolls a %s rollout back', (status, expected, rollback) => {
    const decision = tick({ rollout: rollout({ status }), health: failing, candidates: candidates(3) });
    expect(decision.rollout.status).toBe(expected);
    expect(decision.rollback).toBe(rollback);
    expect(decision.cancelQueued).toBe(rollback);
    expect(decision.queue).toEqual([]);
  });

  it('insufficient data is not a failure', () => {
    const decision = tick({
      health: { verdict: 'insufficientData', metric: 'rebootRate', reason: 'few' },
      candidates: candidates(2),
    });
    expect(decision.rollout.status).toBe('IN_PROGRESS');
    expect(decision.queue).toHaveLength(2);
  });

  it.each<[RolloutStatus]>([['PAUSED'], ['CANCELED'], ['ROLLED_BACK'], ['COMPLETED']])(
    'a %s rollout queues nothing',
    (status) => {
      const decision = tick({
        rollout: rollout({ status }),
        candidates: candidates(3),
        watched: [execution('FAILED', { lastUpdatedAt: 0 })],
      });
      expect(decision.rollout.status).toBe(status);
      expect([...decision.queue, ...decision.retry]).toEqual([]);
    },
  );
});
