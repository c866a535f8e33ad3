import type { EachBatchPayload, Kafka, Consumer as KafkaConsumer, KafkaMessage } from 'kafkajs';
import type { ConsumedRecord, ConsumeOptions, Consumer } from './backend.ts';
import { ConsumerStartError } from './errors.ts';
import { sleep } from './fs-util.ts';
import type { KafkajsGroupTimeouts } from './kafkajs-backend.ts';

/** @default retryDelayMs of {@link ConsumeOptions} */
const DEFAULT_RETRY_DELAY_MS = 500;
/** Shortest fetch wait: 0 would make an idle consumer ask the broker in a tight loop. */
const MIN_FETCH_WAIT_MS = 100;

/** How a {@link KafkajsConsumer} runs, as its backend decided. */
export interface KafkajsConsumerSettings {
  readonly timeouts: KafkajsGroupTimeouts;
  readonly startTimeoutMs: number;
  readonly partitions: number;
  /** Node ids of the cluster's brokers: positions are fixed once each one's first fetch came back. */
  readonly brokers: readonly number[];
  readonly onStopped: (consumer: KafkajsConsumer) => void;
}

/** One group member: a kafkajs consumer whose batches are cut to `maxBatch` and retried in place. */
export class KafkajsConsumer implements Consumer {
  private readonly consumer: KafkaConsumer;
  private readonly options: ConsumeOptions;
  private readonly settings: KafkajsConsumerSettings;
  private readonly abort = new AbortController();
  private stopped: Promise<void> | undefined;

  constructor(kafka: Kafka, options: ConsumeOptions, settings: KafkajsConsumerSettings) {
    this.options = options;
    this.settings = settings;
    const { sessionTimeoutMs, heartbeatIntervalMs, rebalanceTimeoutMs } = settings.timeouts;
    this.consumer = kafka.consumer({
      groupId: options.group,
      allowAutoTopicCreation: false,
      // The broker answers as soon as there is one byte; the wait only applies to an idle partition.
      maxWaitTimeInMs: Math.max(options.maxWaitMs, MIN_FETCH_WAIT_MS),
      ...(sessionTimeoutMs === undefined ? {} : { sessionTimeout: sessionTimeoutMs }),
      ...(heartbeatIntervalMs === undefined ? {} : { heartbeatInterval: heartbeatIntervalMs }),
      ...(rebalanceTimeoutMs === undefined ? {} : { rebalanceTimeout: rebalanceTimeoutMs }),
    });
  }

  async start(): Promise<void> {
    // kafkajs resolves a new group's "latest" or "earliest" position lazily, in the first fetch after
    // joining; until every broker's first fetch came back, a record produced now could still be skipped.
    // String ids: kafkajs' fetchers carry broker ids as strings (object keys), describeCluster as numbers.
    const pending = new Set(this.settings.brokers.map(String));
    let joined = false;
    let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    // Handled here too: a crash during connect() would otherwise be an unhandled rejection until awaited.
    ready.catch(() => undefined);
    const removers = [
      this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        joined = true;
      }),
      this.consumer.on(this.consumer.events.FETCH, (event) => {
        if (!joined) return;
        pending.delete(String(event.payload.nodeId));
        if (pending.size === 0) settle?.resolve();
      }),
      this.consumer.on(this.consumer.events.CRASH, (event) => {
        settle?.reject(
          new ConsumerStartError(
            `group '${this.options.group}' crashed while starting: ${event.payload.error.message}`,
          ),
        );
      }),
    ];
    const timer = setTimeout(() => {
      settle?.reject(
        new ConsumerStartError(
          `group '${this.options.group}' did not start within ${this.settings.startTimeoutMs} ms`,
        ),
      );
    }, this.settings.startTimeoutMs);
    try {
      await this.consumer.connect();
      await this.consumer.subscribe({ topic: this.options.topic, fromBeginning: this.options.fromBeginning });
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.settings.partitions,
        eachBatch: (payload) => this.eachBatch(payload),
      });
      await ready;
    } finally {
      clearTimeout(timer);
      for (const remove of removers) remove();
    }
  }

  stop(): Promise<void> {
    if (this.stopped === undefined) {
      this.abort.abort();
      // disconnect() waits for the batch in progress, then leaves the group.
      this.stopped = this.consumer.disconnect().finally(() => this.settings.onStopped(this));
    }
    return this.stopped;
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const records = batch.messages.map((message) => toConsumed(batch.topic, batch.partition, message));
    for (let start = 0; start < records.length; start += this.options.maxBatch) {
      const chunk = records.slice(start, start + this.options.maxBatch);
      for (;;) {
        // Stopping, or the partition was reassigned: leave it uncommitted, the next owner starts here.
        if (this.abort.signal.aborted || !isRunning() || isStale()) return;
        try {
          await this.options.onBatch(chunk);
          break;
        } catch {
          await sleep(this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS, this.abort.signal);
          await heartbeat();
        }
      }
      const last = (chunk[chunk.length - 1] as ConsumedRecord).offset;
      await this.consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
      ]);
      resolveOffset(last);
      await heartbeat();
    }
  }
}

function toConsumed(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  const headers: Record<string, Buffer> = {};
  for (const [name, header] of Object.entries(message.headers ?? {})) {
    // kafkajs gives an array for a name that repeats; the contract's headers hold one value: the last.
    const value = Array.isArray(header) ? header[header.length - 1] : header;
    if (value !== undefined) headers[name] = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  }
  return {
    topic,
    partition,
    offset: message.offset,
    timestamp: Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers,
  };
}
