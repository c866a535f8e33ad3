import {
  type JobExecutionStatus,
  type StatusDetails,
  statusDetails as statusDetailsSchema,
  type UpdateExecutionRequest,
} from '../../../lib/protocol/jobs.ts';
import { epochSeconds, type JobExecution, JobRequestError, nextVersion, stateOf } from './execution.ts';
import { type ExecutionOperation, executionTransition } from './transitions.ts';

/** AWS IoT Jobs' step timeout range: 1 minute to 7 days. */
const MAX_STEP_TIMEOUT_MINUTES = 10_080;

/** What a device sends that changes an execution: UpdateJobExecution, or StartNextPendingJobExecution. */
interface DeviceChange {
  readonly status: JobExecutionStatus;
  readonly statusDetails?: StatusDetails;
  readonly stepTimeoutInMinutes?: number;
}

function invalidValues(change: DeviceChange): JobRequestError | undefined {
  if (change.statusDetails !== undefined) {
    const parsed = statusDetailsSchema.safeParse(change.statusDetails);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? `statusDetails.${issue.path.join('.')}` : 'statusDetails';
      return new JobRequestError('InvalidRequest', `${where}: ${issue?.message ?? 'invalid'}`);
    }
  }
  const step = change.stepTimeoutInMinutes;
  if (step !== undefined && !(Number.isInteger(step) && step >= 1 && step <= MAX_STEP_TIMEOUT_MINUTES))
    return new JobRequestError(
      'InvalidRequest',
      `stepTimeoutInMinutes: must be an integer from 1 to ${MAX_STEP_TIMEOUT_MINUTES}, got ${step}`,
    );
  return undefined;
}

/** Applies a change the transition table allows for the device through `operation`. */
function applyChange(
  execution: JobExecution,
  change: DeviceChange,
  operation: ExecutionOperation,
  now: number,
): JobExecution | JobRequestError {
  const cell = executionTransition(execution.status, change.status, 'device');
  if (cell.outcome !== 'allowed' || !cell.via.includes(operation)) {
    const code = cell.outcome === 'allowed' ? 'InvalidStateTransition' : cell.outcome;
    return new JobRequestError(
      code,
      `${execution.status} → ${change.status}: ${cell.why}`,
      stateOf(execution),
    );
  }
  const details = change.statusDetails === undefined ? {} : { statusDetails: change.statusDetails };
  if (change.status !== 'IN_PROGRESS') {
    // Finished one way or another: the timers no longer apply.
    return nextVersion(
      execution,
      { status: change.status, ...details, inProgressTimeoutAt: undefined, stepTimeoutAt: undefined },
      now,
    );
  }
  const starting = execution.status === 'QUEUED';
  const minutes = execution.inProgressTimeoutMinutes;
  return nextVersion(
    execution,
    {
      status: 'IN_PROGRESS',
      ...details,
      ...(starting ? { startedAt: now } : {}),
      // TimeoutConfig: "the in progress timer can't be updated", so it is set once, on entry.
      ...(starting && minutes !== undefined ? { inProgressTimeoutAt: now + minutes * 60 } : {}),
      // A new step timeout replaces the old one; none given leaves the running one alone (UpdateJobExecution).
      ...(change.stepTimeoutInMinutes === undefined
        ? {}
        : { stepTimeoutAt: now + change.stepTimeoutInMinutes * 60 }),
    },
    now,
  );
}

/**
 * Applies a device's UpdateJobExecution request (`.../jobs/{jobId}/update`) at `nowMs`.
 *
 * Checks, in AWS's order of concern: bad values (InvalidRequest), another execution number
 * (ResourceNotFound), a stale `expectedVersion` (VersionMismatch), then the transition table
 * (InvalidStateTransition, TerminalStateReached). `statusDetails`, when given, replace the stored ones.
 *
 * @returns the next execution, or the refusal to publish on `.../update/rejected`
 */
export function applyDeviceUpdate(
  execution: JobExecution,
  request: UpdateExecutionRequest,
  nowMs: number,
): JobExecution | JobRequestError {
  const invalid = invalidValues(request);
  if (invalid !== undefined) return invalid;
  if (request.executionNumber !== undefined && request.executionNumber !== execution.executionNumber)
    return new JobRequestError(
      'ResourceNotFound',
      `execution number ${request.executionNumber} of job ${execution.jobId} does not exist; the current one is ${execution.executionNumber}`,
    );
  if (request.expectedVersion !== undefined && request.expectedVersion !== execution.versionNumber)
    return new JobRequestError(
      'VersionMismatch',
      `expected version ${request.expectedVersion}, the execution is at ${execution.versionNumber}`,
      stateOf(execution),
    );
  return applyChange(execution, request, 'update', epochSeconds(nowMs));
}

/** `.../jobs/start-next` request fields that shape the started execution. */
export interface StartNextOptions {
  readonly statusDetails?: StatusDetails;
  readonly stepTimeoutInMinutes?: number;
}

/** What start-next found. */
export interface StartNextOutcome {
  /** The execution to return (and store, when `changed`). */
  readonly execution: JobExecution;
  /** False when an execution was already IN_PROGRESS: it is returned as it is. */
  readonly changed: boolean;
}

const byQueueOrder = (a: JobExecution, b: JobExecution) =>
  a.queuedAt - b.queuedAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);

/**
 * StartNextPendingJobExecution for one thing: the execution already IN_PROGRESS if there is one
 * (unchanged), otherwise the oldest QUEUED one, moved to IN_PROGRESS.
 *
 * @param executions the thing's executions, in any order and of any status
 * @returns undefined when nothing is pending (AWS answers with no `execution`)
 */
export function startNext(
  executions: readonly JobExecution[],
  nowMs: number,
  options: StartNextOptions = {},
): StartNextOutcome | JobRequestError | undefined {
  const running = executions.filter((e) => e.status === 'IN_PROGRESS').sort(byQueueOrder)[0];
  if (running !== undefined) return { execution: running, changed: false };
  const next = executions.filter((e) => e.status === 'QUEUED').sort(byQueueOrder)[0];
  if (next === undefined) return undefined;
  const change = { status: 'IN_PROGRESS', ...options } as const;
  const invalid = invalidValues(change);
  if (invalid !== undefined) return invalid;
  const started = applyChange(next, change, 'startNext', epochSeconds(nowMs));
  return started instanceof JobRequestError ? started : { execution: started, changed: true };
}
