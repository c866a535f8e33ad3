import type { DeviceJobDocument, JobExecutionView } from '../../../lib/protocol/jobs.ts';
import { type JobExecution, JobRequestError } from './execution.ts';

/** One entry of GetPendingJobExecutions' lists (JobExecutionSummary in AWS IoT's jobs data plane). */
export interface JobExecutionSummary {
  readonly jobId: string;
  readonly queuedAt: number;
  readonly startedAt?: number;
  readonly lastUpdatedAt: number;
  readonly versionNumber: number;
  readonly executionNumber: number;
}

/** The `.../jobs/get/accepted` body's lists. */
export interface PendingJobExecutions {
  readonly inProgressJobs: readonly JobExecutionSummary[];
  readonly queuedJobs: readonly JobExecutionSummary[];
}

function summaryOf(execution: JobExecution): JobExecutionSummary {
  return {
    jobId: execution.jobId,
    queuedAt: execution.queuedAt,
    ...(execution.startedAt === undefined ? {} : { startedAt: execution.startedAt }),
    lastUpdatedAt: execution.lastUpdatedAt,
    versionNumber: execution.versionNumber,
    executionNumber: execution.executionNumber,
  };
}

const oldestFirst = (a: JobExecution, b: JobExecution) =>
  a.queuedAt - b.queuedAt || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0);

/**
 * GetPendingJobExecutions for one thing: IN_PROGRESS and QUEUED executions, oldest queued first (the order
 * start-next takes them in). Finished executions are not pending and are left out.
 */
export function pendingSummary(executions: readonly JobExecution[]): PendingJobExecutions {
  const sorted = [...executions].sort(oldestFirst);
  return {
    inProgressJobs: sorted.filter((e) => e.status === 'IN_PROGRESS').map(summaryOf),
    queuedJobs: sorted.filter((e) => e.status === 'QUEUED').map(summaryOf),
  };
}

/** DescribeJobExecution's request fields. */
export interface DescribeOptions {
  readonly executionNumber?: number;
  readonly includeJobDocument?: boolean;
}

/**
 * DescribeJobExecution (`.../jobs/{jobId}/get`): the execution as the Jobs API shows it, with the job
 * document when asked for (it is fetched by the caller, since it carries a short-lived download URL).
 */
export function describeExecution(
  execution: JobExecution,
  options: DescribeOptions = {},
  jobDocument?: DeviceJobDocument,
): JobExecutionView | JobRequestError {
  if (options.executionNumber !== undefined && options.executionNumber !== execution.executionNumber)
    return new JobRequestError(
      'ResourceNotFound',
      `execution number ${options.executionNumber} of job ${execution.jobId} does not exist`,
    );
  return {
    jobId: execution.jobId,
    thingName: execution.thingName,
    status: execution.status,
    ...(execution.statusDetails === undefined ? {} : { statusDetails: execution.statusDetails }),
    queuedAt: execution.queuedAt,
    ...(execution.startedAt === undefined ? {} : { startedAt: execution.startedAt }),
    lastUpdatedAt: execution.lastUpdatedAt,
    versionNumber: execution.versionNumber,
    executionNumber: execution.executionNumber,
    ...(options.includeJobDocument === true && jobDocument !== undefined ? { jobDocument } : {}),
  };
}
