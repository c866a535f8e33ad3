import type { JobExecution } from '../jobs/execution.ts';
import { compareVersions } from './semver.ts';

/** One rollback job: every listed thing goes back to `toVersion`. */
export interface RollbackJob {
  readonly toVersion: string;
  /** The version the things are leaving (the rollout's). */
  readonly fromVersion: string;
  /** Sorted by name. */
  readonly things: readonly string[];
}

/** What rolling a rollout back takes. */
export interface RollbackPlan {
  /** One job per version to go back to: a job document carries one image. Oldest version first. */
  readonly jobs: readonly RollbackJob[];
  /** Executions to cancel: QUEUED ones plainly, IN_PROGRESS ones with force, before they finish installing. */
  readonly cancel: readonly { readonly thingName: string; readonly force: boolean }[];
  /** Executions that ended without installing anything (failed, rejected, timed out, canceled, removed). */
  readonly untouched: number;
}

/**
 * The rollback of a rollout whose health gate failed: each SUCCEEDED device gets a job back to the version
 * it had before (its `previousVersion`); executions still queued or running are canceled so no more
 * devices install the bad image. Rollback executions themselves are never rolled back.
 */
export function rollbackPlan(executions: Iterable<JobExecution>): RollbackPlan {
  const byVersion = new Map<string, { fromVersion: string; things: string[] }>();
  const cancel: { thingName: string; force: boolean }[] = [];
  let untouched = 0;
  for (const execution of executions) {
    if (execution.rollback === true) continue;
    if (execution.status === 'SUCCEEDED') {
      const job = byVersion.get(execution.previousVersion) ?? {
        fromVersion: execution.firmwareVersion,
        things: [],
      };
      job.things.push(execution.thingName);
      byVersion.set(execution.previousVersion, job);
    } else if (execution.status === 'QUEUED' || execution.status === 'IN_PROGRESS') {
      cancel.push({ thingName: execution.thingName, force: execution.status === 'IN_PROGRESS' });
    } else {
      untouched++;
    }
  }
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const jobs = [...byVersion.entries()]
    .sort(([a], [b]) => compareVersions(a, b) ?? byName(a, b))
    .map(([toVersion, job]) => ({
      toVersion,
      fromVersion: job.fromVersion,
      things: job.things.sort(byName),
    }));
  return { jobs, cancel: cancel.sort((a, b) => byName(a.thingName, b.thingName)), untouched };
}
