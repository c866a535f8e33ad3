import {
  type FirmwareDelta,
  type FirmwareJobDocument,
  firmwareJobDocument,
} from '../../../lib/protocol/jobs.ts';
import { type AgentCore, raiseFloor } from './agent-core.ts';
import { type AgentState, type JobRef, targetSlotFor } from './agent-state.ts';
import { DeltaUnusableError, patchFromDelta } from './delta.ts';
import { downloadToSlot, type FirmwareRef } from './download.ts';
import { type JobEndedError, type OtaFailureReason, UpdateFailedError } from './errors.ts';
import { details } from './execution-reporter.ts';
import type { CheckedJob } from './job-checks.ts';
import type { BootState, HealthResult } from './ports.ts';
import { steppedProgress } from './progress.ts';
import { verifySlotImage } from './verify.ts';

/**
 * The steps of a firmware job after its signed manifest passed every check, each decided by the agent
 * from its saved state and the bootloader's (`agent-state.ts`): download into the inactive slot,
 * verify, install, trial boot and health check, then commit or go back to the committed slot. Each
 * step saves the state before anything the device cannot take back.
 */
export class FirmwareSteps {
  constructor(private readonly core: AgentCore) {}

  /** A checked firmware job starts: nothing to do if the device runs it, else download into the inactive slot. */
  async begin(
    jobId: string,
    versionNumber: number,
    document: FirmwareJobDocument,
    running: string | undefined,
    checked: CheckedJob,
    boot: BootState,
  ): Promise<void> {
    const version = document.firmware.manifest.version;
    if (running === version) {
      await this.core.save({
        phase: 'reporting',
        jobId,
        versionNumber,
        status: 'SUCCEEDED',
        statusDetails: details({
          step: 'committed',
          progress: '100%',
          firmwareVersion: version,
          detail: `already running ${version}`,
        }),
      });
      return;
    }
    const target = targetSlotFor(boot);
    // A new job starts from an empty slot: whatever is there belongs to some other image.
    await this.core.options.slots.discard(target);
    const job: JobRef = {
      jobId,
      versionNumber,
      document,
      target,
      previous: boot.committed,
      ...(running === undefined ? {} : { previousVersion: running }),
      securityVersion: checked.securityVersion,
      ...(checked.grant === undefined ? {} : { grant: checked.grant }),
    };
    this.core.log('job-started', { jobId, version, target });
    await this.core.save({ phase: 'downloading', job });
  }

  private jobOf(state: AgentState): JobRef {
    if (state.phase === 'idle' || state.phase === 'reporting')
      throw new Error(`no job in phase ${state.phase}`);
    return state.job;
  }

  async download(): Promise<void> {
    const job = this.jobOf(this.core.state());
    const { slots, clock, downloader } = this.core.options;
    const signal = this.core.jobSignal();
    const section = job.document.firmware;
    const manifest = section.manifest;
    if ((await slots.size(job.target)) === 0) await this.tryDelta(job, signal);
    const progress = steppedProgress(this.core.options.progressStepPercent ?? 10, (percent) =>
      this.reportProgress(job, { step: 'downloading', progress: `${percent}%` }),
    );
    await progress(await slots.size(job.target), manifest.size);
    const result = await downloadToSlot({
      slots,
      slot: job.target,
      downloader,
      clock,
      firmware: {
        url: section.url,
        urlExpiresAt: section.urlExpiresAt,
        size: manifest.size,
        sha256: manifest.sha256,
      },
      signal,
      renew: () => this.renewUrl(job),
      onProgress: progress,
      ...this.core.options.download,
    });
    this.core.log('downloaded', {
      jobId: job.jobId,
      resumedFrom: result.resumedFrom,
      requests: result.requests,
    });
    await this.reportProgress(job, { step: 'verifying' });
    // Held to the manifest checked before the download (and kept across URL renewals).
    await verifySlotImage(slots, job.target, manifest);
    signal.throwIfAborted();
    await this.core.save({ phase: 'installing', job: this.jobOf(this.core.state()) });
  }

