import { describe, expect, it } from 'vitest';
import { type JobExecution, JobRequestError } from '../../../../lambdas/domain/jobs/execution.ts';
import {
  cancelExecution,
  DEFAULT_RETRY_BACKOFF,
  type RetryDecision,
  retriesAllowed,
  retryDecision,
  retryExecution,
  timeOut,
  timeoutDueAt,
} from '../../../../lambdas/domain/jobs/service.ts';
import type { JobExecutionStatus } from '../../../../lib/protocol/jobs.ts';
import type { RetryConfig } from '../../../../lib/protocol/rollouts.ts';
import { execution, NOW, NOW_MS } from './support.ts';

const code = (result: unknown) => (result instanceof JobRequestError ? result.code : 'ok');

describe('timeouts', () => {
  it.each<[string, Partial<JobExecution>, number | undefined]>([
    ['no timer', {}, undefined],
    ['the in-progress timer', { inProgressTimeoutAt: NOW + 50 }, NOW + 50],
    ['the step timer', { stepTimeoutAt: NOW + 20 }, NOW + 20],
    ['the earlier of both', { inProgressTimeoutAt: NOW + 50, stepTimeoutAt: NOW + 20 }, NOW + 20],
  ])('timeoutDueAt: %s', (_name, timers, due) => {
    expect(timeoutDueAt(execution('IN_PROGRESS', timers))).toBe(due);
  });

  it('a QUEUED execution has no timeout even with timers left over', () => {
    expect(timeoutDueAt(execution('QUEUED', { stepTimeoutAt: NOW - 5 }))).toBeUndefined();
  });

  it.each<[string, Partial<JobExecution>, string]>([
    ['exactly at the due time', { stepTimeoutAt: NOW }, 'ok'],
    ['after the due time', { inProgressTimeoutAt: NOW - 1 }, 'ok'],
    ['a second early', { inProgressTimeoutAt: NOW + 1 }, 'InvalidRequest'],
    ['without a timer', {}, 'InvalidRequest'],
  ])('timeOut %s', (_name, timers, expected) => {
    const result = timeOut(execution('IN_PROGRESS', timers), NOW_MS);
    expect(code(result)).toBe(expected);
    if (expected === 'ok') {
      expect(result).toMatchObject({ status: 'TIMED_OUT', versionNumber: 3, lastUpdatedAt: NOW });
      expect(result).not.toHaveProperty('stepTimeoutAt');
    }
  });
});

describe('cancelExecution', () => {
  it.each<[JobExecutionStatus, boolean, string]>([
    ['QUEUED', false, 'ok'],
    ['QUEUED', true, 'ok'],
    ['IN_PROGRESS', false, 'InvalidStateTransition'],
    ['IN_PROGRESS', true, 'ok'],
    ['SUCCEEDED', true, 'InvalidStateTransition'],
    ['CANCELED', true, 'TerminalStateReached'],
  ])('%s with force=%s → %s', (status, force, expected) => {
    expect(code(cancelExecution(execution(status), NOW_MS, { force }))).toBe(expected);
  });

  it('records why in statusDetails', () => {
    expect(
      cancelExecution(execution('QUEUED'), NOW_MS, { statusDetails: { reason: 'rollback' } }),
    ).toMatchObject({
      status: 'CANCELED',
      statusDetails: { reason: 'rollback' },
    });
  });
});

