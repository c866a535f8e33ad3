import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import { applyDeviceUpdate } from '../../../../lambdas/domain/jobs/device-update.ts';
import {
  type JobExecution,
  JobRequestError,
  queueExecution,
} from '../../../../lambdas/domain/jobs/execution.ts';
import {
  cancelExecution,
  removeExecution,
  retryExecution,
  timeOut,
} from '../../../../lambdas/domain/jobs/service.ts';
import {
  counterChanges,
  type ExecutionCounterChange,
  rolloutStatusView,
  tallyCounters,
} from '../../../../lambdas/domain/rollout/counters.ts';
import type { JobExecutionStatus } from '../../../../lib/protocol/jobs.ts';
import { counters, execution } from './support.ts';

const brief = (c: ExecutionCounterChange) =>
  `${c.rolloutId} ${c.scope} ${c.status} ${c.delta > 0 ? '+1' : '-1'}`;

describe('counterChanges', () => {
  it.each<[string, JobExecution | undefined, JobExecution | undefined, string[]]>([
    [
      'a new execution',
      undefined,
      execution('QUEUED', { wave: 2 }),
      ['r1 rollout QUEUED +1', 'r1 wave:2 QUEUED +1'],
    ],
    [
      'a status change moves one count in each scope',
      execution('QUEUED', { wave: 0 }),
      execution('IN_PROGRESS', { wave: 0 }),
      [
        'r1 rollout QUEUED -1',
        'r1 wave:0 QUEUED -1',
        'r1 rollout IN_PROGRESS +1',
        'r1 wave:0 IN_PROGRESS +1',
      ],
    ],
    [
      'progress within IN_PROGRESS changes nothing',
      execution('IN_PROGRESS'),
      execution('IN_PROGRESS', { versionNumber: 9 }),
      [],
    ],
    [
      'a deleted execution',
      execution('SUCCEEDED', { wave: 1 }),
      undefined,
      ['r1 rollout SUCCEEDED -1', 'r1 wave:1 SUCCEEDED -1'],
    ],
    [
      'without a wave, only the rollout counts',
      undefined,
      execution('QUEUED', { rollback: true }),
      ['r1 rollout QUEUED +1'],
    ],
    [
      'a wave change with the same status moves only the wave counts',
      execution('QUEUED', { wave: 0 }),
      execution('QUEUED', { wave: 1 }),
      ['r1 wave:0 QUEUED -1', 'r1 wave:1 QUEUED +1'],
    ],
  ])('%s', (_name, before, after, expected) => {
    expect(counterChanges(before, after).map(brief)).toEqual(expected);
  });

  it('applied over a random sequence of execution changes, equals a recount', () => {
    const random = seededRandom('rollout-counters');
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const live = new Map<string, JobExecution>();
    const stored = new Map<string, number>();
    const apply = (before: JobExecution | undefined, after: JobExecution | undefined) => {
      for (const c of counterChanges(before, after)) {
        const key = `${c.rolloutId}\t${c.scope}\t${c.status}`;
        stored.set(key, (stored.get(key) ?? 0) + c.delta);
      }
    };
    let nowMs = Date.UTC(2026, 0, 1);
    let accepted = 0;
    for (let step = 0; step < 5000; step++) {
      nowMs += Math.floor(random() * 120_000);
      const rolloutId = pick(['r1', 'r2']);
      const thingName = `t${Math.floor(random() * 60)}`;
      const key = `${rolloutId}/${thingName}`;
      const before = live.get(key);
      let after: JobExecution | JobRequestError | undefined;
      if (before === undefined) {
        after = queueExecution(
          {
            jobId: rolloutId,
            thingName,
            firmwareVersion: '2.0.0',
            previousVersion: '1.0.0',
            wave: Math.floor(random() * 3),
            inProgressTimeoutMinutes: 1,
          },
          nowMs,
        );
      } else {
        const action = pick([
          'update',
          'update',
          'update',
          'timeOut',
          'cancel',
          'remove',
          'retry',
          'delete',
        ] as const);
        const status = pick<JobExecutionStatus>(['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'REJECTED']);
        after =
          action === 'update'
            ? applyDeviceUpdate(before, { status: status as 'IN_PROGRESS' }, nowMs)
            : action === 'timeOut'
              ? timeOut(before, nowMs)
              : action === 'cancel'
                ? cancelExecution(before, nowMs, { force: random() < 0.5 })
                : action === 'remove'
                  ? removeExecution(before, nowMs)
                  : action === 'retry'
                    ? retryExecution(
                        before,
                        {
                          criteriaList: [{ failureType: 'ALL', numberOfRetries: 3 }],
                          backoff: { baseSeconds: 0, factor: 1 },
                        },
                        nowMs,
                      )
                    : undefined;
      }
      if (after instanceof JobRequestError) continue;
      accepted++;
      apply(before, after);
      if (after === undefined) live.delete(key);
      else live.set(key, after);
    }
    const recount = new Map<string, number>();
    for (const e of live.values())
      for (const scope of ['rollout', `wave:${e.wave}`]) {
        const key = `${e.jobId}\t${scope}\t${e.status}`;
        recount.set(key, (recount.get(key) ?? 0) + 1);
      }
    const nonZero = new Map([...stored].filter(([, v]) => v !== 0));
    expect(accepted).toBeGreaterThan(1500);
    expect(new Set([...live.values()].map((e) => e.status)).size).toBe(8);
    expect(nonZero).toEqual(recount);
  });
});

describe('tallyCounters and rolloutStatusView', () => {
  it('adds up items by scope and status, ignoring what it does not know', () => {
    const tallied = tallyCounters([
      { scope: 'rollout', status: 'SUCCEEDED', value: 7 },
      { scope: 'rollout', status: 'FAILED', value: 2 },
      { scope: 'rollout', status: 'QUEUED', value: 1 },
      { scope: 'wave:0', status: 'SUCCEEDED', value: 7 },
      { scope: 'wave:1', status: 'FAILED', value: 2 },
      { scope: 'wave:1', status: 'QUEUED', value: 1 },
      { scope: 'wave:x', status: 'QUEUED', value: 5 },
      { scope: 'rollout', status: 'EXPLODED', value: 5 },
    ]);
    expect(tallied).toEqual(counters([{ SUCCEEDED: 7 }, { FAILED: 2, QUEUED: 1 }]));
    expect(rolloutStatusView(tallied)).toMatchObject({
      notified: 10,
      pending: 1,
      failed: 2,
      succeededPercent: 70,
      failedPercent: 20,
      waves: [
        { wave: 0, notified: 7, succeededPercent: 100 },
        { wave: 1, notified: 3, failed: 2, failedPercent: 66.7 },
      ],
    });
  });

  it('shows 0 % for an empty rollout', () => {
    expect(rolloutStatusView(tallyCounters([]))).toMatchObject({
      notified: 0,
      succeededPercent: 0,
      waves: [],
    });
  });
});
