import { type ArtifactPurpose, rolloutArtifact } from '../../lib/protocol/rollouts.ts';
import type { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import type { DynamoRolloutPlanStore } from '../adapters/dynamo-rollout-store.ts';
import type { Signer } from '../domain/firmware/ports.ts';
import { epochSeconds, type JobExecution, queueExecution } from '../domain/jobs/execution.ts';
import { cancelExecution } from '../domain/jobs/service.ts';
import {
  devicesToSendBack,
  needsReported,
  ROLLBACK_WATCH_DAYS,
  type RollbackJob,
  rollbackJobsOf,
  rollbackPlan,
} from '../domain/rollout/rollback.ts';
import { rollbackGrant } from '../domain/rollout/rollback-grant.ts';
import type { DeviceRecord } from '../ports.ts';
import type { Logger } from '../shared/logger.ts';
import { changeEach, type ExecutionWrites, inBatches, queueNew } from './rollout-execution-writes.ts';
import type { RollbackJobRecord, RolloutItem } from './rollout-item.ts';
import { signStatement } from './statement-signer.ts';

/** Devices owed a check that one tick reads again (one registry BatchGet per hundred). */
export const OWED_PAGE = 1000;

export interface RolloutRollbacksProps extends ExecutionWrites {
  readonly executions: Pick<DynamoJobExecutionStore, 'get' | 'save' | 'allOf'>;
  readonly registry: { getMany(ids: readonly string[]): Promise<DeviceRecord[]> };
  readonly plans: Pick<DynamoRolloutPlanStore, 'putOwed' | 'owed' | 'removeOwed'>;
  /**
   * The image (or model) a rollback can send, by version: its SHA-256 when it is available in the
   * firmware (or model) registry.
   */
  readonly rollbackImage: (
    version: string,
    purpose: ArtifactPurpose,
  ) => Promise<{ readonly sha256: string } | undefined>;
  /** Signs rollback authorizations (the `rollbackSigning` KMS key). */
  readonly rollbackSigner: Signer;
  readonly log: Logger;
  readonly now: () => number;
}

/** What a rollback step changes on the rollout, and how many devices it sent back. */
export interface RollbackStep {
  readonly rollbackJobs: readonly RollbackJobRecord[];
  /** Absent: nothing (more) to watch. */
  readonly rollbackWatch?: RolloutItem['rollbackWatch'];
  /** Rollback executions queued by this step (none for a blocked job). */
  readonly sentBack: number;
}

/** The id of a rollout's n-th rollback job: within AWS IoT's 64 characters, traceable to the rollout. */
export function rollbackJobId(rolloutId: string, n: number): string {
  const suffix = `-rollback-${n}`;
  return `${rolloutId.slice(0, 64 - suffix.length)}${suffix}`;
}

/**
 * Rolls rollouts back: at once, every device that runs the image (by what it last reported, not by its
 * execution's status alone, see `installState`); then, for {@link ROLLBACK_WATCH_DAYS}, the devices that
 * may run it without having said so, a page per scheduler tick, as their status messages come in.
 */
export class RolloutRollbacks {
  constructor(private readonly props: RolloutRollbacksProps) {}

  /**
   * Starts the rollback: force-cancels what is still running (so no more devices install the image),
   * queues one rollback job per version to go back to, and lists the devices owed a check. Safe to run
   * again after a tick that died midway: every write is idempotent or conditional.
   */
  async start(item: RolloutItem): Promise<RollbackStep> {
    const executions: JobExecution[] = [];
    for await (const page of this.props.executions.allOf(item.rolloutId)) executions.push(...page);
    const reported = await this.reported(executions.filter(needsReported).map((e) => e.thingName));
    const plan = rollbackPlan(executions, (thing) => reported.get(thing));
    const force = new Set(plan.cancel.filter((c) => c.force).map((c) => c.thingName));
    await changeEach(
      this.props,
      item.rolloutId,
      plan.cancel.map((c) => c.thingName),
      (e) =>
        cancelExecution(e, this.props.now(), {
          force: force.has(e.thingName),
          // The device's own step is kept: a rerun of this rollback judges the device on it again.
          statusDetails: { ...e.statusDetails, reason: 'rolled back' },
        }),
    );
    // Listed before any job is sent: a tick that dies midway leaves no owed device unlisted.
    await this.props.plans.putOwed(item.rolloutId, plan.owed);
    const { records: rollbackJobs, sent } = await this.send(item.rolloutId, [], plan.jobs);
    const now = epochSeconds(this.props.now());
    this.props.log.warn('rollout rolled back', {
      rolloutId: item.rolloutId,
      jobs: rollbackJobs,
      owed: plan.owed.length,
    });
    return {
      rollbackJobs,
      ...(plan.owed.length === 0
        ? {}
        : { rollbackWatch: { since: now, until: now + ROLLBACK_WATCH_DAYS * 86_400 } }),
      sentBack: sent,
    };
  }

  /**
   * Reads the next page of devices owed a check against the registry, and sends back those whose status
   * now names the rolled-back version. The watch ends when the list is empty or its end date passed.
   */
  async recheck(item: RolloutItem): Promise<RollbackStep | undefined> {
    const watch = item.rollbackWatch;
    if (watch === undefined) return undefined;
    const existing = item.rollbackJobs ?? [];
    if (epochSeconds(this.props.now()) >= watch.until) {
      const stillOwed = await this.forget(item.rolloutId);
      this.props.log.info('rollback watch ended', { rolloutId: item.rolloutId, stillOwed });
      return { rollbackJobs: existing, sentBack: 0 };
    }
    const page = await this.props.plans.owed(item.rolloutId, OWED_PAGE, watch.cursor);
    if (page.owed.length === 0 && watch.cursor === undefined) {
      this.props.log.info('rollback watch ended', { rolloutId: item.rolloutId, stillOwed: 0 });
      return { rollbackJobs: existing, sentBack: 0 };
    }
    const reported = await this.reported(page.owed.map((o) => o.thingName));
    const artifact = rolloutArtifact(item.request);
    const back = devicesToSendBack(
      page.owed,
      (thing) => reported.get(thing),
      artifact.version,
      artifact.purpose,
    );
    const { records: rollbackJobs, sent } = await this.send(
      item.rolloutId,
      existing,
      rollbackJobsOf(back, artifact.version, artifact.purpose),
    );
    await this.props.plans.removeOwed(
      item.rolloutId,
      back.map((b) => b.thingName),
    );
    if (back.length > 0)
      this.props.log.warn('devices that installed a rolled-back image reported it; sent back', {
        rolloutId: item.rolloutId,
        things: back.map((b) => b.thingName),
      });
    const { cursor: _read, ...rest } = watch;
    return {
      rollbackJobs,
      // Past the end of the list, the next tick starts again from its beginning.
      rollbackWatch: page.last === undefined ? rest : { ...rest, cursor: page.last },
      sentBack: sent,
    };
  }

  /** Crosses every device off the owed list (the watch is over); how many there were. */
  private async forget(rolloutId: string): Promise<number> {
    let forgotten = 0;
    for (;;) {
      const { owed } = await this.props.plans.owed(rolloutId, OWED_PAGE);
      if (owed.length === 0) return forgotten;
      await this.props.plans.removeOwed(
        rolloutId,
        owed.map((o) => o.thingName),
      );
      forgotten += owed.length;
    }
  }

  /** The registry's records of `things`, by name. */
  private async reported(things: readonly string[]): Promise<Map<string, DeviceRecord>> {
    if (things.length === 0) return new Map();
    return new Map((await this.props.registry.getMany(things)).map((r) => [r.deviceId, r]));
  }

  /**
   * Queues `jobs` (a rollback execution per thing, at once: a rollback is not paced), each into the
   * rollout's existing rollback job to the same version if there is one, else a new one. A version not
   * available in the registry cannot be sent: the job is recorded as blocked, for an operator.
   */
  private async send(
    rolloutId: string,
    existing: readonly RollbackJobRecord[],
    jobs: readonly RollbackJob[],
  ): Promise<{ records: RollbackJobRecord[]; sent: number }> {
    const records = [...existing];
    let sent = 0;
    for (const job of jobs) {
      const at = records.findIndex((r) => r.toVersion === job.toVersion);
      const record = records[at];
      const jobId = record?.jobId ?? rollbackJobId(rolloutId, records.length);
      const purpose = job.purpose ?? 'firmware';
      const image =
        record?.blocked === undefined ? await this.props.rollbackImage(job.toVersion, purpose) : undefined;
      const blocked =
        record?.blocked ??
        (image === undefined
          ? `${purpose} ${job.toVersion} is not available in the registry: upload it, then roll these devices back with a new rollout`
          : undefined);
      if (blocked === undefined && image !== undefined) {
        // One signature for the batch; each execution carries its device's proof (rollback-grant.ts).
        const grant = rollbackGrant(
          {
            rolloutId,
            jobId,
            target: purpose,
            version: job.toVersion,
            sha256: image.sha256,
            things: job.things,
          },
          this.props.now(),
        );
        const { envelope } = await signStatement(this.props.rollbackSigner, grant.manifest);
        await inBatches(job.things, async (thingName) => {
          const proof = grant.proofs.get(thingName);
          await queueNew(
            this.props,
            queueExecution(
              {
                jobId,
                thingName,
                // The way back is the same kind of job as the way there: a model-update for a model.
                ...(purpose === 'firmware' ? {} : { purpose }),
                firmwareVersion: job.toVersion,
                previousVersion: job.fromVersion,
                rollback: true,
                ...(proof === undefined ? {} : { authorization: { envelope, proof } }),
              },
              this.props.now(),
            ),
          );
        });
      }
      if (blocked === undefined) sent += job.things.length;
      const things = (record?.things ?? 0) + job.things.length;
      const next = { jobId, toVersion: job.toVersion, things, ...(blocked === undefined ? {} : { blocked }) };
      if (record === undefined) records.push(next);
      else records[at] = next;
    }
    return { records, sent };
  }
}
