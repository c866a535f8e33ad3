import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { OtaAgent, type OtaAgentOptions } from '../../../../edge/src/ota/agent.ts';
import { MemorySlotStore } from '../../../../edge/src/ota/memory-slot-store.ts';
import type {
  BootState,
  Clock,
  Downloader,
  DownloadRequest,
  DownloadResponse,
  HealthResult,
  JobsTransport,
  SlotStore,
} from '../../../../edge/src/ota/ports.ts';
import { type AgentStateStore, MemoryAgentStateStore } from '../../../../edge/src/ota/state-store.ts';
import {
  type DeviceTrust,
  keySetFromKeys,
  MemoryTrustStore,
  provisionedTrust,
} from '../../../../edge/src/ota/trust-store.ts';
import {
  type FirmwareJobDocument,
  type JobExecutionStatus,
  type ModelJobDocument,
  type StatusDetails,
  TERMINAL_STATUSES,
  updateExecutionRequest,
} from '../../../../lib/protocol/jobs.ts';
import {
  type DsseEnvelope,
  envelopeOf,
  type KeyPurpose,
  type Manifest,
  manifestPayload,
  preAuthEncoding,
  STATEMENT_PAYLOAD_TYPE,
  type UpdateManifest,
} from '../../../../lib/protocol/manifest.ts';
import { parseJobsTopic } from '../../../../lib/protocol/topics.ts';

/** Fakes for the OTA agent's ports, and a device harness that can lose power between any two steps. */

export const THING = 'dev-1';
export const BASE_TIME = Date.UTC(2030, 0, 1);
export const IMAGE_URL = 'https://firmware.example/image.bin';
export const MODEL_URL = 'https://models.example/anomaly-detector.onnx';

/** A clock whose sleeps end on the next macrotask, moving time forward by what they slept. */
export class FakeClock implements Clock {
  constructor(public nowMs = BASE_TIME) {}

