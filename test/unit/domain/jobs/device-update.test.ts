import { describe, expect, it } from 'vitest';
import { applyDeviceUpdate, startNext } from '../../../../lambdas/domain/jobs/device-update.ts';
import {
  type JobExecution,
  JobRequestError,
  queueExecution,
} from '../../../../lambdas/domain/jobs/execution.ts';
import { describeExecution, pendingSummary } from '../../../../lambdas/domain/jobs/pending.ts';
import type { FirmwareJobDocument, UpdateExecutionRequest } from '../../../../lib/protocol/jobs.ts';
import { execution, NOW, NOW_MS } from './support.ts';

function refusal(result: unknown): JobRequestError {
  if (result instanceof JobRequestError) return result;
  throw new Error(`expected a JobRequestError, got ${JSON.stringify(result)}`);
}

function accepted(result: JobExecution | JobRequestError): JobExecution {
  if (result instanceof JobRequestError) throw result;
  return result;
}

describe('queueExecution', () => {
  it('starts at version 1, execution 1, attempt 0, QUEUED now', () => {
    expect(
      queueExecution(
        { jobId: 'r1', thingName: 't', firmwareVersion: '2.0.0', previousVersion: '1.0.0', wave: 0 },
        NOW_MS + 999,
      ),
    ).toEqual({
      jobId: 'r1',
      thingName: 't',
      firmwareVersion: '2.0.0',
      previousVersion: '1.0.0',
      wave: 0,
      status: 'QUEUED',
      queuedAt: NOW,
      lastUpdatedAt: NOW,
      versionNumber: 1,
      executionNumber: 1,
      attempt: 0,
    });
  });
});

describe('applyDeviceUpdate refusals', () => {
  it.each<[string, JobExecution, UpdateExecutionRequest, string, RegExp]>([
    [
      'a stale expectedVersion is a version mismatch',
      execution('IN_PROGRESS', { versionNumber: 5 }),
      { status: 'SUCCEEDED', expectedVersion: 4 },
      'VersionMismatch',
      /expected version 4, the execution is at 5/,
    ],
    [
      'a version mismatch wins over a forbidden transition (the device must resync first)',
      execution('SUCCEEDED', { versionNumber: 3 }),
      { status: 'IN_PROGRESS', expectedVersion: 2 },
      'VersionMismatch',
      /at 3/,
    ],
    [
      'another execution number does not exist any more',
      execution('IN_PROGRESS', { executionNumber: 2 }),
      { status: 'SUCCEEDED', executionNumber: 1 },
      'ResourceNotFound',
      /execution number 1 of job r1/,
    ],
    [
      'more than 10 statusDetails entries',
      execution('IN_PROGRESS'),
      {
        status: 'IN_PROGRESS',
        statusDetails: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])),
      },
      'InvalidRequest',
      /statusDetails: must have at most 10 entries/,
    ],
    [
      'a statusDetails value over 1024 characters',
      execution('IN_PROGRESS'),
      { status: 'IN_PROGRESS', statusDetails: { progress: 'x'.repeat(1025) } },
      'InvalidRequest',
      /statusDetails\.progress/,
    ],
    [
      'a step timeout of 0 minutes',
      execution('IN_PROGRESS'),
      { status: 'IN_PROGRESS', stepTimeoutInMinutes: 0 },
      'InvalidRequest',
      /stepTimeoutInMinutes: must be an integer from 1 to 10080, got 0/,
    ],
    [
      'bad values are refused before the state is looked at',
      execution('CANCELED'),
      { status: 'IN_PROGRESS', stepTimeoutInMinutes: 10_081 },
      'InvalidRequest',
      /10081/,
    ],
    [
      'a terminal execution, even with the right version',
      execution('FAILED', { versionNumber: 3 }),
      { status: 'SUCCEEDED', expectedVersion: 3 },
      'InvalidStateTransition',
      /FAILED is terminal/,
    ],
  ])('%s', (_name, subject, request, code, message) => {
    const error = refusal(applyDeviceUpdate(subject, request, NOW_MS));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it('carries the execution state on VersionMismatch and InvalidStateTransition, as AWS does', () => {
    const current = execution('SUCCEEDED', { versionNumber: 3, statusDetails: { step: 'done' } });
    const expectedState = { status: 'SUCCEEDED', versionNumber: 3, statusDetails: { step: 'done' } };
    expect(
      refusal(applyDeviceUpdate(current, { status: 'FAILED', expectedVersion: 1 }, NOW_MS)).executionState,
    ).toEqual(expectedState);
    expect(refusal(applyDeviceUpdate(current, { status: 'FAILED' }, NOW_MS)).executionState).toEqual(
      expectedState,
    );
  });

  it.each<[string, JobExecution, UpdateExecutionRequest, string]>([
    [
      'an execution the service ended',
      execution('CANCELED'),
      { status: 'IN_PROGRESS' },
      'TerminalStateReached',
    ],
    [
      'another execution number',
      execution('IN_PROGRESS'),
      { status: 'FAILED', executionNumber: 9 },
      'ResourceNotFound',
    ],
    [
      'a bad value',
      execution('IN_PROGRESS'),
      { status: 'IN_PROGRESS', stepTimeoutInMinutes: 0 },
      'InvalidRequest',
    ],
  ])(
    'carries no execution state for %s, as AWS sends it only with InvalidStateTransition and VersionMismatch',
    (_case, subject, request, code) => {
      const error = refusal(applyDeviceUpdate(subject, request, NOW_MS));
      expect(error.code).toBe(code);
      expect(error.executionState).toBeUndefined();
    },
  );

  it('leaves the execution it refuses unchanged', () => {
    const current = execution('SUCCEEDED');
    const copy = structuredClone(current);
    applyDeviceUpdate(current, { status: 'IN_PROGRESS' }, NOW_MS);
    expect(current).toEqual(copy);
  });
});

