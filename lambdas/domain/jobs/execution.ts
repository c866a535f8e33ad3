import {
  CODES_WITH_EXECUTION_STATE,
  type JobErrorCode,
  type JobExecutionStatus,
  type StatusDetails,
} from '../../../lib/protocol/jobs.ts';
import type { DsseEnvelope } from '../../../lib/protocol/manifest.ts';
import type { InclusionProof } from '../../../lib/protocol/merkle.ts';
import type { ArtifactPurpose, RetryConfig } from '../../../lib/protocol/rollouts.ts';

/** A rollback execution's signed permission to go below the device's anti-rollback floor (issue 12). */
export interface StoredRollbackAuthorization {
  readonly envelope: DsseEnvelope;
  readonly proof: InclusionProof;
}

/**
 * One thing's execution of one rollout, as AWS IoT Jobs keeps it
 * (https://docs.aws.amazon.com/iot/latest/apireference/API_iot-jobs-data_JobExecution.html), plus what
 * fleetkit needs to count, retry and roll back. Times are epoch seconds, as in AWS.
 */
export interface JobExecution {
  /** The rollout's id. */
  readonly jobId: string;
  readonly thingName: string;
  readonly status: JobExecutionStatus;
  readonly statusDetails?: StatusDetails;
  readonly queuedAt: number;
  /** When the device first moved it to IN_PROGRESS; absent while QUEUED. */
  readonly startedAt?: number;
  readonly lastUpdatedAt: number;
  /** 1 when queued, +1 on every change (device or service), so a stored copy is a compare-and-set key. */
  readonly versionNumber: number;
  /** 1 for the first attempt, +1 for each retry (AWS IoT numbers retried executions this way). */
  readonly executionNumber: number;
  /** Retries so far, of any failure type. */
  readonly attempt: number;
  /**
   * The rollout's TimeoutConfig, copied at queue time so a device request needs only this record.
   * The in-progress timer starts when the execution enters IN_PROGRESS and cannot be changed after.
   */
  readonly inProgressTimeoutMinutes?: number;
  readonly inProgressTimeoutAt?: number;
  /** The device's own step timer (`stepTimeoutInMinutes`), reset by each update that sets one. */
  readonly stepTimeoutAt?: number;
  /**
   * What this execution installs: firmware (a `firmware-update` job, the default when absent) or an
   * anomaly model (a `model-update` job).
   */
  readonly purpose?: ArtifactPurpose;
  /** The version this execution installs, of the firmware or (with `purpose: 'model'`) of the model. */
  readonly firmwareVersion: string;
  /** The version the device ran when the execution was queued: where a rollback takes it. */
  readonly previousVersion: string;
  /** The rollout wave (0-based) the thing belongs to; absent for jobs outside waves (rollbacks). */
  readonly wave?: number;
  /** True for an execution that sends the device back to `firmwareVersion` after a failed health gate. */
  readonly rollback?: boolean;
  /** For a rollback: the service's signed permission for this device. */
  readonly authorization?: StoredRollbackAuthorization;
  /** The rollout's retry config, copied at queue time so the store can index when a retry is due. */
  readonly retries?: RetryConfig;
}

/** What queuing a new execution needs. */
export interface NewExecution {
  readonly jobId: string;
  readonly thingName: string;
  readonly purpose?: ArtifactPurpose;
  readonly firmwareVersion: string;
  readonly previousVersion: string;
  readonly wave?: number;
  readonly rollback?: boolean;
  readonly authorization?: StoredRollbackAuthorization;
  readonly inProgressTimeoutMinutes?: number;
  readonly retries?: RetryConfig;
}

/** Epoch seconds from epoch milliseconds, as AWS IoT Jobs reports times. */
export function epochSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

/** A QUEUED execution, version 1, first attempt. */
export function queueExecution(spec: NewExecution, nowMs: number): JobExecution {
  const now = epochSeconds(nowMs);
  return {
    ...spec,
    status: 'QUEUED',
    queuedAt: now,
    lastUpdatedAt: now,
    versionNumber: 1,
    executionNumber: 1,
    attempt: 0,
  };
}

/** The execution's state as AWS puts it in `executionState` of an error response. */
export interface ExecutionState {
  readonly status: JobExecutionStatus;
  readonly statusDetails?: StatusDetails;
  readonly versionNumber: number;
}

/**
 * A request refused with one of AWS IoT Jobs' error codes
 * (https://docs.aws.amazon.com/iot/latest/developerguide/jobs-mqtt-api.html, ErrorResponse). Returned,
 * not thrown: a refusal is an ordinary outcome that the handler publishes on `.../rejected`.
 */
export class JobRequestError extends Error {
  override readonly name = 'JobRequestError';
  /** Kept only for the codes AWS sends it with ({@link CODES_WITH_EXECUTION_STATE}). */
  readonly executionState?: ExecutionState;

  /** @param executionState the execution as it is; dropped for a code whose response has none */
  constructor(
    readonly code: JobErrorCode,
    message: string,
    executionState?: ExecutionState,
  ) {
    super(message);
    if (executionState !== undefined && CODES_WITH_EXECUTION_STATE.includes(code)) {
      this.executionState = executionState;
    }
  }
}

/** The `executionState` of an error response for `execution`. */
export function stateOf(execution: JobExecution): ExecutionState {
  return {
    status: execution.status,
    versionNumber: execution.versionNumber,
    ...(execution.statusDetails === undefined ? {} : { statusDetails: execution.statusDetails }),
  };
}

type Optional = 'statusDetails' | 'startedAt' | 'inProgressTimeoutAt' | 'stepTimeoutAt';

/**
 * The next version of an execution: `changes` applied, version and lastUpdatedAt moved on. Keys set to
 * undefined in `changes` are removed rather than stored as undefined (DynamoDB refuses undefined).
 */
export function nextVersion(
  execution: JobExecution,
  changes: Partial<Omit<JobExecution, 'versionNumber' | 'lastUpdatedAt'>>,
  now: number,
): JobExecution {
  const next: Record<string, unknown> = {
    ...execution,
    ...changes,
    versionNumber: execution.versionNumber + 1,
    lastUpdatedAt: now,
  };
  for (const key of [
    'statusDetails',
    'startedAt',
    'inProgressTimeoutAt',
    'stepTimeoutAt',
  ] satisfies Optional[])
    if (next[key] === undefined) delete next[key];
  return next as unknown as JobExecution;
}
