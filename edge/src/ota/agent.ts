import { type DeviceJobDocument, deviceJobDocument } from '../../../lib/protocol/jobs.ts';
import { toFieldIssues } from '../../../lib/protocol/parse.ts';
import type { AgentCore, OtaAgentOptions, OtaAgentStatus } from './agent-core.ts';
import { type AgentState, decideNext, type NextAction } from './agent-state.ts';
import { JobEndedError, JobRefusedError, UpdateFailedError } from './errors.ts';
import { details, ExecutionReporter } from './execution-reporter.ts';
import { FirmwareSteps } from './firmware-steps.ts';
import { type CheckedJob, checkJobDocument } from './job-checks.ts';
import { JobsClient } from './jobs-client.ts';
import type { JobExecutionMessage } from './jobs-messages.ts';
import { runModelJob } from './model-job.ts';
import type { BootState } from './ports.ts';

export type { OtaAgentOptions, OtaAgentStatus } from './agent-core.ts';

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
  private readonly reporter: ExecutionReporter;
  /** What the job steps in `firmware-steps.ts` and `model-job.ts` see of the agent. */
  private readonly core: AgentCore;
  private readonly firmware: FirmwareSteps;
  /** The model job running now, if any (see {@link AgentCore.trackModelJob}). */
  private modelJob: { readonly jobId: string; versionNumber: number } | undefined;

  constructor(private readonly options: OtaAgentOptions) {
    this.client = new JobsClient({
      thingName: options.thingName,
      transport: options.transport,
      clock: options.clock,
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      onBadMessage: (topic, error) => this.log('bad-message', { topic, error: String(error) }),
    });
    this.reporter = new ExecutionReporter(
      this.client,
      {
        known: (jobId) => this.knownVersion(jobId),
        remember: (jobId, versionNumber) => this.rememberVersion(jobId, versionNumber),
      },
      (event, fields) => this.log(event, fields),
    );
    this.core = {
      options,
      reporter: this.reporter,
      state: () => this.state,
      save: (next) => this.save(next),
      replace: (next) => {
        this.state = next;
      },
      jobSignal: () => this.jobAbort.signal,
      log: (event, fields) => this.log(event, fields),
      rebootDevice: (why) => this.rebootDevice(why),
      trackModelJob: (job) => {
        this.modelJob = job;
      },
      knownVersion: (jobId) => this.knownVersion(jobId),
    };
    this.firmware = new FirmwareSteps(this.core);
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
    return {
      phase: this.state.phase,
      ...(job === undefined ? {} : { jobId: job }),
      ...this.reporter.progress,
    };
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
          if (error instanceof UpdateFailedError) await this.firmware.failBeforeReboot(error);
          else if (error instanceof JobEndedError) await this.firmware.abandon(error);
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
        await this.firmware.download();
        return true;
      case 'install':
        await this.firmware.install();
        return true;
      case 'reboot':
        await this.rebootDevice('into the new slot');
        return false;
      case 'health-check':
        return this.firmware.checkHealth();
      case 'conclude':
        await this.firmware.conclude(action.outcome, action.detail, boot);
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
      await runModelJob(this.core, jobId, versionNumber, parsed.data, checked);
      return;
    }
    await this.firmware.begin(jobId, versionNumber, parsed.data, running, checked, boot);
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

  private async rebootDevice(why: string): Promise<void> {
    this.log('reboot', { why });
    // Keep the execution version the progress reports reached, so the first report after the boot matches.
    if (this.state.phase !== 'idle') await this.options.state.save(this.state);
    this.halt();
    await this.options.reboot();
  }

  private async report(): Promise<void> {
    const state = this.state;
    if (state.phase !== 'reporting') return;
    try {
      await this.reporter.updateExecution(state.jobId, state.status, state.statusDetails);
      this.log('reported', { jobId: state.jobId, status: state.status, ...state.statusDetails });
    } catch (error) {
      // Already terminal: our report got through before a restart, or the job ended elsewhere.
      if (!(error instanceof JobEndedError)) throw error;
      this.log('report-superseded', { jobId: state.jobId, status: error.status });
    }
    this.reporter.progress = {};
    await this.save({ phase: 'idle' });
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

  /**
   * notify-next names the next pending execution. While a job runs, ours is IN_PROGRESS and so comes
   * first; if notify-next names another one (or none), ours may have ended elsewhere: check, and stop
   * working on it if so.
   */
  private onNotifyNext(execution: JobExecutionMessage | undefined): void {
    const current = this.currentJobId();
    if (current !== undefined && this.state.phase !== 'reporting' && execution?.jobId !== current) {
      const abort = this.jobAbort;
      this.reporter.describeLive(current, false).then(
        () => undefined,
        (error) => {
          if (error instanceof JobEndedError && this.currentJobId() === current) abort.abort(error);
        },
      );
    }
    this.kick();
  }
}
