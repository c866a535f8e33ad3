import {
  type DeviceJobDocument,
  deviceJobDocument,
  firmwareJobDocument,
  type JobExecutionStatus,
  type ModelJobDocument,
  modelJobDocument,
  type StatusDetails,
  TERMINAL_STATUSES,
} from '../../../lib/protocol/jobs.ts';
import { toFieldIssues } from '../../../lib/protocol/parse.ts';
import {
  type AgentPhase,
  type AgentState,
  decideNext,
  type JobRef,
  type NextAction,
  targetSlotFor,
} from './agent-state.ts';
import { type DownloadOptions, downloadToSlot, type FirmwareRef } from './download.ts';
import {
  endedStatus,
  JobEndedError,
  JobRefusedError,
  JobsRequestRejectedError,
  ModelUpdateFailedError,
  type OtaFailureReason,
  type OtaStep,
  UpdateFailedError,
} from './errors.ts';
import { type CheckedJob, checkJobDocument } from './job-checks.ts';
import { JobsClient } from './jobs-client.ts';
import type { JobExecutionMessage } from './jobs-messages.ts';
import { installDeliveredModel } from './model-job.ts';
import type {
  BootState,
  Clock,
  Downloader,
  HealthCheck,
  HealthResult,
  InstallHook,
  JobsTransport,
  ModelInstaller,
  SlotStore,
} from './ports.ts';
import { steppedProgress } from './progress.ts';
import type { AgentStateStore } from './state-store.ts';
import { afterCommit } from './statements.ts';
import type { TrustStore } from './trust-store.ts';
import { verifySlotImage } from './verify.ts';

export interface OtaAgentOptions {
  readonly thingName: string;
  /** The device's type: a signed manifest must name it. */
  readonly deviceType: string;
  readonly transport: JobsTransport;
  readonly downloader: Downloader;
  readonly slots: SlotStore;
  readonly state: AgentStateStore;
  readonly clock: Clock;
  /**
   * What the device trusts (key set, anti-rollback floors, used rollback authorizations), durable: see
   * `trust-store.ts`.
   */
  readonly trust: TrustStore;
  /** Runs on the trial boot of a new slot. */
  readonly healthCheck: HealthCheck;
  /**
   * Restarts the device (a real reboot, or the simulator's restart). The agent stops itself just
   * before calling it, so it must not wait for the agent; after it, the next agent runs after
   * {@link SlotStore.boot}.
   */
  readonly reboot: () => void | Promise<void>;
  /** Runs after verification, before the slot is marked pending; throwing fails the update (`install`). */
  readonly install?: InstallHook;
  /**
   * Installs anomaly models delivered by `model-update` jobs (downloaded and verified by the agent
   * like firmware, with no reboot and no slot change). Without it such jobs are REJECTED.
   */
  readonly models?: ModelInstaller;
  readonly log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
  /** @default 10_000 */
  readonly requestTimeoutMs?: number;
  /** Download progress is reported each time it crosses a multiple of this. @default 10 */
  readonly progressStepPercent?: number;
  /** Retry delay after a failed step, doubling up to 60 s. @default 1_000 */
  readonly retryBackoffMs?: number;
  readonly download?: Pick<
    DownloadOptions,
    'maxAttempts' | 'maxRenewals' | 'backoffMs' | 'expiryMarginSeconds'
  >;
}

/** What the agent is doing, for status displays and tests. */
export interface OtaAgentStatus {
  readonly phase: AgentPhase;
  readonly jobId?: string;
  readonly step?: string;
  readonly progress?: string;
}

const isTerminal = (status: JobExecutionStatus) => TERMINAL_STATUSES.includes(status);

/** statusDetails values are at most 1024 characters (AWS IoT Jobs' limit). */
function details(fields: Readonly<Record<string, string | undefined>>): StatusDetails {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value.slice(0, 1024);
  return out;
}

class HaltedError extends Error {
  override readonly name = 'HaltedError';
}

/**
 * The device side of a firmware update, as a Mender or RAUC user expects it: AWS IoT Jobs' device
 * workflow (https://docs.aws.amazon.com/iot/latest/developerguide/jobs-workflow-device-online.html —
 * subscribe to notify-next, start-next, report with UpdateJobExecution), a resumable download into
 * the inactive slot, size + SHA-256 + signature checks before anything is applied, one trial boot of
 * the new slot, and commit on a passing health check or back to the old slot otherwise.
 *
 * The agent saves its state before every step the device cannot take back, and decides each step
 * from that state and the bootloader's ({@link decideNext}), so it continues correctly after a power
 * cut between any two steps: the device always boots a known-good slot and the job ends with the
 * status that matches what the device runs.
 */