  /**
   * The image made from a delta to the version the device runs, if the job offers one, into an empty
   * slot (a resumed download goes on as it began). A delta that cannot make the signed image is logged
   * and leaves the slot empty: the full image is downloaded instead.
   */
  private async tryDelta(job: JobRef, signal: AbortSignal): Promise<void> {
    const delta = job.document.firmware.deltas?.find((d) => d.fromVersion === job.previousVersion);
    if (delta === undefined) return;
    const { slots, clock, downloader } = this.core.options;
    await this.reportProgress(job, { step: 'downloading', detail: `delta from ${delta.fromVersion}` });
    try {
      const { deltaBytes } = await patchFromDelta({
        slots,
        base: job.previous,
        target: job.target,
        delta,
        expected: job.document.firmware.manifest,
        downloader,
        clock,
        signal,
        renew: () => this.renewDelta(job, delta),
        ...(this.core.options.download === undefined ? {} : { download: this.core.options.download }),
      });
      this.core.log('delta-applied', { jobId: job.jobId, fromVersion: delta.fromVersion, deltaBytes });
    } catch (error) {
      signal.throwIfAborted();
      if (!(error instanceof DeltaUnusableError)) throw error;
      this.core.log('delta-unusable', {
        jobId: job.jobId,
        fromVersion: delta.fromVersion,
        detail: error.message,
      });
      await slots.discard(job.target);
    }
  }

  /** A fresh URL for the delta: the renewed document must offer the same delta bytes. */
  private async renewDelta(job: JobRef, delta: FirmwareDelta): Promise<FirmwareRef> {
    const execution = await this.core.reporter.describeLive(job.jobId, true);
    const parsed = firmwareJobDocument.safeParse(execution.jobDocument);
    const fresh = parsed.data?.firmware.deltas?.find((d) => d.sha256 === delta.sha256);
    if (fresh === undefined)
      throw new UpdateFailedError('download', 'downloading', 'the renewed job document offers no such delta');
    return fresh;
  }

  /**
   * A fresh URL for the job's image. Only the location is taken from the renewed document: the
   * manifest stays the one checked before the download, and a document that now names other bytes
   * fails the download.
   */
  private async renewUrl(job: JobRef): Promise<FirmwareRef> {
    const execution = await this.core.reporter.describeLive(job.jobId, true);
    const parsed = firmwareJobDocument.safeParse(execution.jobDocument);
    const manifest = job.document.firmware.manifest;
    if (!parsed.success || parsed.data.firmware.manifest.sha256 !== manifest.sha256) {
      throw new UpdateFailedError(
        'download',
        'downloading',
        'the job document fetched to renew the URL does not parse as the same image',
      );
    }
    const { url, urlExpiresAt } = parsed.data.firmware;
    this.core.log('url-renewed', { jobId: job.jobId, urlExpiresAt });
    const state = this.core.state();
    if (state.phase === 'downloading') {
      const document = {
        ...state.job.document,
        firmware: { ...state.job.document.firmware, url, urlExpiresAt },
      };
      this.core.replace({ ...state, job: { ...state.job, document } });
    }
    return { url, urlExpiresAt, size: manifest.size, sha256: manifest.sha256 };
  }

  async install(): Promise<void> {
    const job = this.jobOf(this.core.state());
    const version = job.document.firmware.manifest.version;
    const signal = this.core.jobSignal();
    await this.reportProgress(job, { step: 'installing' });
    try {
      await this.core.options.install?.({ jobId: job.jobId, slot: job.target, version, signal });
    } catch (error) {
      signal.throwIfAborted();
      throw new UpdateFailedError('install', 'installing', (error as Error).message);
    }
    signal.throwIfAborted();
    await this.core.options.slots.markPending(job.target, version);
    await this.core.save({ phase: 'rebooting', job: this.jobOf(this.core.state()) });
    await this.reportProgress(job, { step: 'rebooting' });
  }