describe('retries', () => {
  const config = (criteria: RetryConfig['criteriaList'], backoff?: RetryConfig['backoff']): RetryConfig => ({
    criteriaList: criteria,
    ...(backoff === undefined ? {} : { backoff }),
  });

  it.each<[string, RetryConfig | undefined, JobExecutionStatus, number]>([
    ['no retry config: none', undefined, 'FAILED', 0],
    ['FAILED criterion for a failure', config([{ failureType: 'FAILED', numberOfRetries: 2 }]), 'FAILED', 2],
    [
      'FAILED criterion does not cover a timeout',
      config([{ failureType: 'FAILED', numberOfRetries: 2 }]),
      'TIMED_OUT',
      0,
    ],
    ['ALL covers a timeout', config([{ failureType: 'ALL', numberOfRetries: 4 }]), 'TIMED_OUT', 4],
    [
      'a criterion naming the type wins over ALL',
      config([
        { failureType: 'ALL', numberOfRetries: 4 },
        { failureType: 'TIMED_OUT', numberOfRetries: 1 },
      ]),
      'TIMED_OUT',
      1,
    ],
    ['REJECTED is never retried', config([{ failureType: 'ALL', numberOfRetries: 10 }]), 'REJECTED', 0],
  ])('retriesAllowed: %s', (_name, retries, status, expected) => {
    expect(retriesAllowed(retries, status)).toBe(expected);
  });

  const twice = config([{ failureType: 'ALL', numberOfRetries: 2 }], {
    baseSeconds: 300,
    factor: 3,
    maxSeconds: 1000,
  });

  it.each<[string, Partial<JobExecution>, JobExecutionStatus, RetryDecision]>([
    [
      'first retry waits the base',
      { attempt: 0, lastUpdatedAt: NOW - 299 },
      'FAILED',
      { kind: 'waiting', dueAt: NOW + 1 },
    ],
    [
      'first retry due after the base',
      { attempt: 0, lastUpdatedAt: NOW - 300 },
      'FAILED',
      { kind: 'due', dueAt: NOW },
    ],
    [
      'second retry waits base × factor',
      { attempt: 1, lastUpdatedAt: NOW - 800 },
      'TIMED_OUT',
      { kind: 'waiting', dueAt: NOW + 100 },
    ],
    [
      'no more than allowed',
      { attempt: 2, lastUpdatedAt: NOW - 99_999 },
      'FAILED',
      { kind: 'exhausted', retries: 2 },
    ],
    ['not a failure', {}, 'SUCCEEDED', { kind: 'notRetryable' }],
    ['a rejection is not retried', {}, 'REJECTED', { kind: 'notRetryable' }],
  ])('retryDecision: %s', (_name, changes, status, expected) => {
    expect(retryDecision(execution(status, changes), twice, NOW_MS)).toEqual(expected);
  });

  it('caps the wait at maxSeconds', () => {
    const many = config([{ failureType: 'FAILED', numberOfRetries: 10 }], {
      baseSeconds: 300,
      factor: 3,
      maxSeconds: 1000,
    });
    expect(retryDecision(execution('FAILED', { attempt: 5, lastUpdatedAt: NOW }), many, NOW_MS)).toEqual({
      kind: 'waiting',
      dueAt: NOW + 1000,
    });
  });

  it('without a backoff waits a minute, doubling, at most an hour', () => {
    const plain = config([{ failureType: 'FAILED', numberOfRetries: 10 }]);
    const waits = [0, 1, 2, 6, 7].map((attempt) => {
      const decision = retryDecision(execution('FAILED', { attempt, lastUpdatedAt: NOW }), plain, NOW_MS);
      return decision.kind === 'waiting' ? decision.dueAt - NOW : undefined;
    });
    expect(waits).toEqual([60, 120, 240, 3600, 3600]);
    expect(DEFAULT_RETRY_BACKOFF.maxSeconds).toBe(3600);
  });

  it('retryExecution requeues as a new attempt with a new execution number', () => {
    const failed = execution('FAILED', {
      attempt: 0,
      executionNumber: 1,
      versionNumber: 3,
      lastUpdatedAt: NOW - 300,
      statusDetails: { reason: 'crc' },
    });
    const next = retryExecution(failed, twice, NOW_MS);
    expect(next).toMatchObject({
      status: 'QUEUED',
      queuedAt: NOW,
      executionNumber: 2,
      attempt: 1,
      versionNumber: 4,
      lastUpdatedAt: NOW,
    });
    expect(next).not.toHaveProperty('startedAt');
    expect(next).not.toHaveProperty('statusDetails');
  });

  it.each<[string, Partial<JobExecution>, string]>([
    ['before the backoff is over', { lastUpdatedAt: NOW - 10 }, 'InvalidRequest'],
    ['with no retries left', { attempt: 2, lastUpdatedAt: NOW - 99_999 }, 'InvalidStateTransition'],
  ])('retryExecution refuses %s', (_name, changes, expected) => {
    expect(code(retryExecution(execution('FAILED', changes), twice, NOW_MS))).toBe(expected);
  });
});
