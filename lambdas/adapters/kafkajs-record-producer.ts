import { GetBootstrapBrokersCommand, type KafkaClient } from '@aws-sdk/client-kafka';
import { type IHeaders, Kafka, type KafkaConfig, logLevel, Partitioners, type Producer } from 'kafkajs';
import { parseKafkaConnection } from '../../lib/protocol/kafka-connection.ts';
import type { OutgoingRecord, RecordProducer } from '../ports.ts';
import type { HandlerEnv } from '../shared/runtime.ts';
import { kafkajsConfig } from './kafkajs-config.ts';

/** The Kafka settings in a function's env are missing or do not fit together. */
export class KafkaConfigError extends Error {
  override readonly name = 'KafkaConfigError';
}

/** `KAFKA_SASL_MECHANISM` values fleetkit understands. */
const IAM_MECHANISM = 'aws-msk-iam';

/**
 * The bootstrap brokers, `host:port`: `KAFKA_BROKERS` (comma-separated) when set — locally, or for a
 * cluster outside AWS — otherwise MSK's IAM bootstrap brokers of `MSK_CLUSTER_ARN`, from
 * GetBootstrapBrokers (`BootstrapBrokerStringSaslIam`).
 *
 * @param kafkaClient the MSK control-plane client, created once by the handler; needed for MSK_CLUSTER_ARN
 * @throws KafkaConfigError when neither is set, or the cluster has no IAM brokers
 */
export async function resolveBrokers(env: HandlerEnv, kafkaClient?: KafkaClient): Promise<string[]> {
  if (env.KAFKA_BROKERS) {
    const brokers = env.KAFKA_BROKERS.split(',')
      .map((broker) => broker.trim())
      .filter((broker) => broker !== '');
    if (brokers.length === 0)
      throw new KafkaConfigError(`KAFKA_BROKERS holds no broker: '${env.KAFKA_BROKERS}'`);
    return brokers;
  }
  const clusterArn = env.MSK_CLUSTER_ARN;
  if (!clusterArn) {
    throw new KafkaConfigError('set KAFKA_BROKERS (host:port,...) or MSK_CLUSTER_ARN to reach Kafka');
  }
  if (kafkaClient === undefined) {
    throw new KafkaConfigError(
      `MSK_CLUSTER_ARN is set (${clusterArn}) but no Kafka client was given to look it up`,
    );
  }
  const result = await kafkaClient.send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
  const brokers = (result.BootstrapBrokerStringSaslIam ?? '').split(',').filter((broker) => broker !== '');
  if (brokers.length === 0) {
    throw new KafkaConfigError(
      `cluster ${clusterArn} has no IAM bootstrap brokers: is IAM access control on?`,
    );
  }
  return brokers;
}

/**
 * kafkajs configuration from a function's env: the connection the Kafka settings describe
 * (`parseKafkaConnection`: TLS and its CA, SCRAM or MSK IAM) to `brokers`, as `kafkajsConfig` builds it.
 *
 * @throws KafkaConfigError naming the variable that is wrong
 */
export function kafkaConfigFromEnv(env: HandlerEnv, brokers: readonly string[]): KafkaConfig {
  try {
    const config = kafkajsConfig(parseKafkaConnection(env, brokers), {
      clientId: env.AWS_LAMBDA_FUNCTION_NAME || 'fleetkit',
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || '',
    });
    return { ...config, logLevel: logLevel.WARN };
  } catch (error) {
    throw new KafkaConfigError((error as Error).message, { cause: error });
  }
}

/**
 * A kafkajs client for a function: brokers from {@link resolveBrokers}, security from
 * {@link kafkaConfigFromEnv}. MSK_CLUSTER_ARN without KAFKA_BROKERS gives IAM brokers, so it requires
 * `KAFKA_SASL_MECHANISM=aws-msk-iam`.
 */
export async function createKafkaFromEnv(env: HandlerEnv, kafkaClient?: KafkaClient): Promise<Kafka> {
  if (!env.KAFKA_BROKERS && env.MSK_CLUSTER_ARN && env.KAFKA_SASL_MECHANISM !== IAM_MECHANISM) {
    throw new KafkaConfigError(
      `MSK_CLUSTER_ARN yields IAM brokers (port 9098), which need KAFKA_SASL_MECHANISM=${IAM_MECHANISM}`,
    );
  }
  return new Kafka(kafkaConfigFromEnv(env, await resolveBrokers(env, kafkaClient)));
}

/** Properties of a {@link KafkajsRecordProducer}. */
export interface KafkajsRecordProducerProps {
  /**
   * The kafkajs client, or a function making it on first use (brokers may need an AWS call, which
   * should not run while the handler module loads).
   */
  readonly kafka: Kafka | (() => Promise<Kafka>);
  /** Idempotent producer; off only for clusters that cannot issue producer ids to kafkajs. @default true */
  readonly idempotent?: boolean;
}

/**
 * Produces records to Kafka (MSK in AWS) with kafkajs: idempotent (no duplicates from its own
 * retries), acks from all in-sync replicas, one request in flight so retries keep order, the
 * Java-compatible murmur2 partitioner. It connects on the first send and keeps the connection for
 * the next invocations of the same execution environment.
 */
export class KafkajsRecordProducer implements RecordProducer {
  private readonly kafka: Kafka | (() => Promise<Kafka>);
  private readonly idempotent: boolean;
  private producer: Promise<Producer> | undefined;

  constructor(props: KafkajsRecordProducerProps) {
    this.kafka = props.kafka;
    this.idempotent = props.idempotent ?? true;
  }

  async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
    if (records.length === 0) return;
    const producer = await this.connected();
    await producer.send({ topic, acks: -1, messages: records.map(toMessage) });
  }

  /** Disconnects, for tests and local shutdown; Lambda simply freezes the environment. */
  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    if (producer !== undefined) await (await producer).disconnect();
  }

  private connected(): Promise<Producer> {
    if (this.producer === undefined) {
      const connecting = (async () => {
        const kafka = typeof this.kafka === 'function' ? await this.kafka() : this.kafka;
        const producer = kafka.producer({
          idempotent: this.idempotent,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
        await producer.connect();
        return producer;
      })();
      // A failed connect is not kept: the next invocation tries again.
      connecting.catch(() => {
        if (this.producer === connecting) this.producer = undefined;
      });
      this.producer = connecting;
    }
    return this.producer;
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
