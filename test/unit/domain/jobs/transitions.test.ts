import { describe, expect, it } from 'vitest';
import { applyDeviceUpdate, startNext } from '../../../../lambdas/domain/jobs/device-update.ts';
import { type JobExecution, JobRequestError } from '../../../../lambdas/domain/jobs/execution.ts';
import {
  cancelExecution,
  removeExecution,
  retryExecution,
  SERVICE_OPERATION_TARGETS,
  timeOut,
} from '../../../../lambdas/domain/jobs/service.ts';
import {
  EXECUTION_TRANSITIONS,
  type ExecutionOperation,
  type ExecutionTransition,
} from '../../../../lambdas/domain/jobs/transitions.ts';
import type { JobExecutionStatus, UpdateExecutionRequest } from '../../../../lib/protocol/jobs.ts';
import type { RetryConfig } from '../../../../lib/protocol/rollouts.ts';
import { execution, NOW, NOW_MS } from './support.ts';

type ServiceOperation = keyof typeof SERVICE_OPERATION_TARGETS;

const RETRY_ANYTHING: RetryConfig = {
  criteriaList: [{ failureType: 'ALL', numberOfRetries: 3 }],
  backoff: { baseSeconds: 60, factor: 2 },
};

/** An execution in `status` that meets every precondition of the service operations (expired timer, backoff over). */
function ready(status: JobExecutionStatus): JobExecution {
  return execution(status, status === 'IN_PROGRESS' ? { stepTimeoutAt: NOW - 1 } : {});
}

function runService(operation: ServiceOperation, subject: JobExecution): JobExecution | JobRequestError {
  switch (operation) {
    case 'timeOut':
      return timeOut(subject, NOW_MS);
    case 'cancel':
      return cancelExecution(subject, NOW_MS);
    case 'forceCancel':
      return cancelExecution(subject, NOW_MS, { force: true });
    case 'remove':
      return removeExecution(subject, NOW_MS);
    case 'retry':
      return retryExecution(subject, RETRY_ANYTHING, NOW_MS);
  }
}

function codeOf(result: unknown): string {
  return result instanceof JobRequestError ? result.code : 'allowed';
}

const label = (t: ExecutionTransition) => `${t.actor} ${t.from} → ${t.to}: ${t.outcome}`;

describe('the execution transition table', () => {
  it('has one cell for each of the 8 × 8 statuses and both actors', () => {
    const keys = new Set(EXECUTION_TRANSITIONS.map((t) => `${t.actor}:${t.from}:${t.to}`));
    expect(EXECUTION_TRANSITIONS).toHaveLength(128);
    expect(keys.size).toBe(128);
  });

  it('allows exactly these changes (a change here must be made on purpose, in both places)', () => {
    const allowed = EXECUTION_TRANSITIONS.filter((t) => t.outcome === 'allowed').map(
      (t) => `${t.actor} ${t.from} → ${t.to} via ${t.via.join('|')}`,
    );
    expect(allowed.sort()).toEqual(
      [
        'device QUEUED → IN_PROGRESS via update|startNext',
        'device QUEUED → SUCCEEDED via update',
        'device QUEUED → FAILED via update',
        'device QUEUED → REJECTED via update',
        'device IN_PROGRESS → IN_PROGRESS via update',
        'device IN_PROGRESS → SUCCEEDED via update',
        'device IN_PROGRESS → FAILED via update',
        'device IN_PROGRESS → REJECTED via update',
        'service IN_PROGRESS → TIMED_OUT via timeOut',
        'service QUEUED → CANCELED via cancel|forceCancel',
        'service IN_PROGRESS → CANCELED via forceCancel',
        'service QUEUED → REMOVED via remove',
        'service IN_PROGRESS → REMOVED via remove',
        'service FAILED → QUEUED via retry',
        'service TIMED_OUT → QUEUED via retry',
      ].sort(),
    );
  });

  it.each<[string, JobExecutionStatus, JobExecutionStatus, 'device' | 'service', string]>([
    [
      'AWS’s own example: a finished execution cannot be restarted',
      'SUCCEEDED',
      'IN_PROGRESS',
      'device',
      'InvalidStateTransition',
    ],
    ['devices never queue', 'QUEUED', 'QUEUED', 'device', 'InvalidStateTransition'],
    ['a device cannot time itself out', 'IN_PROGRESS', 'TIMED_OUT', 'device', 'InvalidStateTransition'],
    [
      'a canceled execution tells the device the job is gone',
      'CANCELED',
      'SUCCEEDED',
      'device',
      'TerminalStateReached',
    ],
    [
      'a removed execution tells the device the job is gone',
      'REMOVED',
      'IN_PROGRESS',
      'device',
      'TerminalStateReached',
    ],
    ['a REJECTED execution is not retried', 'REJECTED', 'QUEUED', 'service', 'InvalidStateTransition'],
    ['a queued execution has no timer to expire', 'QUEUED', 'TIMED_OUT', 'service', 'InvalidStateTransition'],
    [
      'the service never reports success for a device',
      'IN_PROGRESS',
      'SUCCEEDED',
      'service',
      'InvalidStateTransition',
    ],
  ])('%s (%s → %s by %s: %s)', (_why, from, to, actor, outcome) => {
    expect(
      EXECUTION_TRANSITIONS.find((t) => t.from === from && t.to === to && t.actor === actor)?.outcome,
    ).toBe(outcome);
  });
});

describe('device requests follow the table', () => {
  it.each(EXECUTION_TRANSITIONS.filter((t) => t.actor === 'device').map((t) => [label(t), t] as const))(
    '%s',
    (_label, cell) => {
      const before = ready(cell.from);
      const result = applyDeviceUpdate(before, { status: cell.to } as UpdateExecutionRequest, NOW_MS);
      expect(codeOf(result)).toBe(cell.outcome);
      if (result instanceof JobRequestError) {
        expect(result.message).toContain(cell.why);
      } else {
        expect(result).toMatchObject({
          status: cell.to,
          versionNumber: before.versionNumber + 1,
          lastUpdatedAt: NOW,
        });
      }
      if (cell.via.includes('startNext')) {
        expect(startNext([before], NOW_MS)).toMatchObject({ changed: true, execution: { status: cell.to } });
      }
    },
  );
});

describe('service operations follow the table', () => {
  const operations = Object.keys(SERVICE_OPERATION_TARGETS) as ServiceOperation[];
  type Row = [string, ExecutionTransition, ServiceOperation | undefined];
  const rows = EXECUTION_TRANSITIONS.filter((t) => t.actor === 'service').flatMap((cell): Row[] => {
    const ops = operations.filter((op) => SERVICE_OPERATION_TARGETS[op] === cell.to);
    return ops.length === 0
      ? [[`${label(cell)} (no operation sets ${cell.to})`, cell, undefined]]
      : ops.map((op): Row => [`${label(cell)} by ${op}`, cell, op]);
  });

  it.each(rows)('%s', (_label, cell, operation) => {
    if (operation === undefined) {
      // The service has no way to ask for this change, so it can only be forbidden.
      expect(cell.outcome).not.toBe('allowed');
      return;
    }
    const result = runService(operation, ready(cell.from));
    const expected =
      cell.outcome === 'allowed' && !cell.via.includes(operation as ExecutionOperation)
        ? 'InvalidStateTransition'
        : cell.outcome;
    expect(codeOf(result)).toBe(expected);
    if (!(result instanceof JobRequestError)) expect(result.status).toBe(cell.to);
  });
});
