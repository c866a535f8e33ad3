import {
  type JobExecutionStatus,
  type StatusDetails,
  TERMINAL_STATUSES,
} from '../../../lib/protocol/jobs.ts';
import { endedStatus, JobEndedError, JobsRequestRejectedError, type OtaStep } from './errors.ts';
import type { JobsClient } from './jobs-client.ts';
import type { JobExecutionMessage } from './jobs-messages.ts';

/** Whether an execution status is final (no update is accepted after it). */
export const isTerminal = (status: JobExecutionStatus) => TERMINAL_STATUSES.includes(status);

/** statusDetails values are at most 1024 characters (AWS IoT Jobs' limit). */
export function details(fields: Readonly<Record<string, string | undefined>>): StatusDetails {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value.slice(0, 1024);
  return out;
}

/** Where the reporter reads and records each job execution's version (the agent's state holds it). */
export interface ExecutionVersions {
  known(jobId: string): number;
  remember(jobId: string, versionNumber: number): void;
}

/**
 * The OTA agent's side of job execution updates: UpdateJobExecution with `expectedVersion`, progress
 * reports that never hold an update up, and DescribeJobExecution that turns an execution which ended
 * elsewhere into {@link JobEndedError}.
 */
export class ExecutionReporter {
  /** The last step and progress reported, for the agent's status. */
  progress: { step?: string; progress?: string } = {};

  constructor(
    private readonly client: JobsClient,
    private readonly versions: ExecutionVersions,
    private readonly log: (event: string, fields?: Readonly<Record<string, unknown>>) => void,
  ) {}

  /** Best effort: a progress report that cannot be sent does not hold the update up; a job that ended does. */
  async reportJobProgress(
    jobId: string,
    fields: Readonly<Record<string, string | undefined>>,
  ): Promise<void> {
    this.progress = {
      ...(fields.step ? { step: fields.step as OtaStep } : {}),
      ...(fields.progress ? { progress: fields.progress } : {}),
    };
    try {
      await this.updateExecution(jobId, 'IN_PROGRESS', details(fields));
    } catch (error) {
      if (error instanceof JobEndedError) throw error;
      this.log('progress-not-reported', { jobId, error: String(error) });
    }
  }

  /**
   * UpdateJobExecution with `expectedVersion`. On VersionMismatch (a stale version after a restart,
   * or another writer) it describes the execution and retries with the current version; an
   * execution that is terminal or gone ends the job ({@link JobEndedError}).
   */
  async updateExecution(
    jobId: string,
    status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'REJECTED',
    statusDetails: StatusDetails,
  ): Promise<void> {
    let version = this.versions.known(jobId);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const result = await this.client.update(jobId, {
          status,
          statusDetails,
          ...(version >= 1 ? { expectedVersion: version } : {}),
        });
        this.versions.remember(jobId, result.versionNumber ?? version + 1);
        return;
      } catch (error) {
        if (!(error instanceof JobsRequestRejectedError)) throw error;
        const state = error.executionState?.status;
        if (error.code === 'VersionMismatch') {
          const execution = await this.describeLive(jobId, false);
          version = execution.versionNumber;
          this.log('version-mismatch', { jobId, currentVersion: version });
          continue;
        }
        if (error.code === 'TerminalStateReached' || error.code === 'ResourceNotFound') {
          throw new JobEndedError(jobId, state ?? endedStatus(error.code));
        }
        if (error.code === 'InvalidStateTransition') {
          // AWS IoT Jobs (and fleetkit's service) answer an update of a finished execution this way.
          if (state !== undefined && isTerminal(state)) throw new JobEndedError(jobId, state);
          if (state === undefined) await this.describeLive(jobId, false);
        }
        throw error;
      }
    }
    throw new Error(`job ${jobId}: execution version kept changing`);
  }

  /** DescribeJobExecution, turning a terminal or missing execution into {@link JobEndedError}. */
  async describeLive(jobId: string, includeJobDocument: boolean): Promise<JobExecutionMessage> {
    try {
      const execution = await this.client.describe(jobId, includeJobDocument);
      if (isTerminal(execution.status)) throw new JobEndedError(jobId, execution.status);
      return execution;
    } catch (error) {
      if (
        error instanceof JobsRequestRejectedError &&
        (error.code === 'ResourceNotFound' || error.code === 'TerminalStateReached')
      ) {
        throw new JobEndedError(jobId, error.executionState?.status ?? endedStatus(error.code));
      }
      throw error;
    }
  }
}
