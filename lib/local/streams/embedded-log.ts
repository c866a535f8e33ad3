import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { OutgoingRecord } from '../../../lambdas/ports.ts';
import type { ConsumeOptions, Consumer, TopicBackend } from './backend.ts';
import { releaseDirLock, takeDirLock } from './dir-lock.ts';
import { EmbeddedConsumer } from './embedded-consumer.ts';
import {
  assertConsumeOptions,
  assertTopicName,
  ConsumerGroupBusyError,
  InvalidStreamOptionError,
  LogCorruptionError,
  RecordTooLargeError,
  StreamClosedError,
  UnknownTopicError,
} from './errors.ts';
import { writeFileAtomic } from './fs-util.ts';
import { GroupOffsets } from './group-offsets.ts';
import { partitionForKey } from './murmur2.ts';
import { PartitionLog, type PartitionLogLimits } from './partition-log.ts';
import { encodedSize, type StoredRecord, toStoredRecord } from './record-codec.ts';

/** Options of {@link EmbeddedLog.open}. */
export interface EmbeddedLogOptions {
  /**
   * Data directory: `<dir>/topics/<topic>/<partition>/<baseOffset>.log`, `<dir>/topics/<topic>/groups/*.json`,
   * `<dir>/topics/<topic>/topic.json` (partition count and topic id), `<dir>/LOCK`. Topics sit in their own folder so that no topic name can meet the lock file.
   */
  readonly dir: string;
  /** @default 16 MiB */
  readonly segmentBytes?: number;
  /** @default 100_000 */
  readonly segmentRecords?: number;
  /** Per partition; whole old segments go once the rest holds at least this much. @default 256 MiB */
  readonly retentionBytes?: number;
  /** Per partition; whichever of the two bounds is reached first applies. @default 1_000_000 */
  readonly retentionRecords?: number;
  /** Largest record accepted, as encoded on disk (Kafka's `message.max.bytes`). @default 1 MiB */
  readonly maxRecordBytes?: number;
  /** Longest an idle consumer waits without a producer's wake-up (a fallback only). @default 1000 */
  readonly idleWakeMs?: number;
  /** Clock for record timestamps. @default Date.now */
  readonly now?: () => number;
  /**
   * Errors a consumer loop meets in the log itself (I/O, corruption); the loop retries after
   * `retryDelayMs`. @default a process warning
   */
  readonly onError?: (error: Error) => void;
}

/** Where one produced record went. */
export interface ProducedRecord {
  readonly partition: number;
  /** Decimal string, as Kafka offsets are 64-bit. */
  readonly offset: string;
}

interface TopicState {
  readonly dir: string;
  /** Made when the topic is created (see {@link EmbeddedLog.logId}). */
  readonly id: string;
  readonly partitions: readonly PartitionLog[];
}

