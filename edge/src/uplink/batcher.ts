import { type Reading, reading as readingSchema } from '../../../lib/protocol/messages.ts';
import { toFieldIssues } from '../../../lib/protocol/parse.ts';
import {
  type EncodeUplinkOptions,
  encodeUplinkBatch,
  type MetricResolutions,
  uplinkReadingProblem,
} from '../../../lib/protocol/uplink/codec.ts';
import { systemClock } from '../ota/clock.ts';
import type { Clock } from '../ota/ports.ts';
import { QueueFullError } from './disk-queue.ts';
import { ReadingJournal } from './journal.ts';

/** Where batches go: the disk queue, or anything that numbers records the same way. */
export interface BatchQueue {
  /** The id the next append will get. */
  readonly nextId: number;
  /** Stores the payload `build` makes for the record's id; resolves with the id. */
  append(build: (id: number) => Uint8Array): Promise<number>;
}

export interface UplinkBatcherOptions {
  readonly queue: BatchQueue;
  /** A batch is closed when it holds this many readings (1…1000). @default 60 */
  readonly maxReadings?: number;
  /**
   * ...or when its first reading has waited this long. An hour, the periodic TAU of the default
   * device configuration: a PSM modem wakes for it anyway, so a batch an hour adds no radio wake-up,
   * and at a reading a minute the batch is long enough that its fixed cost (about 60 bytes) stays
   * near one byte per reading. Nothing waits in RAM alone: the journal keeps every reading of the open
   * batch, and a reading that crosses a threshold closes it at once (`add`'s `urgent`).
   * @default 3600000 (1 hour)
   */
  readonly maxAgeMs?: number;
  /** Resolutions of metrics beyond the known ones (see `KNOWN_UPLINK_METRICS`). */
  readonly resolutions?: MetricResolutions;
  /** @default 'auto' */
  readonly compression?: EncodeUplinkOptions['compression'];
  /** @default systemClock */
  readonly clock?: Clock;
  /**
   * File keeping the open batch's readings, so a crash before the batch is queued loses none; without
   * it they live in memory only, and a crash loses up to one batch.
   */
  readonly journalPath?: string;
  /** fsync each journal entry before `add` resolves. @default 'always' */
  readonly fsync?: 'always' | 'never';
  readonly log?: (event: string, detail: Record<string, unknown>) => void;
  /**
   * Numbers the readings that come without a `seq` (the device's own samples and its CoAP sensors'),
   * in the order they are added: see `SequenceNumbers`. Without it, readings keep the `seq` they have.
   */
  readonly sequence?: { take(): Promise<number> };
}

/** A reading the batcher refused: it would not pass the cloud's schema, or the wire format cannot carry it. */
export class UplinkReadingError extends Error {
  override readonly name = 'UplinkReadingError';
}

export interface UplinkBatcherMetrics {
  readonly acceptedReadings: number;
  readonly rejectedReadings: number;
  /** Readings in the batch being filled. */
  readonly pendingReadings: number;
  readonly batches: number;
  readonly batchedReadings: number;
  /** Batches (and their readings) a full queue refused under `refuse-newest`: lost, and counted here. */
  readonly refusedBatches: number;
  readonly refusedReadings: number;
  /** Readings found in the journal at start and put back into the open batch. */
  readonly restoredReadings: number;
}

/**
 * Collects readings into batches, closed by size or by age, encodes each in the compact uplink format
 * with the id the queue gives it, and appends it to the queue.
 */
export class UplinkBatcher {
  private readonly maxReadings: number;
  private readonly maxAgeMs: number;
  private readonly clock: Clock;
  private readonly log: (event: string, detail: Record<string, unknown>) => void;
  private pending: Reading[] = [];
  private timer: AbortController | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private counters = {
    acceptedReadings: 0,
    rejectedReadings: 0,
    batches: 0,
    batchedReadings: 0,
    refusedBatches: 0,
    refusedReadings: 0,
    restoredReadings: 0,
  };

