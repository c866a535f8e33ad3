import type { JobExecutionStatus, StatusDetails } from '../../../lib/protocol/jobs.ts';
import type { RetryConfig } from '../../../lib/protocol/rollouts.ts';
import { epochSeconds, type JobExecution, JobRequestError, nextVersion, stateOf } from './execution.ts';
import { type ExecutionOperation, executionTransition } from './transitions.ts';

/**
 * The service's changes to executions: timing out, canceling, removing and retrying. Each checks the
 * transition table first, so a forbidden change is refused with the code the table gives.
 */

/** The status each service operation moves an execution to. */
export const SERVICE_OPERATION_TARGETS: Readonly<
  Record<Exclude<ExecutionOperation, 'update' | 'startNext'>, JobExecutionStatus>
> = {
  timeOut: 'TIMED_OUT',
  cancel: 'CANCELED',
  forceCancel: 'CANCELED',
  remove: 'REMOVED',
  retry: 'QUEUED',
};

function refused(execution: JobExecution, operation: ExecutionOperation): JobRequestError | undefined {
  const to = SERVICE_OPERATION_TARGETS[operation as keyof typeof SERVICE_OPERATION_TARGETS];
  const cell = executionTransition(execution.status, to, 'service');
  if (cell.outcome === 'allowed' && cell.via.includes(operation)) return undefined;
  const code = cell.outcome === 'allowed' ? 'InvalidStateTransition' : cell.outcome;
  const why = cell.outcome === 'allowed' ? `${operation} does not do this (${cell.why})` : cell.why;
  return new JobRequestError(code, `${execution.status} → ${to}: ${why}`, stateOf(execution));
}

/** When the execution times out: the earlier of its in-progress and step timers; undefined without one. */
export function timeoutDueAt(execution: JobExecution): number | undefined {
  if (execution.status !== 'IN_PROGRESS') return undefined;
  const timers = [execution.inProgressTimeoutAt, execution.stepTimeoutAt].filter((t) => t !== undefined);
  return timers.length === 0 ? undefined : Math.min(...timers);
}

/**
 * Moves an IN_PROGRESS execution whose timer has expired to TIMED_OUT
 * (https://docs.aws.amazon.com/iot/latest/apireference/API_TimeoutConfig.html).
 */
export function timeOut(execution: JobExecution, nowMs: number): JobExecution | JobRequestError {
  const refusal = refused(execution, 'timeOut');
  if (refusal !== undefined) return refusal;
  const now = epochSeconds(nowMs);
  const due = timeoutDueAt(execution);
  if (due === undefined || now < due)
    return new JobRequestError(
      'InvalidRequest',
      due === undefined ? 'the execution has no timer' : `the execution times out at ${due}, not before`,
    );
  return nextVersion(
    execution,
    { status: 'TIMED_OUT', inProgressTimeoutAt: undefined, stepTimeoutAt: undefined },
    now,
  );
}

/**
 * CancelJobExecution: a QUEUED execution always; an IN_PROGRESS one only with `force`, because the device
 * may be midway through writing an image (AWS warns the device can then no longer update it).
 */
export function cancelExecution(
  execution: JobExecution,
  nowMs: number,
  options: { readonly force?: boolean; readonly statusDetails?: StatusDetails } = {},
): JobExecution | JobRequestError {
  const refusal = refused(execution, options.force === true ? 'forceCancel' : 'cancel');
  if (refusal !== undefined) return refusal;
  return nextVersion(
    execution,
    {
      status: 'CANCELED',
      ...(options.statusDetails === undefined ? {} : { statusDetails: options.statusDetails }),
      inProgressTimeoutAt: undefined,
      stepTimeoutAt: undefined,
    },
    epochSeconds(nowMs),
  );
}