const MAX_PARTITIONS = 1000;
const TOPIC_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The embedded, durable topic log behind the local platform's streams: Kafka's model (topics,
 * partitions chosen by key with Kafka's murmur2 partitioner, offsets, consumer groups) on local files.
 *
 * Durability: `produce` resolves after the records are fsync'd (one fdatasync per partition per call);
 * group offsets are committed by atomic file replacement after the handler resolves; on open, a torn
 * last write is cut off. One open log per directory (a `LOCK` file holds the owner's pid); a new
 * instance on the same directory after a restart sees every acknowledged record and commit.
 *
 * Not Kafka: one process, no replication, no group rebalancing (one consumer per group and topic),
 * no transactions, and retention by size and count only.
 */
export class EmbeddedLog implements TopicBackend {
  private readonly dir: string;
  private readonly limits: PartitionLogLimits;
  private readonly maxRecordBytes: number;
  private readonly idleWakeMs: number;
  private readonly now: () => number;
  private readonly onError: (error: Error) => void;
  private readonly topics = new Map<string, TopicState>();
  private topicOps: Promise<unknown> = Promise.resolve();
  /** Running consumers by group and topic; undefined while one is starting. */
  private readonly consumers = new Map<string, EmbeddedConsumer | undefined>();
  private closed = false;

  private constructor(dir: string, options: EmbeddedLogOptions) {
    this.dir = dir;
    this.limits = {
      segmentBytes: positive('segmentBytes', options.segmentBytes ?? 16 * 1024 * 1024),
      segmentRecords: positive('segmentRecords', options.segmentRecords ?? 100_000),
      retentionBytes: positive('retentionBytes', options.retentionBytes ?? 256 * 1024 * 1024),
      retentionRecords: positive('retentionRecords', options.retentionRecords ?? 1_000_000),
    };
    this.maxRecordBytes = positive('maxRecordBytes', options.maxRecordBytes ?? 1024 * 1024);
    this.idleWakeMs = positive('idleWakeMs', options.idleWakeMs ?? 1000);
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? ((error) => process.emitWarning(error));
  }

  /**
   * Opens the log in `options.dir` (created if missing).
   *
   * @throws LogLockedError when another open log, in this process or a live other one, holds the directory
   */
  static async open(options: EmbeddedLogOptions): Promise<EmbeddedLog> {
    const dir = resolve(options.dir);
    const log = new EmbeddedLog(dir, options);
    await mkdir(dir, { recursive: true });
    await takeDirLock(dir);
    return log;
  }

  /**
   * Creates the topic with `partitions` partitions unless it exists; an existing topic keeps its
   * partition count (as Kafka's CreateTopics leaves an existing topic alone).
   */
  async ensureTopic(topic: string, partitions: number): Promise<void> {
    this.assertOpen();
    assertTopicName(topic);
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > MAX_PARTITIONS) {
      throw new InvalidStreamOptionError(
        `partitions must be a whole number in 1..${MAX_PARTITIONS}; got ${partitions}`,
      );
    }
    await this.serially(async () => {
      if ((await this.load(topic)) !== undefined) return;
      const dir = join(this.dir, 'topics', topic);
      await mkdir(dir, { recursive: true });
      const logs = await Promise.all(
        Array.from({ length: partitions }, (_, p) => PartitionLog.open(join(dir, String(p)), p, this.limits)),
      );
      // Written last: a topic exists once its partitions do.
      const id = randomUUID();
      await writeFileAtomic(join(dir, 'topic.json'), JSON.stringify({ partitions, id }));
      this.topics.set(topic, { dir, id, partitions: logs });
    });
  }

  async produce(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    await this.append(topic, records);
  }

  /**
   * Appends records, each to the partition of its key; resolves with where each went, in input order,
   * once all are fsync'd. Records of one call to one partition are contiguous and in input order.
   */
  async append(topic: string, records: readonly OutgoingRecord[]): Promise<ProducedRecord[]> {
    this.assertOpen();
    // No await on the common path, so that appends keep the order in which produce was called.
    const state = this.topics.get(topic) ?? (await this.topic(topic));
    const timestamp = this.now();
    const byPartition = new Map<number, { indexes: number[]; records: Omit<StoredRecord, 'offset'>[] }>();
    records.forEach((record, index) => {
      const stored = toStoredRecord(record, timestamp);
      const size = encodedSize(stored);
      if (size > this.maxRecordBytes) throw new RecordTooLargeError(topic, size, this.maxRecordBytes);
      const partition = partitionForKey(record.key, state.partitions.length);
      const group = byPartition.get(partition) ?? { indexes: [], records: [] };
      group.indexes.push(index);
      group.records.push(stored);
      byPartition.set(partition, group);
    });
    const produced: ProducedRecord[] = new Array(records.length);
    await Promise.all(
      [...byPartition].map(async ([partition, group]) => {
        const first = await (state.partitions[partition] as PartitionLog).append(group.records);
        group.indexes.forEach((index, k) => {
          produced[index] = { partition, offset: String(first + k) };
        });
      }),
    );
    return produced;
  }

  /**
   * Starts a consumer; resolves once its starting positions are fixed (see {@link EmbeddedConsumer.start}).
   *
   * @throws ConsumerGroupBusyError when this log already runs a consumer of the group on the topic
   */
  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    assertConsumeOptions(options);
    const state = await this.topic(options.topic);
    const key = `${options.group}\u0000${options.topic}`;
    if (this.consumers.has(key)) {
      throw new ConsumerGroupBusyError(
        `group '${options.group}' already consumes '${options.topic}' here; the embedded log runs one consumer per group and topic`,
      );
    }
    // Reserved before the first await, so two concurrent calls cannot both pass the check above.
    this.consumers.set(key, undefined);
    try {
      const consumer = await EmbeddedConsumer.start({
        topic: options.topic,
        partitions: state.partitions,
        offsets: await GroupOffsets.load(state.dir, options.topic, options.group),
        options,
        idleWakeMs: this.idleWakeMs,
        onError: this.onError,
        onStopped: () => this.consumers.delete(key),
      });
      if (this.closed) {
        await consumer.stop();
        throw new StreamClosedError(`the embedded log in ${this.dir} was closed while a consumer started`);
      }
      this.consumers.set(key, consumer);
      return consumer;
    } catch (error) {
      this.consumers.delete(key);
      throw error;
    }
  }

  /**
   * The topic's id: a UUID made when the topic is created and kept in its `topic.json`, as Kafka keeps
   * a topic id beside its partitions (KIP-516). It survives restarts; a topic whose folder was deleted
   * and that was created again has a new one, since its offsets start again from 0.
   */
  async logId(topic: string): Promise<string> {
    this.assertOpen();
    return (await this.topic(topic)).id;
  }

  /** Oldest and next offset of each partition (for tests, diagnostics and the platform's status). */
  async describe(
    topic: string,
  ): Promise<Array<{ partition: number; start: number; end: number; segments: number[] }>> {
    const state = await this.topic(topic);
    return state.partitions.map((p) => ({
      partition: p.partition,
      start: p.startOffset,
      end: p.endOffset,
      segments: p.segmentBases(),
    }));
  }

  /** Stops every consumer (after its batch in progress), waits for appends, closes files, frees the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers.values()].map((consumer) => consumer?.stop()));
    await this.topicOps.catch(() => undefined);
    await Promise.all([...this.topics.values()].flatMap((t) => t.partitions.map((p) => p.close())));
    await releaseDirLock(this.dir);
  }

  private assertOpen(): void {
    if (this.closed) throw new StreamClosedError(`the embedded log in ${this.dir} is closed`);
  }

  private async topic(topic: string): Promise<TopicState> {
    assertTopicName(topic);
    const state = this.topics.get(topic) ?? (await this.serially(() => this.load(topic)));
    if (state === undefined) throw new UnknownTopicError(topic);
    return state;
  }

  /** Topic creation and loading run one at a time: rare, and it keeps two callers from opening one partition twice. */
  private serially<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.topicOps.then(operation);
    this.topicOps = result.catch(() => undefined);
    return result;
  }

  private async load(topic: string): Promise<TopicState | undefined> {
    const cached = this.topics.get(topic);
    if (cached !== undefined) return cached;
    const dir = join(this.dir, 'topics', topic);
    let text: string;
    try {
      text = await readFile(join(dir, 'topic.json'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let meta: { partitions?: unknown; id?: unknown } = {};
    try {
      meta = JSON.parse(text) as typeof meta;
    } catch {
      // Reported below as a missing partition count.
    }
    const { partitions } = meta;
    if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1) {
      throw new LogCorruptionError(`${join(dir, 'topic.json')} has no valid partition count`);
    }
    let id: string;
    if (meta.id === undefined) {
      // A topic created before topics had ids gets one now, kept from here on.
      id = randomUUID();
      await writeFileAtomic(join(dir, 'topic.json'), JSON.stringify({ partitions, id }));
    } else if (typeof meta.id === 'string' && TOPIC_ID.test(meta.id)) {
      id = meta.id;
    } else {
      throw new LogCorruptionError(`${join(dir, 'topic.json')} has no valid topic id`);
    }
    const logs = await Promise.all(
      Array.from({ length: partitions }, (_, p) => PartitionLog.open(join(dir, String(p)), p, this.limits)),
    );
    const state = { dir, id, partitions: logs };
    this.topics.set(topic, state);
    return state;
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidStreamOptionError(`${name} must be a positive number; got ${value}`);
  }
  return value;
}
