import type { ConsumedRecord, ConsumeOptions, Consumer } from './backend.ts';
import { sleep } from './fs-util.ts';
import type { GroupOffsets } from './group-offsets.ts';
import type { PartitionLog } from './partition-log.ts';
import type { StoredRecord } from './record-codec.ts';

/** What an {@link EmbeddedConsumer} consumes from, and how it reports trouble. */
export interface EmbeddedConsumerContext {
  readonly topic: string;
  readonly partitions: readonly PartitionLog[];
  readonly offsets: GroupOffsets;
  readonly options: ConsumeOptions;
  /** Longest an idle partition loop sleeps without a wake-up from a producer (a fallback only). */
  readonly idleWakeMs: number;
  /** Errors of the log itself (I/O, a corrupt segment): the loop reports them and tries again later. */
  readonly onError: (error: Error) => void;
  /** Called once the consumer has stopped. */
  readonly onStopped: () => void;
}

/** @default retryDelayMs of {@link ConsumeOptions} */
const DEFAULT_RETRY_DELAY_MS = 500;

/**
 * One consumer group member on an embedded topic: a loop per partition that waits for records (woken
 * by producers), fills a batch for up to `maxWaitMs`, hands it to the handler and commits after it
 * resolves. A handler that throws gets the very same batch again after `retryDelayMs`, and nothing later
 * in that partition is handed over before it succeeds. Partitions are independent of each other.
 */
export class EmbeddedConsumer implements Consumer {
  private readonly context: EmbeddedConsumerContext;
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private stopped: Promise<void> | undefined;

  private constructor(context: EmbeddedConsumerContext) {
    this.context = context;
  }

  /**
   * Fixes each partition's starting position and starts the loops. Resolves once positions are fixed:
   * with `fromBeginning` false, a record produced after this resolves is delivered, earlier ones are not.
   * A group's first "latest" position is committed at once, so that a restart resumes from there
   * instead of skipping what arrived in between (as Lambda's `LATEST` starting position does).
   */
  static async start(context: EmbeddedConsumerContext): Promise<EmbeddedConsumer> {
    const consumer = new EmbeddedConsumer(context);
    const { partitions, offsets, options } = context;
    const positions = partitions.map((partition) => offsets.get(partition.partition));
    if (!options.fromBeginning) {
      await Promise.all(
        partitions.map(async (partition, index) => {
          if (positions[index] !== undefined) return;
          positions[index] = partition.endOffset;
          await offsets.commit(partition.partition, partition.endOffset);
        }),
      );
    }
    partitions.forEach((partition, index) => {
      consumer.loops.push(consumer.run(partition, positions[index]));
    });
    return consumer;
  }

  stop(): Promise<void> {
    if (this.stopped === undefined) {
      this.abort.abort();
      this.stopped = Promise.all(this.loops).then(() => this.context.onStopped());
    }
    return this.stopped;
  }

  private get stopping(): boolean {
    return this.abort.signal.aborted;
  }

  /** @param start the committed position; undefined: the oldest record still held */
  private async run(partition: PartitionLog, start: number | undefined): Promise<void> {
    const { options, idleWakeMs, onError } = this.context;
    const signal = this.abort.signal;
    let position = start ?? partition.startOffset;
    while (!this.stopping) {
      let batch: ConsumedRecord[];
      try {
        // Retention deleted records this group never read: carry on from the oldest one left (as Kafka).
        position = Math.max(position, partition.startOffset);
        if (partition.endOffset <= position) {
          await partition.waitForData(position, idleWakeMs, signal);
          continue;
        }
        await this.fill(partition, position);
        if (this.stopping) return;
        batch = (await partition.read(position, options.maxBatch)).map((record) =>
          toConsumed(this.context.topic, partition.partition, record),
        );
        if (batch.length === 0) continue;
      } catch (error) {
        onError(error as Error);
        await sleep(options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS, signal);
        continue;
      }
      if (!(await this.deliver(batch))) return;
      position = Number((batch[batch.length - 1] as ConsumedRecord).offset) + 1;
      await this.commit(partition.partition, position);
    }
  }

  /** Waits until `maxBatch` records are there or `maxWaitMs` has passed since the first one was. */
  private async fill(partition: PartitionLog, position: number): Promise<void> {
    const { maxBatch, maxWaitMs } = this.context.options;
    const deadline = performance.now() + maxWaitMs;
    while (!this.stopping && partition.endOffset - position < maxBatch) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      await partition.waitForData(partition.endOffset, left, this.abort.signal);
    }
  }

  /** Hands the batch over until the handler resolves; false when stopped before it did. */
  private async deliver(batch: readonly ConsumedRecord[]): Promise<boolean> {
    const { options } = this.context;
    for (;;) {
      try {
        await options.onBatch(batch);
        return true;
      } catch {
        // The handler's own failure: the batch is not processed. Same batch again, nothing skipped.
        if (this.stopping) return false;
        await sleep(options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS, this.abort.signal);
        if (this.stopping) return false;
      }
    }
  }

  /** Commits, retrying on I/O errors: a processed batch must not be handed over again needlessly. */
  private async commit(partition: number, next: number): Promise<void> {
    const { offsets, options, onError } = this.context;
    for (;;) {
      try {
        await offsets.commit(partition, next);
        return;
      } catch (error) {
        onError(error as Error);
        if (this.stopping) return;
        await sleep(options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS, this.abort.signal);
      }
    }
  }
}

function toConsumed(topic: string, partition: number, record: StoredRecord): ConsumedRecord {
  return {
    topic,
    partition,
    offset: String(record.offset),
    timestamp: record.timestamp,
    key: record.key,
    value: record.value,
    headers: record.headers,
  };
}
