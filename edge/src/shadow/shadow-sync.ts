import {
  type ConfigErrorReport,
  type DeviceConfig,
  SHADOW_CONFIG_ERRORS_KEY,
  SHADOW_CONFIG_KEY,
} from '../../../lib/protocol/device-config.ts';
import type { FieldIssue } from '../../../lib/protocol/errors.ts';
import type { Clock } from '../ota/ports.ts';
import type { DeviceTransport } from '../transport/ports.ts';
import { planDesired, refusalStands } from './desired.ts';
import { ShadowRejectedError } from './errors.ts';
import { isJsonObject, type JsonObject, type JsonValue, mergePatch } from './json.ts';
import type {
  ApplyConfig,
  DeviceStateProviders,
  ShadowCopyStore,
  ShadowLocalCopy,
  ShadowLog,
} from './ports.ts';
import { type ReportScope, reportedPatch, reportTarget } from './reported.ts';
import { ShadowClient } from './shadow-client.ts';
import type { ShadowDelta, ShadowDocuments } from './shadow-messages.ts';

export interface ShadowSyncOptions {
  readonly thingName: string;
  readonly transport: DeviceTransport;
  readonly store: ShadowCopyStore;
  /** Settings until an operator sets others, and when the local copy cannot be read. */
  readonly defaults: DeviceConfig;
  readonly apply: ApplyConfig;
  readonly providers?: DeviceStateProviders;
  readonly clock: Clock;
  readonly log?: ShadowLog;
  /** @default 10_000 */
  readonly requestTimeoutMs?: number;
  /** Delay before a failed sync is tried again, doubling up to 60 s. @default 1_000 */
  readonly retryBackoffMs?: number;
  /** Version conflicts in a row before a report goes without `version`. @default 5 */
  readonly maxConflictRetries?: number;
  /** Also report firmware, model, modem and health this often. Off by default. */
  readonly reportIntervalMs?: number;
}

/** Answers worth asking again for: throttled, or the service failed. */
const RETRYABLE_CODES = new Set([429, 500, 503]);
const MAX_BACKOFF_MS = 60_000;

/**
 * The device side of its classic shadow: settings come in as desired state, and firmware, model,
 * modem, health and the settings in effect go out as reported state.
 *
 * - On start it applies the settings of its local copy (or the defaults) before anything else, so the
 *   device works offline and after a restart without the cloud.
 * - On every connection it gets the document, reconciles the desired settings, and reports what
 *   differs from the cloud's copy of reported.
 * - A delta newer than the desired state it already considered is merged into the settings in
 *   effect; the result is validated as a whole ({@link deviceConfig}). Valid: applied, saved, reported
 *   under `config` so the delta clears. Invalid (or the apply fails): nothing changes, and the reason
 *   is reported once under `configErrors`.
 * - A version conflict (409) on a report gets the document again and retries; throttling and service
 *   errors retry with backoff.
 *
 * Every event is handled in turn, one at a time, so a report never races a delta.
 */