describe('applyDeviceUpdate changes', () => {
  it.each<[string, JobExecution, UpdateExecutionRequest, Partial<JobExecution>, (readonly string[])?]>([
    [
      'QUEUED → IN_PROGRESS starts the in-progress timer once, from now',
      execution('QUEUED', { inProgressTimeoutMinutes: 30 }),
      { status: 'IN_PROGRESS' },
      { status: 'IN_PROGRESS', startedAt: NOW, inProgressTimeoutAt: NOW + 1800, versionNumber: 2 },
      ['stepTimeoutAt'],
    ],
    [
      'a step timeout is set from now',
      execution('QUEUED'),
      { status: 'IN_PROGRESS', stepTimeoutInMinutes: 10 },
      { stepTimeoutAt: NOW + 600 },
      ['inProgressTimeoutAt'],
    ],
    [
      'IN_PROGRESS → IN_PROGRESS keeps startedAt and the in-progress timer (it cannot be updated)',
      execution('IN_PROGRESS', { inProgressTimeoutMinutes: 30, inProgressTimeoutAt: NOW + 100 }),
      { status: 'IN_PROGRESS', statusDetails: { step: 'download', percent: '40' } },
      {
        startedAt: NOW - 1800,
        inProgressTimeoutAt: NOW + 100,
        statusDetails: { step: 'download', percent: '40' },
      },
    ],
    [
      'a new step timeout replaces the old one',
      execution('IN_PROGRESS', { stepTimeoutAt: NOW + 60 }),
      { status: 'IN_PROGRESS', stepTimeoutInMinutes: 5 },
      { stepTimeoutAt: NOW + 300 },
    ],
    [
      'an update without a step timeout leaves the running one alone',
      execution('IN_PROGRESS', { stepTimeoutAt: NOW + 60 }),
      { status: 'IN_PROGRESS' },
      { stepTimeoutAt: NOW + 60 },
    ],
    [
      'statusDetails replace the stored ones; left out, they stay',
      execution('IN_PROGRESS', { statusDetails: { step: 'download' } }),
      { status: 'SUCCEEDED' },
      { status: 'SUCCEEDED', statusDetails: { step: 'download' } },
    ],
    [
      'finishing clears both timers',
      execution('IN_PROGRESS', { inProgressTimeoutAt: NOW + 10, stepTimeoutAt: NOW + 5 }),
      { status: 'FAILED', statusDetails: { reason: 'signature' } },
      { status: 'FAILED', statusDetails: { reason: 'signature' } },
      ['inProgressTimeoutAt', 'stepTimeoutAt'],
    ],
    [
      'the right expectedVersion and executionNumber are accepted',
      execution('IN_PROGRESS', { versionNumber: 7, executionNumber: 2 }),
      { status: 'SUCCEEDED', expectedVersion: 7, executionNumber: 2 },
      { status: 'SUCCEEDED', versionNumber: 8, executionNumber: 2, lastUpdatedAt: NOW },
    ],
  ])('%s', (_name, subject, request, expected, absent = []) => {
    const next = accepted(applyDeviceUpdate(subject, request, NOW_MS));
    expect(next).toMatchObject(expected);
    for (const key of absent) expect(next).not.toHaveProperty(key);
  });
});