export class OtaAgent {
  private readonly client: JobsClient;
  private state: AgentState = { phase: 'idle' };
  private loop: Promise<void> | undefined;
  private again = false;
  private halted = false;
  private wake = new AbortController();
  private jobAbort = new AbortController();
  private readonly disposers: Array<() => void> = [];
  private progress: { step?: string; progress?: string } = {};
  /**
   * The model job running now, if any. Model jobs are not saved in the agent state: a restart in the
   * middle of one finds the execution IN_PROGRESS through start-next and runs it again, resuming the
   * staging file.
   */
  private modelJob: { readonly jobId: string; versionNumber: number } | undefined;

  constructor(private readonly options: OtaAgentOptions) {
    this.client = new JobsClient({
      thingName: options.thingName,
      transport: options.transport,
      clock: options.clock,
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      onBadMessage: (topic, error) => this.log('bad-message', { topic, error: String(error) }),
    });
  }

  /**
   * Starts the agent after a boot: loads its state, subscribes, and continues whatever was under way
   * (or asks for the next job). Call {@link SlotStore.boot} before, once per power-on.
   */
  async start(): Promise<void> {
    this.state = await this.options.state.load();
    this.client.onNotifyNext((execution) => this.onNotifyNext(execution));
    await this.client.open();
    this.disposers.push(this.options.transport.onConnect(() => this.kick()));
    this.log('started', { phase: this.state.phase });
    this.kick();
  }

  /** Stops processing (shutdown); the saved state lets the next start continue. */
  async stop(): Promise<void> {
    this.halt();
    await this.loop;
  }

  /** Resolves when the agent has nothing left to do until the next notification. */
  async settled(): Promise<void> {
    while (this.loop !== undefined) await this.loop;
  }

  status(): OtaAgentStatus {
    const job = this.currentJobId();
    return { phase: this.state.phase, ...(job === undefined ? {} : { jobId: job }), ...this.progress };
  }

  private log(event: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.options.log?.(event, { thing: this.options.thingName, ...fields });
  }

  private halt(): void {
    if (this.halted) return;
    this.halted = true;
    this.jobAbort.abort(new HaltedError('agent stopped'));
    this.wake.abort();
    this.client.close();
    for (const dispose of this.disposers.splice(0)) dispose();
  }

  private currentJobId(): string | undefined {
    return this.state.phase === 'idle'
      ? this.modelJob?.jobId
      : this.state.phase === 'reporting'
        ? this.state.jobId
        : this.state.job.jobId;
  }