export class ShadowSync {
  private readonly client: ShadowClient;
  private copy: ShadowLocalCopy;
  /** Whether {@link copy} is what the store holds (loaded from it, or saved to it). */
  private copyStored = false;
  private synced = false;
  private readonly syncWaiters: Array<() => void> = [];
  /** The cloud's `state.reported`, as far as this device knows. */
  private cloudReported: JsonObject = {};
  /** The shadow's version as last seen; undefined while the thing has no shadow. */
  private knownVersion: number | undefined;
  private queue: Promise<void> = Promise.resolve();
  private syncQueued = false;
  private retryScheduled = false;
  private retryDelayMs: number;
  private conflicts = 0;
  private readonly stop$ = new AbortController();
  private readonly detach: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ShadowSyncOptions) {
    this.copy = { config: options.defaults, desiredVersion: 0 };
    this.retryDelayMs = options.retryBackoffMs ?? 1_000;
    this.client = new ShadowClient({
      thingName: options.thingName,
      transport: options.transport,
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      onDelta: (delta) => this.enqueue('delta', () => this.onDelta(delta)),
      onDocuments: (documents) => this.enqueue('documents', () => this.onDocuments(documents)),
      onBadMessage: (topic, error) => this.log('bad-message', { topic, error: String(error) }),
    });
  }

  /** The settings in effect. */
  get config(): DeviceConfig {
    return this.copy.config;
  }

  /** The last refusal of desired settings still standing, if any. */
  get configErrors(): ConfigErrorReport | undefined {
    return this.copy.refused?.report;
  }

  /**
   * Loads the local copy and applies its settings, then subscribes and syncs whenever the transport
   * is connected. Resolves once the settings are applied and the subscriptions are made (or, while
   * offline, registered for the next connection).
   */
  async start(): Promise<void> {
    this.copy = await this.loadCopy();
    try {
      await this.options.apply(this.copy.config, undefined);
      this.log('config-applied', { source: 'local-copy', config: this.copy.config });
    } catch (error) {
      this.log('apply-failed', { source: 'local-copy', error: String(error) });
    }
    await this.client.open();
    this.detach.push(
      this.options.transport.onStateChange((state) => {
        if (state === 'connected') this.requestSync();
      }),
    );
    if (this.options.transport.state === 'connected') this.requestSync();
    if (this.options.reportIntervalMs !== undefined) {
      this.timer = setInterval(() => void this.reportState(), this.options.reportIntervalMs);
      this.timer.unref?.();
    }
  }

  /**
   * Resolves once a sync (get, reconcile, report) has completed: the device and its shadow agree. A
   * fleet bringing many devices up waits for it before it lets the next ones connect.
   */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /**
   * Reports firmware, model, modem and health now, where they differ from the cloud's copy. Call it
   * when one of them changed; while offline it does nothing (the next connection reports).
   */
  reportState(): Promise<void> {
    return this.enqueue('report', () => this.report('all'));
  }

  /** Stops handling events; waits for the one under way. The local copy stays for the next start. */
  async stop(): Promise<void> {
    this.stop$.abort(new Error('shadow sync stopped'));
    clearInterval(this.timer);
    for (const detach of this.detach.splice(0)) detach();
    await this.client.close();
    await this.queue;
  }

  private log(event: string, fields: Readonly<Record<string, unknown>> = {}): void {
    this.options.log?.(event, { thing: this.options.thingName, ...fields });
  }

  private enqueue(name: string, task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => (this.stop$.signal.aborted ? undefined : task()));
    this.queue = run.catch((error: unknown) => this.log('task-failed', { task: name, error: String(error) }));
    return run;
  }

  private requestSync(): void {
    if (this.syncQueued) return;
    this.syncQueued = true;
    void this.enqueue('sync', async () => {
      this.syncQueued = false;
      await this.sync();
    });
  }

  private async loadCopy(): Promise<ShadowLocalCopy> {
    try {
      const saved = await this.options.store.load();
      if (saved !== undefined) {
        this.copyStored = true;
        return saved;
      }
    } catch (error) {
      // Saved atomically, so this is outside damage: run the defaults and let the cloud fill in.
      this.log('local-copy-unreadable', { error: String(error) });
    }
    return { config: this.options.defaults, desiredVersion: 0 };
  }

  private async save(copy: ShadowLocalCopy): Promise<void> {
    // Every connection reconciles, and usually finds nothing new: rewriting the same copy then would
    // wear the flash (and cost each of a thousand simulated devices a file replacement per connect).
    // A copy that is not on disk yet (none saved, or a damaged one) is written the first time.
    if (this.copyStored && JSON.stringify(copy) === JSON.stringify(this.copy)) return;
    await this.options.store.save(copy);
    this.copy = copy;
    this.copyStored = true;
  }

  /** Get, reconcile desired, report: what a device does on every connection. */
  private async sync(): Promise<void> {
    if (this.options.transport.state !== 'connected') return;
    let document: Awaited<ReturnType<ShadowClient['get']>>;
    try {
      document = await this.client.get();
    } catch (error) {
      this.log('get-failed', { error: String(error) });
      this.scheduleRetry();
      return;
    }
    this.retryDelayMs = this.options.retryBackoffMs ?? 1_000;
    this.knownVersion = document?.version;
    this.cloudReported = isJsonObject(document?.state?.reported)
      ? (document.state.reported as JsonObject)
      : {};
    // A get is a fresh snapshot: it is reconciled even when its version is lower than a delta seen
    // before (a shadow deleted and created again starts its versions over).
    await this.reconcile(document?.state?.desired?.[SHADOW_CONFIG_KEY], document?.version ?? 0, 'get');
    await this.report('all');
    this.synced = true;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private scheduleRetry(): void {
    if (this.retryScheduled || this.stop$.signal.aborted) return;
    this.retryScheduled = true;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(delay * 2, MAX_BACKOFF_MS);
    this.options.clock.sleep(delay, this.stop$.signal).then(
      () => {
        this.retryScheduled = false;
        if (this.options.transport.state === 'connected') this.requestSync();
      },
      () => {
        this.retryScheduled = false;
      },
    );
  }

  private async onDelta(delta: ShadowDelta): Promise<void> {
    // Messages are not ordered (AWS IoT: "clients discard anything older than the version they
    // hold"): a delta not newer than the desired state already considered would undo a later change.
    if (delta.version <= this.copy.desiredVersion) {
      this.log('stale-delta', { version: delta.version, desiredVersion: this.copy.desiredVersion });
      return;
    }
    this.knownVersion = Math.max(this.knownVersion ?? 0, delta.version);
    await this.reconcile(delta.state[SHADOW_CONFIG_KEY], delta.version, 'delta');
    await this.report('config');
  }

  private async onDocuments(documents: ShadowDocuments): Promise<void> {
    const { current } = documents;
    if (this.knownVersion !== undefined && current.version < this.knownVersion) return;
    this.knownVersion = current.version;
    const reported = current.state?.reported;
    this.cloudReported = isJsonObject(reported) ? (reported as JsonObject) : {};
    // Someone else may have written what this device owns; put the settings back if so. Provided
    // sections wait for the next report, so a documents message never triggers an endless chain.
    await this.report('config');
  }

  /**
   * Brings the settings in line with the desired ones at `version`: `patch` is `desired.config` (from
   * a get) or `delta.config` (from a delta), merged into the settings in effect.
   */
  private async reconcile(patch: unknown, version: number, source: 'get' | 'delta'): Promise<void> {
    const current = this.copy;
    const plan = planDesired(current, patch, version, source);
    if (plan.kind === 'keep') {
      await this.save(plan.copy);
      return;
    }
    if (plan.kind === 'refuse') {
      await this.refuse(plan.candidate, version, plan.reason, plan.issues);
      return;
    }
    const { candidate, next } = plan;
    try {
      await this.options.apply(next, current.config);
    } catch (error) {
      this.log('apply-failed', { version, error: String(error) });
      try {
        await this.options.apply(current.config, next);
      } catch (restoreError) {
        this.log('restore-failed', { error: String(restoreError) });
      }
      await this.refuse(
        candidate,
        version,
        `desired config could not be applied (${error instanceof Error ? error.message : String(error)}); the previous config still runs`,
        [],
      );
      return;
    }
    await this.save({ config: next, desiredVersion: version });
    this.log('config-applied', { source: 'shadow', version, config: next });
  }

  private async refuse(
    candidate: JsonValue,
    version: number,
    reason: string,
    issues: readonly FieldIssue[],
  ): Promise<void> {
    const current = this.copy;
    if (refusalStands(current.refused, candidate, reason, issues)) {
      // The same refusal is reported already: a new report (new version, new time) would tell the
      // operator nothing and only make the service send the same delta again.
      await this.save({ ...current, desiredVersion: version });
      return;
    }
    const report: ConfigErrorReport = {
      reason,
      issues: [...issues],
      desiredVersion: version,
      at: this.options.clock.now(),
    };
    this.log('config-refused', { version, reason, issues });
    await this.save({ config: current.config, desiredVersion: version, refused: { candidate, report } });
  }

  /** Sends what differs between {@link reportTarget} and the cloud's copy of reported, if anything. */
  private async report(scope: ReportScope): Promise<void> {
    if (this.options.transport.state !== 'connected') return;
    const target = await reportTarget(this.copy, this.options.providers, scope, (event, fields) =>
      this.log(event, fields),
    );
    const patch = reportedPatch(target, this.cloudReported);
    const keys = Object.keys(patch);
    if (keys.length === 0) return;
    // Settings are reported against the version they were reconciled with: if the shadow moved on
    // meanwhile, the service answers 409 and the device gets it again before reporting.
    const locked =
      (SHADOW_CONFIG_KEY in patch || SHADOW_CONFIG_ERRORS_KEY in patch) &&
      this.knownVersion !== undefined &&
      this.conflicts < (this.options.maxConflictRetries ?? 5);
    try {
      const accepted = await this.client.update(patch, locked ? this.knownVersion : undefined);
      this.conflicts = 0;
      this.knownVersion = Math.max(this.knownVersion ?? 0, accepted.version);
      this.cloudReported = (mergePatch(this.cloudReported, patch) ?? {}) as JsonObject;
      this.log('reported', { keys, version: accepted.version });
    } catch (error) {
      if (error instanceof ShadowRejectedError && error.code === 409) {
        this.conflicts++;
        this.log('version-conflict', { keys, version: this.knownVersion, conflicts: this.conflicts });
        this.requestSync();
        return;
      }
      if (error instanceof ShadowRejectedError && !RETRYABLE_CODES.has(error.code)) {
        // 400 or 413: asking again would get the same answer.
        this.log('report-rejected', { keys, code: error.code, reason: error.reason });
        return;
      }
      this.log('report-failed', { keys, error: String(error) });
      this.scheduleRetry();
    }
  }
}
