import { systemClock } from '../ota/clock.ts';
import type { Clock } from '../ota/ports.ts';
import type { QueuedRecord } from './disk-queue.ts';

/**
 * How batches leave the device: an MQTT client standalone, `PublishToIoTCore` over Greengrass IPC
 * in a Greengrass core. Resolves when the message was handed over at QoS 1 (PUBACK); rejects or never
 * settles when the link is down — the sender times it out.
 */
export interface UplinkTransport {
  publish(topic: string, payload: Uint8Array): Promise<void>;
}

/** What the sender drains: the disk queue's read side. */
export interface SendQueue {
  peek(): Promise<QueuedRecord | undefined>;
  ack(id: number): Promise<void>;
  whenNotEmpty(signal?: AbortSignal): Promise<void>;
}

export interface BackoffOptions {
  /** @default 1000 */
  readonly initialMs?: number;
  /** @default 300000 (5 minutes) */
  readonly maxMs?: number;
  /** @default 2 */
  readonly multiplier?: number;
}

export interface UplinkSenderOptions {
  readonly queue: SendQueue;
  readonly transport: UplinkTransport;
  /** The device's telemetry topic, `devices/{type}/{id}/telemetry`. */
  readonly topic: string;
  /** A publish not settled after this long counts as failed (it may still arrive: at least once). @default 30000 */
  readonly publishTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  /** @default systemClock */
  readonly clock?: Clock;
  /** For backoff jitter. @default Math.random */
  readonly random?: () => number;
  readonly log?: (event: string, detail: Record<string, unknown>) => void;
}

export interface UplinkSenderMetrics {
  readonly publishedRecords: number;
  readonly publishedBytes: number;
  /** Attempts that failed: the publish rejected or timed out, or the queue could not be read. */
  readonly failedPublishes: number;
  /** Failures since the last success: how long the link has been down, in attempts. */
  readonly consecutiveFailures: number;
  readonly lastError?: string;
}

/** A publish that neither resolved nor rejected in time. */
export class PublishTimeoutError extends Error {
  override readonly name = 'PublishTimeoutError';
}

/**
 * Drains the queue through the transport, one record at a time and in order: publish the head, ack it
 * on success, retry it after a backoff on failure. One in flight keeps the order without sequence
 * bookkeeping at the receiver, and a batch a minute needs no more.
 *
 * Backoff is exponential with equal jitter (half fixed, half random: AWS Architecture Blog,
 * "Exponential Backoff And Jitter"), capped, and reset by a success, so a fleet coming back after a
 * network outage does not reconnect in step.
 */
export class UplinkSender {
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private readonly backoff: Required<BackoffOptions>;
  private readonly log: (event: string, detail: Record<string, unknown>) => void;
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private counters = { publishedRecords: 0, publishedBytes: 0, failedPublishes: 0, consecutiveFailures: 0 };
  private lastError: string | undefined;

  constructor(private readonly options: UplinkSenderOptions) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.timeoutMs = options.publishTimeoutMs ?? 30_000;
    this.backoff = {
      initialMs: options.backoff?.initialMs ?? 1_000,
      maxMs: options.backoff?.maxMs ?? 300_000,
      multiplier: options.backoff?.multiplier ?? 2,
    };
    this.log = options.log ?? (() => {});
  }

  metrics(): UplinkSenderMetrics {
    return { ...this.counters, ...(this.lastError === undefined ? {} : { lastError: this.lastError }) };
  }

  /** Starts draining; a no-op when already running. */
  start(): void {
    if (this.running !== undefined) return;
    const controller = new AbortController();
    this.controller = controller;
    this.running = this.run(controller.signal);
  }

  /**
   * Stops: ends a wait or a backoff at once, abandons a publish in flight (its record stays at the head
   * and is sent again next time), and resolves when the loop has ended.
   */
  async stop(): Promise<void> {
    this.controller?.abort(new Error('uplink sender stopped'));
    await this.running;
    this.running = undefined;
    this.controller = undefined;
  }

  /** The delay before retry number `failures` (1-based). */
  backoffMs(failures: number): number {
    const { initialMs, maxMs, multiplier } = this.backoff;
    const ceiling = Math.min(maxMs, initialMs * multiplier ** (failures - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let record: QueuedRecord | undefined;
      try {
        record = await this.options.queue.peek();
        if (record === undefined) {
          await this.options.queue.whenNotEmpty(signal);
          continue;
        }
        await this.publish(record.payload, signal);
      } catch (error) {
        if (signal.aborted) return;
        this.counters.failedPublishes++;
        this.counters.consecutiveFailures++;
        this.lastError = error instanceof Error ? error.message : String(error);
        const delayMs = this.backoffMs(this.counters.consecutiveFailures);
        this.log('uplink-publish-failed', { id: record?.id, error: this.lastError, retryInMs: delayMs });
        await this.clock.sleep(delayMs, signal).catch(() => {});
        continue;
      }
      this.counters.publishedRecords++;
      this.counters.publishedBytes += record.payload.length;
      this.counters.consecutiveFailures = 0;
      try {
        await this.options.queue.ack(record.id);
      } catch (error) {
        // The record stays at the head and goes out again: a duplicate the receiver can recognise by
        // its batch id, never a loss.
        this.log('uplink-ack-failed', { id: record.id, error: String(error) });
        await this.clock.sleep(this.backoffMs(1), signal).catch(() => {});
      }
    }
  }

  /** The transport's publish, failed by a timeout or a stop, whichever comes first. */
  private async publish(payload: Uint8Array, signal: AbortSignal): Promise<void> {
    const attempt = new AbortController();
    const stop = () => attempt.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    const published = this.options.transport.publish(this.options.topic, payload);
    // Abandoned on timeout or stop: its late rejection must not surface as unhandled.
    published.catch(() => {});
    try {
      await Promise.race([
        published,
        this.clock.sleep(this.timeoutMs, attempt.signal).then(() => {
          throw new PublishTimeoutError(`publish not confirmed within ${this.timeoutMs} ms`);
        }),
      ]);
    } finally {
      signal.removeEventListener('abort', stop);
      attempt.abort();
    }
  }
}
