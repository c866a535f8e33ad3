import type { JobExecution } from '../../../../lambdas/domain/jobs/execution.ts';
import type { JobExecutionStatus } from '../../../../lib/protocol/jobs.ts';

/** Epoch ms of the tests' "now": 2026-03-02T10:00:00Z. */
export const NOW_MS = Date.UTC(2026, 2, 2, 10, 0, 0);
export const NOW = NOW_MS / 1000;

/**
 * An execution of rollout `r1` in `status`, queued an hour before {@link NOW} (and started half an hour
 * before, when it is past QUEUED), with `changes` on top.
 */
export function execution(status: JobExecutionStatus, changes: Partial<JobExecution> = {}): JobExecution {
  return {
    jobId: 'r1',
    thingName: 'thing-1',
    status,
    queuedAt: NOW - 3600,
    ...(status === 'QUEUED' ? {} : { startedAt: NOW - 1800 }),
    lastUpdatedAt: NOW - 1800,
    versionNumber: status === 'QUEUED' ? 1 : 2,
    executionNumber: 1,
    attempt: 0,
    firmwareVersion: '2.0.0',
    previousVersion: '1.0.0',
    ...changes,
  };
}