describe('startNext', () => {
  const queued = (jobId: string, queuedAt: number) => execution('QUEUED', { jobId, queuedAt });

  it.each<[string, JobExecution[], string | undefined, boolean?]>([
    ['nothing pending', [execution('SUCCEEDED'), execution('CANCELED')], undefined],
    [
      'the oldest QUEUED one',
      [queued('b', NOW - 10), queued('a', NOW - 20), queued('c', NOW - 5)],
      'a',
      true,
    ],
    ['queuedAt ties are broken by jobId', [queued('b', NOW - 10), queued('a', NOW - 10)], 'a', true],
    [
      'an IN_PROGRESS one first, unchanged',
      [queued('a', NOW - 100), execution('IN_PROGRESS', { jobId: 'z' })],
      'z',
      false,
    ],
  ])('%s', (_name, executions, jobId, changed) => {
    const outcome = startNext(executions, NOW_MS);
    if (jobId === undefined) return expect(outcome).toBeUndefined();
    expect(outcome).toMatchObject({ changed, execution: { jobId, status: 'IN_PROGRESS' } });
  });

  it('applies the request’s statusDetails and step timeout to the execution it starts', () => {
    const outcome = startNext([execution('QUEUED')], NOW_MS, {
      statusDetails: { step: 'start' },
      stepTimeoutInMinutes: 15,
    });
    expect(outcome).toMatchObject({
      execution: {
        statusDetails: { step: 'start' },
        stepTimeoutAt: NOW + 900,
        startedAt: NOW,
        versionNumber: 2,
      },
    });
  });

  it('refuses bad values with InvalidRequest', () => {
    expect(refusal(startNext([execution('QUEUED')], NOW_MS, { stepTimeoutInMinutes: -1 })).code).toBe(
      'InvalidRequest',
    );
  });
});

describe('pendingSummary', () => {
  it('lists in-progress and queued executions oldest first, and leaves finished ones out', () => {
    const summary = pendingSummary([
      execution('QUEUED', { jobId: 'late', queuedAt: 300 }),
      execution('SUCCEEDED', { jobId: 'done' }),
      execution('IN_PROGRESS', { jobId: 'running', queuedAt: 100, startedAt: 150, lastUpdatedAt: 160 }),
      execution('QUEUED', { jobId: 'early', queuedAt: 200, executionNumber: 2, versionNumber: 4 }),
    ]);
    expect(summary).toEqual({
      inProgressJobs: [
        {
          jobId: 'running',
          queuedAt: 100,
          startedAt: 150,
          lastUpdatedAt: 160,
          versionNumber: 2,
          executionNumber: 1,
        },
      ],
      queuedJobs: [
        { jobId: 'early', queuedAt: 200, lastUpdatedAt: NOW - 1800, versionNumber: 4, executionNumber: 2 },
        { jobId: 'late', queuedAt: 300, lastUpdatedAt: NOW - 1800, versionNumber: 1, executionNumber: 1 },
      ],
    });
  });
});

describe('describeExecution', () => {
  const document = { operation: 'firmware-update', rolloutId: 'r1' } as unknown as FirmwareJobDocument;

  it.each<[string, Parameters<typeof describeExecution>[1], Record<string, unknown>, readonly string[]]>([
    [
      'without the document by default',
      {},
      { jobId: 'r1', status: 'IN_PROGRESS', versionNumber: 2 },
      ['jobDocument'],
    ],
    ['with the document when asked', { includeJobDocument: true }, { jobDocument: document }, []],
    ['for the current execution number', { executionNumber: 1 }, { executionNumber: 1 }, []],
  ])('%s', (_name, options, expected, absent) => {
    const view = describeExecution(execution('IN_PROGRESS'), options, document);
    expect(view).toMatchObject(expected);
    for (const key of absent) expect(view).not.toHaveProperty(key);
  });

  it('refuses another execution number with ResourceNotFound', () => {
    expect(refusal(describeExecution(execution('QUEUED'), { executionNumber: 3 })).code).toBe(
      'ResourceNotFound',
    );
  });
});
