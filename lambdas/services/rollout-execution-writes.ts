import type { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import { type JobExecution, JobRequestError } from '../domain/jobs/execution.ts';
import type { ExecutionChangeListener, JobsService } from './jobs-service.ts';

/**
 * How the rollout scheduler and its rollbacks write executions: each write conditional on the stored
 * version (or on there being none), counted once by the change listener, and the device told.
 */
export interface ExecutionWrites {
  readonly executions: Pick<DynamoJobExecutionStore, 'get' | 'save'>;
  readonly onChange: ExecutionChangeListener;
  readonly jobs: Pick<JobsService, 'notifyNext'>;
}

/** Runs `work` over `items`, 25 at a time: fast without flooding the table or the broker. */
export async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += 25) await Promise.all(items.slice(i, i + 25).map(work));
}

/**
 * Stores a new QUEUED execution unless one exists, counts it, and tells the device. `exists`: an earlier
 * tick stored it and died before going on; counted then, told again (notify-next is idempotent), in case
 * that tick died before telling it.
 */
export async function queueNew(
  writes: ExecutionWrites,
  execution: JobExecution,
): Promise<'saved' | 'exists'> {
  const saved = (await writes.executions.save(execution, undefined)) === 'saved';
  if (saved) await writes.onChange(undefined, execution);
  await writes.jobs.notifyNext(execution.thingName);
  return saved ? 'saved' : 'exists';
}

/** Applies a service change to each thing's execution of `jobId`; counts the ones that changed. */
export async function changeEach(
  writes: ExecutionWrites,
  jobId: string,
  things: readonly string[],
  change: (execution: JobExecution) => JobExecution | JobRequestError,
): Promise<number> {
  let changed = 0;
  await inBatches(things, async (thingName) => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await writes.executions.get(thingName, jobId);
      if (current === undefined) return;
      const next = change(current);
      // Refused: the device moved it on meanwhile (it succeeded just before its timer fired).
      if (next instanceof JobRequestError) return;
      if ((await writes.executions.save(next, current.versionNumber)) === 'conflict') continue;
      await writes.onChange(current, next);
      await writes.jobs.notifyNext(thingName);
      changed++;
      return;
    }
  });
  return changed;
}
