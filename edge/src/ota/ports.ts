/**
 * The ports the OTA agent talks through. Each is small so a device can implement it over whatever it
 * has (an MQTT client, Greengrass IPC, a RAUC/Mender bootloader environment, a flash driver), and a
 * test can replace it with a fake. Only a composition root (`main.ts`, the simulated device) picks
 * the real ones.
 */

/** Publish/subscribe on the device's own `fleet/things/{thing}/jobs/...` topics. */
export interface JobsTransport {
  /** Subscribes to MQTT topic filters; rejects if the broker refuses one of them. */
  subscribe(filters: readonly string[]): Promise<void>;
  /** Publishes one request (QoS 1); rejects if it could not be handed to the broker. */
  publish(topic: string, payload: string): Promise<void>;
  /** Calls `handler` for every message received; returns a function that removes it. */
  onMessage(handler: (topic: string, payload: Uint8Array) => void): () => void;
  /** Calls `handler` after every (re)connection; returns a function that removes it. */
  onConnect(handler: () => void): () => void;
}

/** One ranged HTTP GET. */
export interface DownloadRequest {
  readonly url: string;
  /** First byte wanted: sent as `Range: bytes={offset}-`. */
  readonly offset: number;
  readonly signal?: AbortSignal;
}

/** The answer to a {@link DownloadRequest}, before its body has been read. */
export interface DownloadResponse {
  /** HTTP status: 206 for a ranged answer, 200 when the server ignored `Range`, 403 when a presigned URL expired. */
  readonly status: number;
  /** Offset of the first body byte: from `Content-Range` on 206, 0 otherwise. */
  readonly start: number;
  /** Size of the whole object, when the server said (`Content-Range: bytes a-b/{total}`, or `Content-Length` on 200). */
  readonly totalSize?: number;
  /** The body; iterating it throws if the connection drops. Not read for statuses other than 200 and 206. */
  readonly body: AsyncIterable<Uint8Array>;
}

/** HTTP GET with `Range`, for resumable downloads. */
export interface Downloader {
  get(request: DownloadRequest): Promise<DownloadResponse>;
}

/** One file a download appends to and resumes from: a firmware slot, or a model's staging file. */
export interface DownloadTarget {
  /** Bytes already held (where a download resumes). */
  size(): Promise<number>;
  /** Truncates to `offset` bytes and returns a writer appending from there. */
  openForWrite(offset: number): Promise<SlotWriter>;
  /** Empties the file (what it holds belongs to another image). */
  discard(): Promise<void>;
}

/** The two firmware slots of an A/B device. */
export type SlotName = 'a' | 'b';

/** The other slot. */
export function otherSlot(slot: SlotName): SlotName {
  return slot === 'a' ? 'b' : 'a';
}

/**
 * What the bootloader knows, in the spirit of RAUC's grub environment (`ORDER`, `A_OK`, `A_TRY`) or
 * Mender's `upgrade_available` + `bootcount`: a committed (known-good) slot, and at most one slot
 * marked to be tried on the next boot.
 */
export interface BootState {
  /** The slot running now (chosen by the bootloader at the last boot). */
  readonly booted: SlotName;
  /** The known-good slot: what boots whenever no try is pending. */
  readonly committed: SlotName;
  /** A slot to try: `triesLeft` 1 before its trial boot, 0 once the try is spent (and not committed). */
  readonly pending?: { readonly slot: SlotName; readonly triesLeft: number };
  /** Firmware version installed in each slot, as recorded when it was installed. */
  readonly versions: Readonly<Partial<Record<SlotName, string>>>;
}

/** Appends to one slot; {@link SlotWriter.close} makes what was written durable (fsync). */
export interface SlotWriter {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/**
 * A/B firmware slots and the bootloader state that chooses between them. Implementations refuse to
 * write the booted or the committed slot: the known-good image is never touched by an update.
 */
export interface SlotStore {
  /** The current boot state. */
  bootState(): Promise<BootState>;
  /**
   * The bootloader: run once per power-on, before the agent. Boots the pending slot if it has a try
   * left (spending it, durably, before booting), otherwise the committed slot.
   */
  boot(): Promise<BootState>;
  /** Bytes already in `slot` (where a download resumes). */
  size(slot: SlotName): Promise<number>;
  /** Truncates `slot` to `offset` bytes and returns a writer appending from there. */
  openForWrite(slot: SlotName, offset: number): Promise<SlotWriter>;
  /** The contents of `slot`, in chunks. */
  read(slot: SlotName): AsyncIterable<Uint8Array>;
  /** Empties `slot` (a failed or abandoned download). */
  discard(slot: SlotName): Promise<void>;
  /** Marks `slot` to be tried once on the next boot, recording the version it holds. */
  markPending(slot: SlotName, version: string): Promise<void>;
  /** Makes the booted slot the committed one and clears the pending mark: the update is kept. */
  commit(): Promise<void>;
  /** Clears the pending mark: the next boot starts the committed slot again. */
  rollback(): Promise<void>;
}

/** Time, injected so backoff, timeouts and URL expiry are testable. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason if `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The result of the post-reboot health check. */
export type HealthResult = { readonly healthy: true } | { readonly healthy: false; readonly detail: string };

/** What the health check and the install hook are told about the update. */
export interface UpdateContext {
  readonly jobId: string;
  readonly slot: SlotName;
  readonly version: string;
  readonly signal: AbortSignal;
}

/**
 * Runs on the trial boot of a new slot, in the new firmware: e.g. MQTT connected, sensors readable,
 * no crash within N seconds. Healthy → the slot is committed; unhealthy → the device goes back.
 */
export type HealthCheck = (context: UpdateContext) => Promise<HealthResult>;

/** Optional step after verification and before the slot is marked pending (a post-install script); throws to fail the update. */
export type InstallHook = (context: UpdateContext) => Promise<void>;

/** A model file as the agent hands it over: verified against the job document, not yet serving. */
export interface DeliveredModel {
  readonly version: string;
  readonly path: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** Where a model version is downloaded to: resumable, and never served from. */
export interface ModelStagingFile extends DownloadTarget {
  readonly path: string;
  read(): AsyncIterable<Uint8Array>;
}

/**
 * Turns a downloaded, verified model file into the serving model (e.g. the anomaly detector's swap),
 * for `model-update` jobs. The agent downloads and verifies; the installer only installs.
 */
export interface ModelInstaller {
  /** The version serving now: a job for it succeeds without a download. */
  servingVersion(): string | undefined;
  /** The staging file for `version`; what it holds from an earlier attempt is resumed. */
  staging(version: string): Promise<ModelStagingFile>;
  /**
   * Makes `model` the serving model, or throws and keeps the serving one. A refusal is an error with a
   * string `reason` (as the detector's `ModelRejectedError` has), reported as `model-rejected: <reason>`;
   * any other error is reported as `install`.
   */
  install(model: DeliveredModel, signal: AbortSignal): Promise<void>;
}
