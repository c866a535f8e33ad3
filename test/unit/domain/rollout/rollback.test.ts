import { describe, expect, it } from 'vitest';
import type { JobExecution } from '../../../../lambdas/domain/jobs/execution.ts';
import {
  devicesToSendBack,
  type InstallState,
  installState,
  type ReportedFirmware,
  rollbackPlan,
} from '../../../../lambdas/domain/rollout/rollback.ts';
import { execution } from './support.ts';

const on = (firmwareVersion: string): ReportedFirmware => ({ firmwareVersion });

describe('installState', () => {
  it.each<[string, JobExecution, ReportedFirmware | undefined, InstallState]>([
    ['succeeded', execution('SUCCEEDED'), on('1.0.0'), 'installed'],
    [
      'committed, then its SUCCEEDED report refused because the execution was canceled meanwhile',
      execution('CANCELED', { statusDetails: { step: 'rebooting', progress: '100%' } }),
      on('2.0.0'),
      'installed',
    ],
    [
      'committed and went to sleep: timed out, but its status names the new image',
      execution('TIMED_OUT', { statusDetails: { step: 'rebooting', progress: '100%' } }),
      on('2.0.0'),
      'installed',
    ],
    [
      'its last accepted step was committed (the service recorded it, whatever the status)',
      execution('TIMED_OUT', { statusDetails: { step: 'committed' } }),
      on('1.0.0'),
      'installed',
    ],
    [
      'still running, already reporting the new image (trial boot)',
      execution('IN_PROGRESS'),
      on('2.0.0'),
      'installed',
    ],
    [
      'timed out, still reporting the old image: may have committed asleep',
      execution('TIMED_OUT'),
      on('1.0.0'),
      'unknown',
    ],
    ['canceled after it started, nothing reported since', execution('CANCELED'), undefined, 'unknown'],
    ['still running, old image', execution('IN_PROGRESS'), on('1.0.0'), 'unknown'],
    ['removed after it started', execution('REMOVED'), on('1.0.0'), 'unknown'],
    [
      'queued again after a retry: the earlier attempt may have committed',
      execution('QUEUED', { attempt: 1 }),
      on('1.0.0'),
      'unknown',
    ],
    [
      'failed: the device went back, or never wrote the slot',
      execution('FAILED'),
      on('1.0.0'),
      'notInstalled',
    ],
    ['rejected: the device never began', execution('REJECTED'), undefined, 'notInstalled'],
    ['queued, never started', execution('QUEUED'), on('1.0.0'), 'notInstalled'],
    [
      'canceled while still queued',
      execution('CANCELED', { startedAt: undefined }),
      on('1.0.0'),
      'notInstalled',
    ],
    ['failed, but its status names the new image', execution('FAILED'), on('2.0.0'), 'installed'],
  ])('%s: %s', (_case, subject, reported, expected) => {
    expect(installState(subject, reported)).toBe(expected);
  });
});

describe('rollbackPlan', () => {
  it('sends each device that runs the image back to the version it had, one job per version', () => {
    const plan = rollbackPlan([
      execution('SUCCEEDED', { thingName: 'b', previousVersion: '1.4.2' }),
      execution('SUCCEEDED', { thingName: 'a', previousVersion: '1.4.2' }),
      execution('SUCCEEDED', { thingName: 'c', previousVersion: '1.10.0' }),
      execution('SUCCEEDED', { thingName: 'd', previousVersion: '1.9.0' }),
      execution('QUEUED', { thingName: 'q' }),
      execution('IN_PROGRESS', { thingName: 'p' }),
      execution('FAILED', { thingName: 'f' }),
      execution('REJECTED', { thingName: 'r' }),
      execution('SUCCEEDED', { thingName: 'already-a-rollback', rollback: true }),
    ]);
    expect(plan).toEqual({
      jobs: [
        { toVersion: '1.4.2', fromVersion: '2.0.0', things: ['a', 'b'] },
        { toVersion: '1.9.0', fromVersion: '2.0.0', things: ['d'] },
        { toVersion: '1.10.0', fromVersion: '2.0.0', things: ['c'] },
      ],
      cancel: [
        { thingName: 'p', force: true },
        { thingName: 'q', force: false },
      ],
      owed: [{ thingName: 'p', previousVersion: '1.0.0' }],
      untouched: 3,
    });
  });

  it('sends back exactly the devices that run the image: succeeded, committed-then-canceled, committed-then-timed-out', () => {
    // Prepare: one device per case; the registry holds what each last reported in a status message.
    const registry = new Map([
      ['succeeded', on('2.0.0')],
      ['committed-then-canceled', on('2.0.0')],
      ['committed-then-timed-out', on('2.0.0')],
      ['never-installed', on('1.0.0')],
    ]);
    const executions = [
      execution('SUCCEEDED', { thingName: 'succeeded' }),
      execution('CANCELED', {
        thingName: 'committed-then-canceled',
        statusDetails: { step: 'rebooting', progress: '100%' },
      }),
      execution('TIMED_OUT', { thingName: 'committed-then-timed-out' }),
      execution('CANCELED', { thingName: 'never-installed', startedAt: undefined }),
    ];
    // Act
    const plan = rollbackPlan(executions, (thing) => registry.get(thing));
    // Assess
    expect(plan.jobs).toEqual([
      {
        toVersion: '1.0.0',
        fromVersion: '2.0.0',
        things: ['committed-then-canceled', 'committed-then-timed-out', 'succeeded'],
      },
    ]);
    expect(plan.owed).toEqual([]);
    expect(plan.untouched).toBe(1);
  });

  it('has nothing to do for a rollout that updated nobody', () => {
    expect(rollbackPlan([execution('FAILED')])).toEqual({ jobs: [], cancel: [], owed: [], untouched: 1 });
  });
});

describe('devicesToSendBack', () => {
  it('picks the owed devices whose latest status names the rolled-back version, and only those', () => {
    const owed = [
      { thingName: 'woke-on-new', previousVersion: '1.0.0' },
      { thingName: 'woke-on-old', previousVersion: '1.0.0' },
      { thingName: 'still-asleep', previousVersion: '1.4.2' },
    ];
    const registry = new Map([
      ['woke-on-new', on('2.0.0')],
      ['woke-on-old', on('1.0.0')],
    ]);
    expect(devicesToSendBack(owed, (thing) => registry.get(thing), '2.0.0')).toEqual([
      { thingName: 'woke-on-new', previousVersion: '1.0.0' },
    ]);
  });
});
