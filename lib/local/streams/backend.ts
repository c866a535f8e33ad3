import type { OutgoingRecord } from '../../../lambdas/ports.ts';

/** A record as a consumer receives it, Kafka-style. */
export interface ConsumedRecord {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets are 64-bit; kept as decimal strings, as kafkajs and Lambda's MSK events give them. */
  readonly offset: string;
  /** Epoch milliseconds when the record was appended. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, Buffer>>;
}

/** What a consumer does with a batch; throwing means "not processed": the same records come again. */
export type BatchHandler = (records: readonly ConsumedRecord[]) => Promise<void>;

export interface ConsumeOptions {
  /** Consumer group: its committed offsets survive restarts. */
  readonly group: string;
  readonly topic: string;
  /** Most records handed over in one batch (Lambda's BatchSize). */
  readonly maxBatch: number;
  /** Longest a non-empty batch waits to fill up, ms (Lambda's MaximumBatchingWindowInSeconds × 1000). */
  readonly maxWaitMs: number;
  /** Where a new group starts: the oldest record, or only new ones. */
  readonly fromBeginning: boolean;
  readonly onBatch: BatchHandler;
  /** Pause before a failed batch is handed over again, ms. @default 500 */
  readonly retryDelayMs?: number;
}

/** A running consumer. */
export interface Consumer {
  /** Stops after the batch in progress; its offsets are committed if it succeeded. */
  stop(): Promise<void>;
}

/**
 * A Kafka-like log behind the local platform's streams: the embedded durable topic log, or a real
 * Kafka through kafkajs when `KAFKA_BROKERS` is set. Both pass one contract test suite
 * (`test/integration/streams/`).
 *
 * Semantics, as Lambda's MSK event source gives them: records with the same key go to the same
 * partition and are delivered in append order within it; a batch's offsets are committed only after
 * its handler resolves; a handler that throws gets the same batch again (at least once, never a
 * skipped record); a restarted consumer resumes after the last committed offset of its group.
 */
export interface TopicBackend {
  /** Creates the topic with `partitions` partitions if it does not exist. */
  ensureTopic(topic: string, partitions: number): Promise<void>;
  /** Appends records; resolves once they are durable (fsync'd locally, acknowledged by all in-sync replicas in Kafka). */
  produce(topic: string, records: readonly OutgoingRecord[]): Promise<void>;
  /**
   * Starts a consumer of `options.group`. Resolves once its starting positions are fixed: with
   * `fromBeginning` false, a record produced after this resolves is delivered, earlier ones are not.
   */
  consume(options: ConsumeOptions): Promise<Consumer>;
  /**
   * Names the topic's log as it is now: the same after a restart of the backend or of the process,
   * new whenever the topic's offsets may have started again from 0 (the topic made anew, another
   * cluster). A consumer that remembers offsets needs it to know whose offsets it remembers.
   * One ARN path segment: letters, digits, `_`, `.` and `-`.
   */
  logId(topic: string): Promise<string>;
  close(): Promise<void>;
}
