import type { AgentPhase, AgentState } from './agent-state.ts';
import type { DownloadOptions } from './download.ts';
import type { ExecutionReporter } from './execution-reporter.ts';
import type { CheckedJob } from './job-checks.ts';
import type {
  Clock,
  Downloader,
  HealthCheck,
  InstallHook,
  JobsTransport,
  ModelInstaller,
  SlotStore,
} from './ports.ts';
import type { AgentStateStore } from './state-store.ts';
import { afterCommit } from './statements.ts';
import type { TrustStore } from './trust-store.ts';

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

/**
 * What the OTA agent's job steps (`firmware-steps.ts`, `model-job.ts`) share with it: its options, its
 * state, the running job's abort signal, the execution reporter, and the reboot.
 */
export interface AgentCore {
  readonly options: OtaAgentOptions;
  readonly reporter: ExecutionReporter;
  /** The agent's state as it is now (saved, or updated in memory since). */
  state(): AgentState;
  /** Saves `next` durably, then makes it the agent's state. */
  save(next: AgentState): Promise<void>;
  /** Replaces the state in memory only (a renewed URL: the next save keeps it). */
  replace(next: AgentState): void;
  /** Aborts when the running job ends elsewhere or the agent stops. */
  jobSignal(): AbortSignal;
  log(event: string, fields?: Readonly<Record<string, unknown>>): void;
  /** Saves the state, stops the agent, and restarts the device. */
  rebootDevice(why: string): Promise<void>;
  /**
   * Marks the model job running now (`undefined` when it ends). Model jobs are not saved in the agent
   * state: a restart in the middle of one finds the execution IN_PROGRESS through start-next and runs
   * it again, resuming the staging file.
   */
  trackModelJob(job: { readonly jobId: string; versionNumber: number } | undefined): void;
  /** The execution version the agent knows for a job (0 when none). */
  knownVersion(jobId: string): number;
}

/** After a commit: the anti-rollback floor rises, and a used rollback authorization is remembered. */
export async function raiseFloor(
  core: AgentCore,
  purpose: 'firmware' | 'model',
  securityVersion: number,
  grant: CheckedJob['grant'],
): Promise<void> {
  const trust = await core.options.trust.load();
  const next = afterCommit(
    trust,
    purpose,
    securityVersion,
    grant,
    Math.floor(core.options.clock.now() / 1000),
  );
  if (JSON.stringify(next) !== JSON.stringify(trust)) await core.options.trust.save(next);
}