  now(): number {
    return this.nowMs;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setImmediate(() => {
        signal?.removeEventListener('abort', onAbort);
        this.nowMs += ms;
        resolve();
      });
      const onAbort = () => {
        clearImmediate(timer);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** MQTT topic filter matching (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** A transport wired to a {@link FakeJobsService}; deliveries are asynchronous, as over a broker. */
export class FakeTransport implements JobsTransport {
  connected = true;
  readonly filters = new Set<string>();
  private readonly messageHandlers = new Set<(topic: string, payload: Uint8Array) => void>();
  private readonly connectHandlers = new Set<() => void>();

  constructor(private readonly service: FakeJobsService) {
    service.attach(this);
  }

  async subscribe(filters: readonly string[]): Promise<void> {
    for (const filter of filters) this.filters.add(filter);
  }

  async publish(topic: string, payload: string): Promise<void> {
    if (!this.connected) throw new Error('not connected');
    this.service.handle(topic, payload);
  }

  onMessage(handler: (topic: string, payload: Uint8Array) => void): () => void {
    this.messageHandlers.add(handler);
    return () => this.messageHandlers.delete(handler);
  }

  onConnect(handler: () => void): () => void {
    this.connectHandlers.add(handler);
    return () => this.connectHandlers.delete(handler);
  }

  deliver(topic: string, body: unknown): void {
    if (!this.connected || ![...this.filters].some((f) => topicMatches(f, topic))) return;
    const payload = Buffer.from(JSON.stringify(body));
    queueMicrotask(() => {
      for (const handler of this.messageHandlers) handler(topic, payload);
    });
  }

  disconnect(): void {
    this.connected = false;
  }

  reconnect(): void {
    this.connected = true;
    for (const handler of this.connectHandlers) handler();
  }

  detach(): void {
    this.connected = false;
    this.service.detach(this);
  }
}

export interface FakeExecution {
  readonly jobId: string;
  status: JobExecutionStatus;
  statusDetails?: StatusDetails;
  versionNumber: number;
  readonly executionNumber: number;
  readonly document: () => unknown;
}

/** One request the service saw, for assertions on the exchange. */
export interface SeenRequest {
  readonly topic: string;
  readonly operation: string;
  readonly jobId?: string;
  readonly body: Record<string, unknown>;
  readonly response: 'accepted' | 'rejected';
  readonly code?: string;
}

/**
 * A Jobs service for one thing, with AWS IoT Jobs' device-side semantics: start-next returns the
 * IN_PROGRESS execution first, then the oldest QUEUED (moving it to IN_PROGRESS); updates check
 * `expectedVersion` (VersionMismatch with the execution state); a terminal execution refuses updates
 * (TerminalStateReached); notify-next follows every change of the next pending execution.
 */
export class FakeJobsService {
  readonly executions = new Map<string, FakeExecution>();
  readonly seen: SeenRequest[] = [];
  private readonly transports = new Set<{ deliver(topic: string, body: unknown): void }>();
  /** Called after every accepted update (to change the execution behind the device's back). */
  afterUpdate?: (jobId: string, status: string, details: StatusDetails) => void;
  /** Set to drop every request without answering (a broker that lost them). */
  silent = false;
  /** Codes to answer the next updates with, one per update, before applying them normally. */
  readonly forcedUpdateRejections: string[] = [];

  constructor(readonly thingName = THING) {}

  attach(transport: { deliver(topic: string, body: unknown): void }): void {
    this.transports.add(transport);
  }

  detach(transport: { deliver(topic: string, body: unknown): void }): void {
    this.transports.delete(transport);
  }

  addJob(jobId: string, document: unknown | (() => unknown)): FakeExecution {
    const execution: FakeExecution = {
      jobId,
      status: 'QUEUED',
      versionNumber: 1,
      executionNumber: 1,
      document: typeof document === 'function' ? (document as () => unknown) : () => document,
    };
    this.executions.set(jobId, execution);
    this.notifyNext();
    return execution;
  }

  /** Cancels an execution, as an operator would (`force` for IN_PROGRESS ones). */
  cancel(jobId: string): void {
    const execution = this.must(jobId);
    execution.status = 'CANCELED';
    execution.versionNumber += 1;
    this.notifyNext();
  }

  /** Someone else changed the execution: its version moves on. */
  bumpVersion(jobId: string): void {
    this.must(jobId).versionNumber += 1;
  }

  statusOf(jobId: string): JobExecutionStatus {
    return this.must(jobId).status;
  }

  detailsOf(jobId: string): StatusDetails {
    return this.must(jobId).statusDetails ?? {};
  }

  /** The statusDetails.step of every accepted update of `jobId`, in order, with the status. */
  updatesOf(jobId: string): Array<{ status: string; details: Record<string, unknown> }> {
    return this.seen
      .filter((r) => r.operation === 'update' && r.jobId === jobId && r.response === 'accepted')
      .map((r) => ({
        status: String(r.body.status),
        details: (r.body.statusDetails ?? {}) as Record<string, unknown>,
      }));
  }

  private must(jobId: string): FakeExecution {
    const execution = this.executions.get(jobId);
    if (execution === undefined) throw new Error(`no job ${jobId}`);
    return execution;
  }

  private next(): FakeExecution | undefined {
    const all = [...this.executions.values()];
    return all.find((e) => e.status === 'IN_PROGRESS') ?? all.find((e) => e.status === 'QUEUED');
  }

  private view(execution: FakeExecution, includeDocument: boolean): Record<string, unknown> {
    return {
      jobId: execution.jobId,
      thingName: this.thingName,
      status: execution.status,
      ...(execution.statusDetails ? { statusDetails: execution.statusDetails } : {}),
      queuedAt: 1_900_000_000,
      lastUpdatedAt: 1_900_000_000,
      versionNumber: execution.versionNumber,
      executionNumber: execution.executionNumber,
      ...(includeDocument ? { jobDocument: execution.document() } : {}),
    };
  }

  private state(execution: FakeExecution): Record<string, unknown> {
    return {
      status: execution.status,
      ...(execution.statusDetails ? { statusDetails: execution.statusDetails } : {}),
      versionNumber: execution.versionNumber,
    };
  }

  notifyNext(): void {
    const next = this.next();
    this.publish(`fleet/things/${this.thingName}/jobs/notify-next`, {
      timestamp: 1_900_000_000,
      ...(next ? { execution: this.view(next, true) } : {}),
    });
  }

  private publish(topic: string, body: unknown): void {
    for (const transport of this.transports) transport.deliver(topic, body);
  }

  handle(topic: string, payload: string) {
    if (this.silent) return;
    const parsed = parseJobsTopic(topic);
    if (parsed.suffix !== undefined) return;
    const body = JSON.parse(payload) as Record<string, unknown>;
    const clientToken = body.clientToken;
    const jobId = 'jobId' in parsed ? parsed.jobId : undefined;
    const record = (response: 'accepted' | 'rejected', code?: string) =>
      this.seen.push({
        topic,
        operation: parsed.operation,
        ...(jobId === undefined ? {} : { jobId }),
        body,
        response,
        ...(code === undefined ? {} : { code }),
      });
    const accept = (response: Record<string, unknown>) => {
      record('accepted');
      this.publish(`${topic}/accepted`, { clientToken, timestamp: 1_900_000_000, ...response });
    };
    const reject = (code: string, execution?: FakeExecution) => {
      record('rejected', code);
      this.publish(`${topic}/rejected`, {
        clientToken,
        timestamp: 1_900_000_000,
        code,
        message: code,
        ...(execution ? { executionState: this.state(execution) } : {}),
      });
    };

    if (parsed.operation === 'start-next') {
      const next = this.next();
      if (next === undefined) return accept({});
      if (next.status === 'QUEUED') {
        next.status = 'IN_PROGRESS';
        next.versionNumber += 1;
      }
      return accept({ execution: this.view(next, true) });
    }
    if (parsed.operation === 'get' && jobId !== undefined) {
      const execution = jobId === '$next' ? this.next() : this.executions.get(jobId);
      if (execution === undefined) return reject('ResourceNotFound');
      return accept({ execution: this.view(execution, body.includeJobDocument !== false) });
    }
    if (parsed.operation === 'update' && jobId !== undefined) {
      const execution = this.executions.get(jobId);
      if (execution === undefined) return reject('ResourceNotFound');
      const request = updateExecutionRequest.safeParse(body);
      if (!request.success) return reject('InvalidRequest');
      const forced = this.forcedUpdateRejections.shift();
      if (forced !== undefined) return reject(forced, execution);
      // As AWS documents it (and fleetkit's service does): an execution the service ended refuses with
      // TerminalStateReached, which carries no executionState; one the device finished, with
      // InvalidStateTransition (SUCCEEDED → IN_PROGRESS), which does.
      if (execution.status === 'CANCELED' || execution.status === 'REMOVED')
        return reject('TerminalStateReached');
      if (TERMINAL_STATUSES.includes(execution.status)) return reject('InvalidStateTransition', execution);
      if (
        request.data.expectedVersion !== undefined &&
        request.data.expectedVersion !== execution.versionNumber
      ) {
        return reject('VersionMismatch', execution);
      }
      execution.status = request.data.status;
      if (request.data.statusDetails !== undefined) execution.statusDetails = request.data.statusDetails;
      execution.versionNumber += 1;
      accept(request.data.includeJobExecutionState ? { executionState: this.state(execution) } : {});
      if (TERMINAL_STATUSES.includes(execution.status)) this.notifyNext();
      this.afterUpdate?.(jobId, execution.status, request.data.statusDetails ?? {});
      return;
    }
    reject('InvalidTopic');
  }
}

/** How the fake HTTP server misbehaves on each request, in order (the last entry repeats). */
export interface ServePlan {
  /** Leave out the total size (no Content-Range total). */
  readonly omitTotal?: boolean;
  /** Cut the connection after this many body bytes. */
  readonly cutAfter?: number;
  /** Answer with this status and no body. */
  readonly status?: number;
  /** Ignore Range and send everything with 200. */
  readonly ignoreRange?: boolean;
}

/** Serves one image from memory with Range support; URLs not in `validUrls` get 403 (an expired presigned URL). */
export class FakeDownloader implements Downloader {
  readonly requests: DownloadRequest[] = [];
  readonly validUrls = new Set<string>();
  plans: ServePlan[] = [];
  chunkSize = 1024;
  /** Other images, by URL (the default image answers every other valid URL). */
  readonly routes = new Map<string, Buffer>();

  constructor(public image: Buffer) {}

  async get(request: DownloadRequest): Promise<DownloadResponse> {
    this.requests.push(request);
    const plan = this.plans.length > 1 ? (this.plans.shift() ?? {}) : (this.plans[0] ?? {});
    if (this.validUrls.size > 0 && !this.validUrls.has(request.url)) {
      return { status: 403, start: 0, body: emptyBody() };
    }
    if (plan.status !== undefined) return { status: plan.status, start: 0, body: emptyBody() };
    const image = this.routes.get(request.url) ?? this.image;
    const start = plan.ignoreRange ? 0 : request.offset;
    if (start > image.length) return { status: 416, start: 0, body: emptyBody() };
    const chunkSize = this.chunkSize;
    async function* body(): AsyncIterable<Uint8Array> {
      let sent = 0;
      for (let offset = start; offset < image.length; offset += chunkSize) {
        const chunk = image.subarray(offset, Math.min(offset + chunkSize, image.length));
        if (plan.cutAfter !== undefined && sent + chunk.length > plan.cutAfter) {
          if (plan.cutAfter > sent) yield chunk.subarray(0, plan.cutAfter - sent);
          throw new Error('socket hang up');
        }
        sent += chunk.length;
        yield chunk;
      }
    }
    const total = plan.omitTotal ? {} : { totalSize: image.length };
    return plan.ignoreRange
      ? { status: 200, start: 0, ...total, body: body() }
      : { status: 206, start, ...total, body: body() };
  }
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}

/** A signing key and its trust entry. */
export interface TestKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
  readonly publicKeyPem: string;
}

export function makeKey(keyId = 'fleetkit-test-1'): TestKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { keyId, privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A deterministic test image of `size` bytes. */
export function makeImage(size: number, seed = 'image'): Buffer {
  const out = Buffer.alloc(size);
  for (let offset = 0, counter = 0; offset < size; counter++) {
    offset += createHash('sha256').update(`${seed}:${counter}`).digest().copy(out, offset);
  }
  return out;
}

/** A manifest signed with a test key, as the service signs one (DSSE over its RFC 8785 bytes). */
export function signManifest<M extends Manifest>(
  manifest: M,
  key: TestKey,
): { manifest: M; envelope: DsseEnvelope } {
  const payload = manifestPayload(manifest);
  const sig = sign('sha256', preAuthEncoding(STATEMENT_PAYLOAD_TYPE, payload), key.privateKey);
  return { manifest, envelope: envelopeOf(manifest, { keyid: key.keyId, sig }) };
}

/** Manifest fields a test sets, and where to fetch. */
export type ArtifactOverrides = Partial<UpdateManifest> & {
  readonly rolloutId?: string;
  readonly url?: string;
  readonly urlExpiresAt?: number;
};

/** The device type of the test device: manifests are built for it unless told otherwise. */
export const DEVICE_TYPE = 'tracker';

function signedArtifactOf(
  file: Buffer,
  key: TestKey,
  defaults: Pick<UpdateManifest, 'purpose' | 'version'>,
  url: string,
  overrides: ArtifactOverrides,
) {
  const { rolloutId: _r, url: givenUrl, urlExpiresAt, ...fields } = overrides;
  const issuedAt = Math.floor(BASE_TIME / 1000) - 60;
  const manifest: UpdateManifest = {
    ...defaults,
    sha256: createHash('sha256').update(file).digest('hex'),
    size: file.length,
    deviceTypes: [DEVICE_TYPE],
    securityVersion: 0,
    issuedAt,
    expiresAt: issuedAt + 30 * 86_400,
    ...fields,
  };
  return {
    ...signManifest(manifest, key),
    url: givenUrl ?? url,
    urlExpiresAt: urlExpiresAt ?? Math.floor(BASE_TIME / 1000) + 3600,
  };
}

/** The firmware job document for `image`, with a release manifest signed by `key`. */
export function firmwareDocument(
  image: Buffer,
  key: TestKey,
  overrides: ArtifactOverrides = {},
): FirmwareJobDocument {
  return {
    operation: 'firmware-update',
    rolloutId: overrides.rolloutId ?? 'rollout-1',
    firmware: signedArtifactOf(image, key, { purpose: 'firmware', version: '2.0.0' }, IMAGE_URL, overrides),
  };
}

/** The model job document for `file`, with a model manifest signed by `key`. */
export function modelDocument(
  file: Buffer,
  key: TestKey,
  overrides: ArtifactOverrides = {},
): ModelJobDocument {
  return {
    operation: 'model-update',
    rolloutId: overrides.rolloutId ?? 'model-rollout-1',
    model: signedArtifactOf(file, key, { purpose: 'model', version: '1.1.0' }, MODEL_URL, overrides),
  };
}

/** The trust of a device provisioned with `keys`, each for every purpose unless told. */
export function trustOf(keys: readonly TestKey[], purposes?: readonly KeyPurpose[]): DeviceTrust {
  return provisionedTrust(
    keySetFromKeys(Object.fromEntries(keys.map((k) => [k.keyId, k.publicKeyPem])), purposes),
  );
}

/** Polls `condition` (real time) until true; throws with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** What happened at each durable step, in order: the points where power can be lost. */
export type StepLog = string[];

export interface DeviceHarnessOptions {
  readonly service: FakeJobsService;
  readonly downloader: Downloader;
  readonly key: TestKey;
  readonly clock?: FakeClock;
  readonly health?: (device: DeviceHarness, signal: AbortSignal) => HealthResult | Promise<HealthResult>;
  readonly install?: OtaAgentOptions['install'];
  /** Lose power just before the durable step with this index (0-based), once. */
  readonly cutAt?: number;
  readonly initialImage?: Buffer;
  /** What the device trusts. @default `key`, for every purpose */
  readonly trust?: DeviceTrust;
  readonly extra?: Partial<OtaAgentOptions>;
}

/**
 * One simulated device over memory "disks": slots and agent state outlive agents. Reboots (asked by
 * the agent) and power cuts both start a fresh agent after the bootloader ran. Every durable step
 * (state save, slot change, slot write, publish, reboot) is logged; with `cutAt` the device loses
 * power right before that step: the step does not happen, unsynced slot bytes are lost, the old agent
 * never runs again.
 */
export class DeviceHarness {
  readonly slots: MemorySlotStore;
  readonly stateStore = new MemoryAgentStateStore();
  readonly trustStore: MemoryTrustStore;
  readonly clock: FakeClock;
  readonly steps: StepLog = [];
  readonly events: Array<{ event: string; fields?: Readonly<Record<string, unknown>> }> = [];
  agent: OtaAgent | undefined;
  transport: FakeTransport | undefined;
  boots = 0;
  powerCuts = 0;
  private cutAt: number | undefined;
  private generation = 0;
  private restarting: Promise<void> | undefined;

  constructor(private readonly options: DeviceHarnessOptions) {
    this.clock = options.clock ?? new FakeClock();
    this.trustStore = new MemoryTrustStore(options.trust ?? trustOf([options.key]));
    this.cutAt = options.cutAt;
    this.slots = new MemorySlotStore({
      initialVersion: '1.0.0',
      initialImage: options.initialImage ?? Buffer.from('factory image 1.0.0'),
    });
  }

  /** Power on: bootloader, then a new agent. */
  async powerOn(): Promise<BootState> {
    this.generation += 1;
    this.boots += 1;
    const boot = await this.slots.boot();
    const generation = this.generation;
    this.transport = new FakeTransport(this.options.service);
    this.agent = new OtaAgent({
      thingName: this.options.service.thingName,
      transport: this.guardTransport(this.transport, generation),
      downloader: this.options.downloader,
      slots: this.guardSlots(generation),
      state: this.guardState(generation),
      clock: this.clock,
      deviceType: DEVICE_TYPE,
      trust: this.trustStore,
      healthCheck: async ({ signal }) =>
        this.options.health ? this.options.health(this, signal) : { healthy: true },
      reboot: () => {
        if (this.step(generation, 'reboot')) this.restart();
      },
      log: (event, fields) => this.events.push({ event, ...(fields ? { fields } : {}) }),
      retryBackoffMs: 10,
      ...(this.options.install ? { install: this.options.install } : {}),
      ...this.options.extra,
    });
    await this.agent.start();
    return boot;
  }

  /** Resolves once no restart is in progress and the agent has nothing left to do. */
  async settled(): Promise<void> {
    for (;;) {
      if (this.restarting) await this.restarting;
      await this.agent?.settled();
      if (this.restarting === undefined) return;
    }
  }

  /** Waits until `jobId` is terminal at the service and the device has nothing left to do. */
  async finish(jobId: string): Promise<void> {
    await until(() => TERMINAL_STATUSES.includes(this.options.service.statusOf(jobId)), `${jobId} to end`);
    await this.settled();
  }

  private restart(): void {
    this.transport?.detach();
    this.restarting = Promise.resolve()
      .then(() => this.powerOn())
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.restarting = undefined;
      });
  }

  /** The running firmware dies (watchdog reset): the device restarts without any step of its own. */
  crash(): void {
    this.generation += 1;
    this.transport?.detach();
    this.restart();
  }

  /** Counts a durable step; at the cut point, the power goes: nothing of this generation runs again. */
  private step(generation: number, name: string): boolean {
    if (generation !== this.generation) return false;
    const index = this.steps.length;
    this.steps.push(name);
    if (this.cutAt !== undefined && index === this.cutAt) {
      this.cutAt = undefined;
      this.powerCuts += 1;
      this.generation += 1;
      this.slots.powerCut();
      this.transport?.detach();
      this.restart();
      return false;
    }
    return true;
  }

  private never<T>(): Promise<T> {
    return new Promise<T>(() => undefined);
  }

  private guardTransport(transport: FakeTransport, generation: number): JobsTransport {
    return {
      subscribe: (filters) => transport.subscribe(filters),
      publish: (topic, payload) => {
        const operation = topic.split('/').slice(4).join('/');
        const status = (JSON.parse(payload) as { status?: string }).status;
        return this.step(generation, `publish ${operation}${status ? ` ${status}` : ''}`)
          ? transport.publish(topic, payload)
          : this.never();
      },
      onMessage: (handler) => transport.onMessage(handler),
      onConnect: (handler) => transport.onConnect(handler),
    };
  }

  private guardState(generation: number): AgentStateStore {
    return {
      load: () => this.stateStore.load(),
      save: (state) =>
        this.step(generation, `save ${state.phase}`) ? this.stateStore.save(state) : this.never(),
    };
  }

  private guardSlots(generation: number): SlotStore {
    const slots = this.slots;
    const alive = (name: string) => this.step(generation, name);
    return {
      bootState: () => (generation === this.generation ? slots.bootState() : this.never()),
      boot: () => slots.boot(),
      size: (slot) => (generation === this.generation ? slots.size(slot) : this.never()),
      read: (slot) => slots.read(slot),
      discard: (slot) => (alive(`discard ${slot}`) ? slots.discard(slot) : this.never()),
      markPending: (slot, version) =>
        alive(`mark-pending ${slot}`) ? slots.markPending(slot, version) : this.never(),
      commit: () => (alive('commit') ? slots.commit() : this.never()),
      rollback: () => (alive('rollback') ? slots.rollback() : this.never()),
      openForWrite: async (slot, offset) => {
        if (!alive(`open ${slot}@${offset}`)) return this.never();
        const writer = await slots.openForWrite(slot, offset);
        return {
          write: (bytes) => (alive('write') ? writer.write(bytes) : this.never()),
          close: () => (alive('sync') ? writer.close() : this.never()),
        };
      },
    };
  }
}