/** The thing left the rollout (deleted from the registry, or no longer targeted) before finishing. */
export function removeExecution(execution: JobExecution, nowMs: number): JobExecution | JobRequestError {
  const refusal = refused(execution, 'remove');
  if (refusal !== undefined) return refusal;
  return nextVersion(
    execution,
    { status: 'REMOVED', inProgressTimeoutAt: undefined, stepTimeoutAt: undefined },
    epochSeconds(nowMs),
  );
}

/**
 * Waiting between attempts when the rollout sets no backoff: a device that just failed most likely fails
 * again straight away (flat battery, no space), so the first retry waits a minute and each later one
 * twice as long, at most an hour.
 */
export const DEFAULT_RETRY_BACKOFF = { baseSeconds: 60, factor: 2, maxSeconds: 3600 } as const;

/** Whether and when a finished execution is retried. */
export type RetryDecision =
  | { readonly kind: 'due'; readonly dueAt: number }
  | { readonly kind: 'waiting'; readonly dueAt: number }
  | { readonly kind: 'exhausted'; readonly retries: number }
  | { readonly kind: 'notRetryable' };

/** Retries the config allows for a failure: a criterion naming the status wins over `ALL`. */
export function retriesAllowed(config: RetryConfig | undefined, status: JobExecutionStatus): number {
  if (config === undefined || (status !== 'FAILED' && status !== 'TIMED_OUT')) return 0;
  const specific = config.criteriaList.find((c) => c.failureType === status);
  const all = config.criteriaList.find((c) => c.failureType === 'ALL');
  return specific?.numberOfRetries ?? all?.numberOfRetries ?? 0;
}

/**
 * Whether `execution` is retried, and when: `attempt` retries happened already, of any failure type, so
 * a device that failed once and timed out once has used two. The n-th retry waits
 * `baseSeconds × factor^(n-1)` (at most `maxSeconds`) after the failure.
 */
export function retryDecision(
  execution: JobExecution,
  config: RetryConfig | undefined,
  nowMs: number,
): RetryDecision {
  if (execution.status !== 'FAILED' && execution.status !== 'TIMED_OUT') return { kind: 'notRetryable' };
  const allowed = retriesAllowed(config, execution.status);
  if (execution.attempt >= allowed) return { kind: 'exhausted', retries: execution.attempt };
  const backoff = config?.backoff ?? DEFAULT_RETRY_BACKOFF;
  const maxSeconds = backoff.maxSeconds ?? Number.POSITIVE_INFINITY;
  const wait = Math.min(maxSeconds, Math.round(backoff.baseSeconds * backoff.factor ** execution.attempt));
  const dueAt = execution.lastUpdatedAt + wait;
  return epochSeconds(nowMs) >= dueAt ? { kind: 'due', dueAt } : { kind: 'waiting', dueAt };
}

/**
 * Requeues a FAILED or TIMED_OUT execution as a new attempt: executionNumber + 1, attempt + 1, QUEUED at
 * `now`, progress cleared. The version keeps counting up, so a stored copy is never overwritten by an
 * older one.
 */
export function retryExecution(
  execution: JobExecution,
  config: RetryConfig | undefined,
  nowMs: number,
): JobExecution | JobRequestError {
  const refusal = refused(execution, 'retry');
  if (refusal !== undefined) return refusal;
  const decision = retryDecision(execution, config, nowMs);
  if (decision.kind === 'exhausted')
    return new JobRequestError(
      'InvalidStateTransition',
      `no retries left: ${decision.retries} of ${retriesAllowed(config, execution.status)} used`,
      stateOf(execution),
    );
  if (decision.kind === 'waiting')
    return new JobRequestError('InvalidRequest', `the retry is due at ${decision.dueAt}, not before`);
  const now = epochSeconds(nowMs);
  return nextVersion(
    execution,
    {
      status: 'QUEUED',
      queuedAt: now,
      executionNumber: execution.executionNumber + 1,
      attempt: execution.attempt + 1,
      statusDetails: undefined,
      startedAt: undefined,
      inProgressTimeoutAt: undefined,
      stepTimeoutAt: undefined,
    },
    now,
  );
}