  private constructor(
    private readonly options: UplinkBatcherOptions,
    private readonly journal: ReadingJournal | undefined,
  ) {
    this.maxReadings = options.maxReadings ?? 60;
    this.maxAgeMs = options.maxAgeMs ?? 3_600_000;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => {});
    if (!Number.isInteger(this.maxReadings) || this.maxReadings < 1 || this.maxReadings > 1000)
      throw new RangeError(`maxReadings must be an integer from 1 to 1000, got ${this.maxReadings}`);
    if (!(this.maxAgeMs > 0)) throw new RangeError(`maxAgeMs must be positive, got ${this.maxAgeMs}`);
  }

  /** A batcher, with the readings a crash left in the journal back in its open batch. */
  static async open(options: UplinkBatcherOptions): Promise<UplinkBatcher> {
    const fsync = (options.fsync ?? 'always') === 'always';
    if (options.journalPath === undefined) return new UplinkBatcher(options, undefined);
    const opened = await ReadingJournal.open(options.journalPath, options.queue.nextId, fsync);
    const batcher = new UplinkBatcher(options, opened.journal);
    if (opened.tornBytes > 0 || opened.staleReadings > 0)
      batcher.log('uplink-journal-recovered', {
        tornBytes: opened.tornBytes,
        staleReadings: opened.staleReadings,
        restoredReadings: opened.readings.length,
      });
    batcher.pending = opened.readings;
    batcher.counters.restoredReadings = opened.readings.length;
    if (batcher.pending.length >= batcher.maxReadings) await batcher.flush();
    else if (batcher.pending.length > 0) batcher.armTimer();
    return batcher;
  }

  metrics(): UplinkBatcherMetrics {
    return { ...this.counters, pendingReadings: this.pending.length };
  }

  /**
   * Adds a reading to the open batch, numbering it when it has no `seq` and the batcher has a sequence,
   * and closes the batch when it is full, or at once when the reading is `urgent` (news the cloud's
   * rules should not wait an hour for). Resolves with the reading as batched once it is journaled
   * (and, when it closed the batch, once the batch is queued).
   *
   * @throws UplinkReadingError when the reading would be refused by the cloud's schema or cannot be
   *   encoded; nothing is changed
   */
  add(reading: Reading, options: { readonly urgent?: boolean } = {}): Promise<Reading> {
    return this.serialized(async () => {
      const parsed = readingSchema.safeParse(reading);
      const problem = parsed.success
        ? uplinkReadingProblem(parsed.data, this.options.resolutions)
        : toFieldIssues(parsed.error.issues)
            .map((i) => `${i.field}: ${i.reason}`)
            .join('; ');
      if (problem !== undefined || !parsed.success) {
        this.counters.rejectedReadings++;
        throw new UplinkReadingError(`reading refused: ${problem}`);
      }
      const sequence = this.options.sequence;
      const batched =
        parsed.data.seq === undefined && sequence !== undefined
          ? { ts: parsed.data.ts, seq: await sequence.take(), values: parsed.data.values }
          : parsed.data;
      await this.journal?.append(this.options.queue.nextId, batched);
      this.pending.push(batched);
      this.counters.acceptedReadings++;
      if (this.pending.length >= this.maxReadings || options.urgent === true) await this.closeBatch();
      else if (this.pending.length === 1) this.armTimer();
      return batched;
    });
  }

  /** Closes the open batch now, if it has readings. */
  flush(): Promise<void> {
    return this.serialized(() => this.closeBatch());
  }

  /** Stops the age timer and queues what is pending. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.abort();
    this.timer = undefined;
    await this.serialized(() => this.closeBatch());
    await this.journal?.close();
  }

  private serialized<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.chain.then(operation);
    this.chain = run.catch(() => {});
    return run;
  }

  private armTimer(): void {
    if (this.stopped) return;
    this.timer?.abort();
    const timer = new AbortController();
    this.timer = timer;
    this.clock.sleep(this.maxAgeMs, timer.signal).then(
      () => {
        if (this.timer !== timer) return;
        this.timer = undefined;
        this.flush().catch((error) => {
          this.log('uplink-batch-failed', { error: String(error) });
          // Try again after another age period rather than never.
          if (this.pending.length > 0) this.armTimer();
        });
      },
      () => {},
    );
  }

  private async closeBatch(): Promise<void> {
    if (this.pending.length === 0) return;
    this.timer?.abort();
    this.timer = undefined;
    const readings = this.pending;
    try {
      await this.options.queue.append((batchId) =>
        encodeUplinkBatch(
          { batchId, readings },
          {
            ...(this.options.resolutions === undefined ? {} : { resolutions: this.options.resolutions }),
            ...(this.options.compression === undefined ? {} : { compression: this.options.compression }),
          },
        ),
      );
      this.counters.batches++;
      this.counters.batchedReadings += readings.length;
    } catch (error) {
      if (!(error instanceof QueueFullError)) {
        // The readings stay pending (and journaled) for the next attempt.
        if (!this.stopped) this.armTimer();
        throw error;
      }
      this.counters.refusedBatches++;
      this.counters.refusedReadings += readings.length;
      this.log('uplink-batch-refused', { readings: readings.length, reason: error.message });
    }
    this.pending = [];
    await this.journal?.reset();
  }
}