  async checkHealth(): Promise<boolean> {
    const job = this.jobOf(this.core.state());
    const version = job.document.firmware.manifest.version;
    const signal = this.core.jobSignal();
    await this.reportProgress(job, {
      step: 'rebooting',
      progress: '100%',
      detail: `health check of ${version}`,
    });
    let result: HealthResult;
    try {
      result = await this.core.options.healthCheck({ jobId: job.jobId, slot: job.target, version, signal });
    } catch (error) {
      signal.throwIfAborted();
      result = { healthy: false, detail: `health check threw: ${(error as Error).message}` };
    }
    signal.throwIfAborted();
    if (result.healthy) {
      await this.core.options.slots.commit();
      await raiseFloor(this.core, 'firmware', job.securityVersion ?? 0, job.grant);
      this.core.log('committed', { jobId: job.jobId, slot: job.target, version });
      await this.core.save({
        phase: 'reporting',
        jobId: job.jobId,
        versionNumber: this.core.knownVersion(job.jobId),
        status: 'SUCCEEDED',
        statusDetails: details({ step: 'committed', progress: '100%', firmwareVersion: version }),
      });
      return true;
    }
    this.core.log('health-check-failed', { jobId: job.jobId, detail: result.detail });
    await this.core.save({
      phase: 'rolling-back',
      job: this.jobOf(this.core.state()),
      detail: result.detail,
      report: true,
    });
    await this.core.options.slots.rollback();
    await this.core.rebootDevice('back to the committed slot after a failed health check');
    return false;
  }

  async conclude(
    outcome: 'SUCCEEDED' | 'FAILED' | 'ABANDONED',
    detail: string,
    boot: BootState,
  ): Promise<void> {
    const job = this.jobOf(this.core.state());
    if (boot.pending !== undefined) await this.core.options.slots.rollback();
    if (outcome === 'ABANDONED') {
      this.core.log('abandoned', { jobId: job.jobId, detail });
      await this.core.save({ phase: 'idle' });
      return;
    }
    // A power cut between the commit and the floor's rise ends here: raising it again is harmless.
    if (outcome === 'SUCCEEDED') await raiseFloor(this.core, 'firmware', job.securityVersion ?? 0, job.grant);
    const version = job.document.firmware.manifest.version;
    const statusDetails =
      outcome === 'SUCCEEDED'
        ? details({ step: 'committed', progress: '100%', firmwareVersion: version })
        : details({ step: 'rebooting', reason: 'health-check', firmwareVersion: version, detail });
    await this.core.save({
      phase: 'reporting',
      jobId: job.jobId,
      versionNumber: job.versionNumber,
      status: outcome,
      statusDetails,
    });
  }

  async failBeforeReboot(error: UpdateFailedError): Promise<void> {
    const job = this.jobOf(this.core.state());
    this.core.log('update-failed', { jobId: job.jobId, reason: error.reason, detail: error.detail });
    const boot = await this.core.options.slots.bootState();
    if (boot.pending?.slot === job.target) await this.core.options.slots.rollback();
    await this.core.options.slots.discard(job.target);
    await this.core.save({
      phase: 'reporting',
      jobId: job.jobId,
      versionNumber: job.versionNumber,
      status: 'FAILED',
      statusDetails: details({
        step: error.step,
        reason: error.reason satisfies OtaFailureReason,
        firmwareVersion: job.document.firmware.manifest.version,
        detail: error.detail,
      }),
    });
  }

  /** The job ended elsewhere (canceled, timed out, removed): undo what is not committed, report nothing. */
  async abandon(error: JobEndedError): Promise<void> {
    const state = this.core.state();
    this.core.log('job-ended', { jobId: error.jobId, status: error.status, phase: state.phase });
    if (state.phase === 'idle' || state.phase === 'reporting') {
      await this.core.save({ phase: 'idle' });
      return;
    }
    const job = state.job;
    const boot = await this.core.options.slots.bootState();
    if (boot.committed === job.target) {
      await this.core.save({ phase: 'idle' });
      return;
    }
    if (boot.booted === job.target) {
      // On the trial boot of an image nobody wants any more: go back to the one that was committed.
      await this.core.save({
        phase: 'rolling-back',
        job,
        detail: `job ${error.status} during the trial boot`,
        report: false,
      });
      await this.core.options.slots.rollback();
      await this.core.rebootDevice('back to the committed slot: the job ended during the trial boot');
      return;
    }
    if (boot.pending !== undefined) await this.core.options.slots.rollback();
    await this.core.options.slots.discard(job.target);
    await this.core.save({ phase: 'idle' });
  }

  /** Best effort: a progress report that cannot be sent does not hold the update up; a job that ended does. */
  private async reportProgress(
    job: JobRef,
    fields: Readonly<Record<string, string | undefined>>,
  ): Promise<void> {
    await this.core.reporter.reportJobProgress(job.jobId, {
      ...fields,
      firmwareVersion: job.document.firmware.manifest.version,
    });
  }
}