  private kick(): void {
    this.again = true;
    this.wake.abort();
    this.wake = new AbortController();
    if (this.loop !== undefined || this.halted) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      if (this.again && !this.halted) this.kick();
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.halted) {
      this.again = false;
      try {
        const boot = await this.options.slots.bootState();
        const action = decideNext(this.state, boot);
        const more = await this.perform(action, boot);
        failures = 0;
        if (!more && !this.again) return;
      } catch (error) {
        if (this.halted) return;
        try {
          if (error instanceof UpdateFailedError) await this.failBeforeReboot(error);
          else if (error instanceof JobEndedError) await this.abandon(error);
          else throw error;
        } catch (unexpected) {
          if (this.halted) return;
          failures += 1;
          const delay = Math.min(60_000, (this.options.retryBackoffMs ?? 1_000) * 2 ** (failures - 1));
          this.log('retry', { phase: this.state.phase, error: String(unexpected), delayMs: delay });
          await this.options.clock.sleep(delay, this.wake.signal).catch(() => undefined);
        }
      }
    }
  }

  private async save(next: AgentState): Promise<void> {
    await this.options.state.save(next);
    this.state = next;
  }

  private async perform(action: NextAction, boot: BootState): Promise<boolean> {
    switch (action.kind) {
      case 'start-next': {
        const execution = await this.client.startNext();
        if (execution === undefined) return false;
        await this.begin(execution, boot);
        return true;
      }
      case 'download':
        await this.download();
        return true;
      case 'install':
        await this.install();
        return true;
      case 'reboot':
        await this.rebootDevice('into the new slot');
        return false;
      case 'health-check':
        return this.checkHealth();
      case 'conclude':
        await this.conclude(action.outcome, action.detail, boot);
        return true;
      case 'report':
        await this.report();
        return true;
      case 'repair':
        this.log('repair', { boot });
        if (boot.pending !== undefined) await this.options.slots.rollback();
        if (action.reboot) {
          await this.rebootDevice('to the committed slot');
          return false;
        }
        return true;
      case 'reboot-to-committed':
        await this.options.slots.rollback();
        await this.rebootDevice('back to the committed slot');
        return false;
    }
  }

  private async begin(execution: JobExecutionMessage, boot: BootState): Promise<void> {
    this.jobAbort = new AbortController();
    const parsed = deviceJobDocument.safeParse(execution.jobDocument);
    const jobId = execution.jobId;
    const versionNumber = execution.versionNumber;
    if (!parsed.success) {
      const issues = toFieldIssues(parsed.error.issues)
        .map((i) => `${i.field}: ${i.reason}`)
        .join('; ');
      this.log('job-rejected', { jobId, issues });
      await this.save({
        phase: 'reporting',
        jobId,
        versionNumber,
        status: 'REJECTED',
        statusDetails: details({ reason: 'invalid-job-document', detail: issues }),
      });
      return;
    }
    const running = boot.versions[boot.booted];
    const checked = await this.checkDocument(jobId, versionNumber, parsed.data, running);
    if (checked === undefined) return;
    if (parsed.data.operation === 'model-update') {
      await this.runModelJob(jobId, versionNumber, parsed.data, checked);
      return;
    }
    const document = parsed.data;
    const version = document.firmware.manifest.version;
    if (running === version) {
      await this.save({
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
    await this.options.slots.discard(target);
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
    this.log('job-started', { jobId, version, target });
    await this.save({ phase: 'downloading', job });
  }

  /**
   * Every check before a download (`job-checks.ts`); a refusal is saved as REJECTED with the reason and
   * the job document's field at fault, and nothing is downloaded.
   *
   * @returns what the checks found, or undefined when the job was refused
   */
  private async checkDocument(
    jobId: string,
    versionNumber: number,
    document: DeviceJobDocument,
    runningFirmware: string | undefined,
  ): Promise<CheckedJob | undefined> {
    const model = document.operation === 'model-update';
    try {
      return await checkJobDocument(document, this.options.trust, {
        thingName: this.options.thingName,
        deviceType: this.options.deviceType,
        jobId,
        now: Math.floor(this.options.clock.now() / 1000),
        ...((model ? this.options.models?.servingVersion() : runningFirmware) === undefined
          ? {}
          : { running: model ? this.options.models?.servingVersion() : runningFirmware }),
      });
    } catch (error) {
      if (!(error instanceof JobRefusedError)) throw error;
      const artifact = model ? document.model : document.firmware;
      this.log('job-refused', { jobId, reason: error.reason, field: error.field, detail: error.detail });
      await this.save({
        phase: 'reporting',
        jobId,
        versionNumber,
        status: 'REJECTED',
        statusDetails: details({
          step: 'verifying',
          reason: error.reason,
          field: error.field,
          detail: error.detail,
          [model ? 'modelVersion' : 'firmwareVersion']: artifact.manifest.version,
        }),
      });
      return undefined;
    }
  }

  /**
   * A `model-update` job, start to end in one go: signature over the declared digest, resumable
   * download to the installer's staging file, size + SHA-256 + signature over the bytes, then the
   * installer (the detector's swap). Firmware state and slots are not touched. The outcome is saved as
   * `reporting`, like firmware's; a restart before that runs the job again from start-next.
   */
  private async runModelJob(
    jobId: string,
    versionNumber: number,
    document: ModelJobDocument,
    checked: CheckedJob,
  ): Promise<void> {
    const model = document.model.manifest;
    const conclude = (status: 'SUCCEEDED' | 'FAILED' | 'REJECTED', fields: Record<string, string>) =>
      this.save({
        phase: 'reporting',
        jobId,
        versionNumber: this.modelJob?.versionNumber ?? versionNumber,
        status,
        statusDetails: details({ ...fields, modelVersion: model.version }),
      });
    const installer = this.options.models;
    if (installer === undefined) {
      this.log('job-rejected', { jobId, issues: 'model updates are not enabled on this device' });
      await conclude('REJECTED', {
        reason: 'unsupported-operation',
        detail: 'this agent has no model installer: model updates are not enabled on this device',
      });
      return;
    }
    if (installer.servingVersion() === model.version) {
      await conclude('SUCCEEDED', {
        step: 'committed',
        progress: '100%',
        detail: `already serving ${model.version}`,
      });
      return;
    }
    this.modelJob = { jobId, versionNumber };
    try {
      await installDeliveredModel(
        {
          downloader: this.options.downloader,
          clock: this.options.clock,
          ...(this.options.download === undefined ? {} : { download: this.options.download }),
          ...(this.options.progressStepPercent === undefined
            ? {}
            : { progressStepPercent: this.options.progressStepPercent }),
          signal: this.jobAbort.signal,
          report: (fields) => this.reportJobProgress(jobId, fields),
          renew: () => this.renewModelUrl(jobId, document.model),
          log: (event, fields) => this.log(event, { jobId, ...fields }),
        },
        document.model,
        installer,
      );
      await this.raiseFloor('model', checked.securityVersion, checked.grant);
      this.log('model-committed', { jobId, version: model.version });
      await conclude('SUCCEEDED', { step: 'committed', progress: '100%' });
    } catch (error) {
      if (error instanceof ModelUpdateFailedError) {
        this.log('model-update-failed', { jobId, reason: error.reported, detail: error.detail });
        await conclude('FAILED', { step: error.step, reason: error.reported, detail: error.detail });
        return;
      }
      if (error instanceof JobEndedError) {
        this.log('job-ended', { jobId: error.jobId, status: error.status, phase: 'model-update' });
        return;
      }
      throw error;
    } finally {
      this.modelJob = undefined;
    }
  }

  private async renewModelUrl(
    jobId: string,
    declared: ModelJobDocument['model'],
  ): Promise<ModelJobDocument['model']> {
    const execution = await this.describeLive(jobId, true);
    const parsed = modelJobDocument.safeParse(execution.jobDocument);
    if (!parsed.success || parsed.data.model.manifest.sha256 !== declared.manifest.sha256) {
      throw new UpdateFailedError(
        'download',
        'downloading',
        'the job document fetched to renew the URL does not parse as the same model version',
      );
    }
    this.log('url-renewed', { jobId, urlExpiresAt: parsed.data.model.urlExpiresAt });
    return parsed.data.model;
  }

  private jobOf(state: AgentState): JobRef {
    if (state.phase === 'idle' || state.phase === 'reporting')
      throw new Error(`no job in phase ${state.phase}`);
    return state.job;
  }

  private async download(): Promise<void> {
    const job = this.jobOf(this.state);
    const { slots, clock, downloader } = this.options;
    const signal = this.jobAbort.signal;
    const section = job.document.firmware;
    const manifest = section.manifest;
    const progress = steppedProgress(this.options.progressStepPercent ?? 10, (percent) =>
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
      ...this.options.download,
    });
    this.log('downloaded', { jobId: job.jobId, resumedFrom: result.resumedFrom, requests: result.requests });
    await this.reportProgress(job, { step: 'verifying' });
    // Held to the manifest checked before the download (and kept across URL renewals).
    await verifySlotImage(slots, job.target, manifest);
    signal.throwIfAborted();
    await this.save({ phase: 'installing', job: this.jobOf(this.state) });
  }

  /**
   * A fresh URL for the job's image. Only the location is taken from the renewed document: the
   * manifest stays the one checked before the download, and a document that now names other bytes
   * fails the download.
   */
  private async renewUrl(job: JobRef): Promise<FirmwareRef> {
    const execution = await this.describeLive(job.jobId, true);
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
    this.log('url-renewed', { jobId: job.jobId, urlExpiresAt });
    if (this.state.phase === 'downloading') {
      const document = {
        ...this.state.job.document,
        firmware: { ...this.state.job.document.firmware, url, urlExpiresAt },
      };
      this.state = { ...this.state, job: { ...this.state.job, document } };
    }
    return { url, urlExpiresAt, size: manifest.size, sha256: manifest.sha256 };
  }

  private async install(): Promise<void> {
    const job = this.jobOf(this.state);
    const version = job.document.firmware.manifest.version;
    const signal = this.jobAbort.signal;
    await this.reportProgress(job, { step: 'installing' });
    try {
      await this.options.install?.({ jobId: job.jobId, slot: job.target, version, signal });
    } catch (error) {
      signal.throwIfAborted();
      throw new UpdateFailedError('install', 'installing', (error as Error).message);
    }
    signal.throwIfAborted();
    await this.options.slots.markPending(job.target, version);
    await this.save({ phase: 'rebooting', job: this.jobOf(this.state) });
    await this.reportProgress(job, { step: 'rebooting' });
  }

  /** After a commit: the anti-rollback floor rises, and a used rollback authorization is remembered. */
  private async raiseFloor(
    purpose: 'firmware' | 'model',
    securityVersion: number,
    grant: CheckedJob['grant'],
  ): Promise<void> {
    const trust = await this.options.trust.load();
    const next = afterCommit(
      trust,
      purpose,
      securityVersion,
      grant,
      Math.floor(this.options.clock.now() / 1000),
    );
    if (JSON.stringify(next) !== JSON.stringify(trust)) await this.options.trust.save(next);
  }

  private async rebootDevice(why: string): Promise<void> {
    this.log('reboot', { why });
    // Keep the execution version the progress reports reached, so the first report after the boot matches.
    if (this.state.phase !== 'idle') await this.options.state.save(this.state);
    this.halt();
    await this.options.reboot();
  }

  private async checkHealth(): Promise<boolean> {
    const job = this.jobOf(this.state);
    const version = job.document.firmware.manifest.version;
    const signal = this.jobAbort.signal;
    await this.reportProgress(job, {
      step: 'rebooting',
      progress: '100%',
      detail: `health check of ${version}`,
    });
    let result: HealthResult;
    try {
      result = await this.options.healthCheck({ jobId: job.jobId, slot: job.target, version, signal });
    } catch (error) {
      signal.throwIfAborted();
      result = { healthy: false, detail: `health check threw: ${(error as Error).message}` };
    }
    signal.throwIfAborted();
    if (result.healthy) {
      await this.options.slots.commit();
      await this.raiseFloor('firmware', job.securityVersion ?? 0, job.grant);
      this.log('committed', { jobId: job.jobId, slot: job.target, version });
      await this.save({
        phase: 'reporting',
        jobId: job.jobId,
        versionNumber: this.knownVersion(job.jobId),
        status: 'SUCCEEDED',
        statusDetails: details({ step: 'committed', progress: '100%', firmwareVersion: version }),
      });
      return true;
    }
    this.log('health-check-failed', { jobId: job.jobId, detail: result.detail });
    await this.save({
      phase: 'rolling-back',
      job: this.jobOf(this.state),
      detail: result.detail,
      report: true,
    });
    await this.options.slots.rollback();
    await this.rebootDevice('back to the committed slot after a failed health check');
    return false;
  }

  private async conclude(
    outcome: 'SUCCEEDED' | 'FAILED' | 'ABANDONED',
    detail: string,
    boot: BootState,
  ): Promise<void> {
    const job = this.jobOf(this.state);
    if (boot.pending !== undefined) await this.options.slots.rollback();
    if (outcome === 'ABANDONED') {
      this.log('abandoned', { jobId: job.jobId, detail });
      await this.save({ phase: 'idle' });
      return;
    }
    // A power cut between the commit and the floor's rise ends here: raising it again is harmless.
    if (outcome === 'SUCCEEDED') await this.raiseFloor('firmware', job.securityVersion ?? 0, job.grant);
    const version = job.document.firmware.manifest.version;
    const statusDetails =
      outcome === 'SUCCEEDED'
        ? details({ step: 'committed', progress: '100%', firmwareVersion: version })
        : details({ step: 'rebooting', reason: 'health-check', firmwareVersion: version, detail });
    await this.save({
      phase: 'reporting',
      jobId: job.jobId,
      versionNumber: job.versionNumber,
      status: outcome,
      statusDetails,
    });
  }

  private async failBeforeReboot(error: UpdateFailedError): Promise<void> {
    const job = this.jobOf(this.state);
    this.log('update-failed', { jobId: job.jobId, reason: error.reason, detail: error.detail });
    const boot = await this.options.slots.bootState();
    if (boot.pending?.slot === job.target) await this.options.slots.rollback();
    await this.options.slots.discard(job.target);
    await this.save({
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
  private async abandon(error: JobEndedError): Promise<void> {
    this.log('job-ended', { jobId: error.jobId, status: error.status, phase: this.state.phase });
    if (this.state.phase === 'idle' || this.state.phase === 'reporting') {
      await this.save({ phase: 'idle' });
      return;
    }
    const job = this.state.job;
    const boot = await this.options.slots.bootState();
    if (boot.committed === job.target) {
      await this.save({ phase: 'idle' });
      return;
    }
    if (boot.booted === job.target) {
      // On the trial boot of an image nobody wants any more: go back to the one that was committed.
      await this.save({
        phase: 'rolling-back',
        job,
        detail: `job ${error.status} during the trial boot`,
        report: false,
      });
      await this.options.slots.rollback();
      await this.rebootDevice('back to the committed slot: the job ended during the trial boot');
      return;
    }
    if (boot.pending !== undefined) await this.options.slots.rollback();
    await this.options.slots.discard(job.target);
    await this.save({ phase: 'idle' });
  }

  private async report(): Promise<void> {
    const state = this.state;
    if (state.phase !== 'reporting') return;
    try {
      await this.updateExecution(state.jobId, state.status, state.statusDetails);
      this.log('reported', { jobId: state.jobId, status: state.status, ...state.statusDetails });
    } catch (error) {
      // Already terminal: our report got through before a restart, or the job ended elsewhere.
      if (!(error instanceof JobEndedError)) throw error;
      this.log('report-superseded', { jobId: state.jobId, status: error.status });
    }
    this.progress = {};
    await this.save({ phase: 'idle' });
  }

  /** Best effort: a progress report that cannot be sent does not hold the update up; a job that ended does. */
  private async reportProgress(
    job: JobRef,
    fields: Readonly<Record<string, string | undefined>>,
  ): Promise<void> {
    await this.reportJobProgress(job.jobId, {
      ...fields,
      firmwareVersion: job.document.firmware.manifest.version,
    });
  }

  private async reportJobProgress(
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
  private async updateExecution(
    jobId: string,
    status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'REJECTED',
    statusDetails: StatusDetails,
  ): Promise<void> {
    let version = this.knownVersion(jobId);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const result = await this.client.update(jobId, {
          status,
          statusDetails,
          ...(version >= 1 ? { expectedVersion: version } : {}),
        });
        this.rememberVersion(jobId, result.versionNumber ?? version + 1);
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

  private knownVersion(jobId: string): number {
    if (this.modelJob?.jobId === jobId) return this.modelJob.versionNumber;
    const s = this.state;
    if (s.phase === 'reporting') return s.jobId === jobId ? s.versionNumber : 0;
    return s.phase !== 'idle' && s.job.jobId === jobId ? s.job.versionNumber : 0;
  }

  private rememberVersion(jobId: string, versionNumber: number): void {
    if (this.modelJob?.jobId === jobId) this.modelJob.versionNumber = versionNumber;
    const s = this.state;
    if (s.phase === 'reporting' && s.jobId === jobId) this.state = { ...s, versionNumber };
    else if (s.phase !== 'idle' && s.phase !== 'reporting' && s.job.jobId === jobId) {
      this.state = { ...s, job: { ...s.job, versionNumber } };
    }
  }

  /** DescribeJobExecution, turning a terminal or missing execution into {@link JobEndedError}. */
  private async describeLive(jobId: string, includeJobDocument: boolean): Promise<JobExecutionMessage> {
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

  /**
   * notify-next names the next pending execution. While a job runs, ours is IN_PROGRESS and so comes
   * first; if notify-next names another one (or none), ours may have ended elsewhere: check, and stop
   * working on it if so.
   */
  private onNotifyNext(execution: JobExecutionMessage | undefined): void {
    const current = this.currentJobId();
    if (current !== undefined && this.state.phase !== 'reporting' && execution?.jobId !== current) {
      const abort = this.jobAbort;
      this.describeLive(current, false).then(
        () => undefined,
        (error) => {
          if (error instanceof JobEndedError && this.currentJobId() === current) abort.abort(error);
        },
      );
    }
    this.kick();
  }
}
