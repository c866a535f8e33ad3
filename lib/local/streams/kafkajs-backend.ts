import type { Admin, IHeaders, Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { OutgoingRecord } from '../../../lambdas/ports.ts';
import type { ConsumeOptions, Consumer, TopicBackend } from './backend.ts';
import {
  assertConsumeOptions,
  assertTopicName,
  InvalidStreamOptionError,
  StreamClosedError,
  TopicCreationError,
} from './errors.ts';
import { KafkajsConsumer } from './kafkajs-consumer.ts';

/** Consumer group timing; Kafka's defaults suit real clusters, tests shorten them. */
export interface KafkajsGroupTimeouts {
  /** @default 30_000 (kafkajs) */
  readonly sessionTimeoutMs?: number;
  /** @default 3_000 (kafkajs) */
  readonly heartbeatIntervalMs?: number;
  /** @default 60_000 (kafkajs) */
  readonly rebalanceTimeoutMs?: number;
}

/** Properties of a {@link KafkajsBackend}. */
export interface KafkajsBackendProps {
  /** The kafkajs client (brokers, SSL, SASL, logging are its configuration). */
  readonly kafka: Kafka;
  /**
   * Idempotent producer (no duplicates from the producer's own retries). Turn off only for a cluster
   * that cannot hand out producer ids to kafkajs, such as librdkafka's mock cluster (it names a
   * controller that is not one of its brokers). @default true
   */
  readonly idempotent?: boolean;
  readonly groupTimeouts?: KafkajsGroupTimeouts;
  /** Longest `consume` waits for the group to form and positions to be fixed. @default 60_000 */
  readonly consumerStartTimeoutMs?: number;
}

/**
 * The local platform's streams on a real Kafka (`KAFKA_BROKERS`), through kafkajs: the same
 * {@link TopicBackend} contract as the embedded log.
 *
 * Producing uses kafkajs' default partitioner (Java-compatible murmur2), which the embedded log uses
 * too, so a key has the same partition number in both. Consuming uses a consumer group with
 * `autoCommit: false`: a batch (at most `maxBatch` records of one partition) is committed after the
 * handler resolves; a handler that throws gets the same batch again after `retryDelayMs`, and the
 * partition does not move on until it succeeds. If the partition is taken away meanwhile (rebalance)
 * or the consumer stops, nothing is committed and the next owner starts at the failed batch.
 * `maxWaitMs` is the fetch's wait on an idle partition: Kafka counts `minBytes`, not records, so a
 * batch is handed over as soon as the broker has data rather than held back to fill.
 */
export class KafkajsBackend implements TopicBackend {
  private readonly kafka: Kafka;
  private readonly idempotent: boolean;
  private readonly timeouts: KafkajsGroupTimeouts;
  private readonly startTimeoutMs: number;
  private producer: Promise<Producer> | undefined;
  private adminClient: Promise<Admin> | undefined;
  private readonly consumers = new Set<KafkajsConsumer>();
  private closed = false;

  constructor(props: KafkajsBackendProps) {
    this.kafka = props.kafka;
    this.idempotent = props.idempotent ?? true;
    this.timeouts = props.groupTimeouts ?? {};
    this.startTimeoutMs = props.consumerStartTimeoutMs ?? 60_000;
  }

  /**
   * Creates the topic through the controller (CreateTopics), tolerating "already exists"; an existing
   * topic keeps its partition count. A cluster without a usable controller (librdkafka's mock, which
   * also lacks CreateTopics) gets the topic through a metadata request, which such brokers answer by
   * auto-creating it with their default partition count.
   */
  async ensureTopic(topic: string, partitions: number): Promise<void> {
    this.assertOpen();
    assertTopicName(topic);
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new InvalidStreamOptionError(`partitions must be a whole number >= 1; got ${partitions}`);
    }
    const admin = await this.admin();
    if ((await admin.listTopics()).includes(topic)) return;
    const cluster = await admin.describeCluster();
    if (cluster.brokers.some((broker) => broker.nodeId === cluster.controller)) {
      // false (not an error) when another client created it first.
      await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      return;
    }
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    if (!metadata.topics.some((t) => t.name === topic && t.partitions.length > 0)) {
      throw new TopicCreationError(
        `topic '${topic}' could not be created: the cluster has no usable controller and did not auto-create it`,
      );
    }
  }

  /** Sends with acks from all in-sync replicas; resolves once Kafka acknowledged every record. */
  async produce(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    this.assertOpen();
    if (records.length === 0) return;
    const producer = await this.connectedProducer();
    await producer.send({ topic, acks: -1, messages: records.map(toMessage) });
  }

  /**
   * Joins the group and resolves once it has its partitions and their positions: with `fromBeginning`
   * false, a record produced after this resolves is delivered, earlier ones are not.
   */
  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    assertTopicName(options.topic);
    assertConsumeOptions(options);
    const admin = await this.admin();
    const [metadata, cluster] = await Promise.all([
      admin.fetchTopicMetadata({ topics: [options.topic] }),
      admin.describeCluster(),
    ]);
    const partitions = metadata.topics.find((t) => t.name === options.topic)?.partitions.length ?? 1;
    const consumer = new KafkajsConsumer(this.kafka, options, {
      timeouts: this.timeouts,
      startTimeoutMs: this.startTimeoutMs,
      partitions,
      brokers: cluster.brokers.map((broker) => broker.nodeId),
      onStopped: (stopped) => this.consumers.delete(stopped),
    });
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (error) {
      await consumer.stop();
      throw error;
    }
    return consumer;
  }

  /**
   * The cluster's id (Metadata's `cluster_id`, made when a Kafka cluster's storage is formatted): a
   * Kafka wiped and started again, or another cluster, has another. Kafka's own topic ids (KIP-516,
   * Metadata v10+) would also tell a topic deleted and created again on the same cluster, but kafkajs
   * speaks Metadata up to v6, which has none: such a topic keeps its log id here.
   */
  async logId(topic: string): Promise<string> {
    this.assertOpen();
    assertTopicName(topic);
    const { clusterId } = await (await this.admin()).describeCluster();
    // Kafka makes cluster ids of base64url characters; anything else would not be one ARN segment.
    return clusterId.replace(/[^\w.-]/g, '_');
  }

  /** Stops every consumer (after its batch in progress), then disconnects the producer and admin. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((consumer) => consumer.stop()));
    const clients = await Promise.allSettled(
      [this.producer, this.adminClient].filter((c) => c !== undefined),
    );
    await Promise.all(
      clients.map((client) => (client.status === 'fulfilled' ? client.value.disconnect() : undefined)),
    );
  }

  private assertOpen(): void {
    if (this.closed) throw new StreamClosedError('the kafkajs backend is closed');
  }

  private connectedProducer(): Promise<Producer> {
    if (this.producer === undefined) {
      const producer = this.kafka.producer({
        idempotent: this.idempotent,
        // Required by kafkajs for idempotence; also what keeps order when a request is retried.
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // Named explicitly: the Java-compatible murmur2 partitioner (kafkajs warns when it is implied).
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      this.producer = producer.connect().then(() => producer);
      // A failed connect is not cached: the next produce tries again.
      this.producer.catch(() => {
        this.producer = undefined;
      });
    }
    return this.producer;
  }

  private admin(): Promise<Admin> {
    if (this.adminClient === undefined) {
      const admin = this.kafka.admin();
      this.adminClient = admin.connect().then(() => admin);
      this.adminClient.catch(() => {
        this.adminClient = undefined;
      });
    }
    return this.adminClient;
  }
}

function toMessage(record: OutgoingRecord): { key: string; value: Buffer; headers?: IHeaders } {
  const value =
    typeof record.value === 'string'
      ? Buffer.from(record.value, 'utf8')
      : Buffer.from(record.value.buffer, record.value.byteOffset, record.value.byteLength);
  return record.headers === undefined
    ? { key: record.key, value }
    : { key: record.key, value, headers: { ...record.headers } };
}
