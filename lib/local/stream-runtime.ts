import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkajsConfig } from '../../lambdas/adapters/kafkajs-config.ts';
import { describeError } from '../../lambdas/shared/logger.ts';
import { type KafkaConnection, kafkaConnectionEnv } from '../protocol/kafka-connection.ts';
import type { Topology } from '../topology/model.ts';
import type { LocalFunction } from './functions.ts';
import { LOCAL_REGION } from './names.ts';
import type { PlatformLog } from './platform-log.ts';
import type { Consumer, TopicBackend } from './streams/backend.ts';
import { EmbeddedLog } from './streams/embedded-log.ts';
import { startTopicLogApi, type TopicLogApi } from './streams/http-api.ts';
import { KafkajsBackend } from './streams/kafkajs-backend.ts';
import { buildMskEvent, localMskEventSource } from './streams/msk-event.ts';

/** The local platform's streams: a topic backend, how functions reach it, and the consumers it runs. */
export interface LocalStreams {
  readonly backend: TopicBackend;
  /** Where it lives, for the banner: a directory or the Kafka brokers. */
  readonly description: string;
  /** Env every function gets to produce: `TOPIC_LOG_ENDPOINT`, or `KAFKA_BROKERS` and its settings. */
  readonly functionEnv: Readonly<Record<string, string>>;
  /** Starts one consumer group per Kafka trigger, feeding its function MSK-shaped events. */
  startConsumers(functions: ReadonlyMap<string, LocalFunction>): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Streams on one machine: the embedded, durable topic log under `<dataDir>/streams` (reached by
 * functions through its loopback HTTP API), or, with `kafka`, a real Kafka through the same
 * kafkajs code that runs in AWS. Every stream resource of the topology becomes a topic.
 */
export async function startLocalStreams(options: {
  readonly dataDir: string;
  readonly topology: Topology;
  readonly log: PlatformLog;
  readonly host: string;
  readonly kafka?: KafkaConnection;
}): Promise<LocalStreams> {
  let backend: TopicBackend;
  let api: TopicLogApi | undefined;
  let functionEnv: Record<string, string>;
  let description: string;
  const bootstrapServers = options.kafka?.brokers ?? [];
  if (options.kafka !== undefined) {
    // The same connection for the platform's own client and, through the env, every function's.
    const kafka = new Kafka({
      ...kafkajsConfig(options.kafka, { clientId: 'fleetkit-local', region: LOCAL_REGION }),
      logLevel: logLevel.NOTHING,
    });
    backend = new KafkajsBackend({ kafka });
    functionEnv = kafkaConnectionEnv(options.kafka);
    const security = [options.kafka.ssl === false ? 'plaintext' : 'TLS', options.kafka.sasl?.mechanism]
      .filter(Boolean)
      .join(', ');
    description = `Kafka at ${options.kafka.brokers.join(',')} (${security})`;
  } else {
    const log = await EmbeddedLog.open({
      dir: join(options.dataDir, 'streams'),
      onError: (error) => options.log.event('error', 'topic log failure', describeError(error)),
    });
    api = await startTopicLogApi({ log, host: options.host });
    backend = log;
    functionEnv = { TOPIC_LOG_ENDPOINT: api.endpoint };
    description = `embedded topic log in ${join(options.dataDir, 'streams')}`;
  }
  for (const resource of Object.values(options.topology.resources)) {
    if (resource.kind === 'stream') await backend.ensureTopic(resource.topic, resource.partitions);
  }

  const consumers: Consumer[] = [];
  return {
    backend,
    description,
    functionEnv,
    async startConsumers(functions) {
      for (const fn of functions.values()) {
        for (const trigger of fn.spec.kafka ?? []) {
          consumers.push(
            await backend.consume({
              // One group per function and topic, as Lambda's event source mapping has.
              group: `fleetkit-local-${fn.name}-${trigger.topic}`,
              topic: trigger.topic,
              maxBatch: trigger.batchSize,
              maxWaitMs: trigger.maxBatchingWindowSeconds * 1000,
              fromBeginning: trigger.startingPosition === 'TRIM_HORIZON',
              onBatch: async (records) => {
                try {
                  // Asked per batch, not once: a Kafka wiped and restarted under a running platform is a new log.
                  const source = localMskEventSource(await backend.logId(trigger.topic), bootstrapServers);
                  await fn.invoke(buildMskEvent(records, source));
                } catch (error) {
                  // Thrown on: the backend hands the same batch over again, as Lambda retries a batch.
                  options.log.event('warn', 'stream batch failed; it will be retried', {
                    function: fn.name,
                    topic: trigger.topic,
                    records: records.length,
                    ...describeError(error),
                  });
                  throw error;
                }
              },
            }),
          );
        }
      }
    },
    async stop() {
      for (const consumer of consumers.splice(0)) await consumer.stop();
      await api?.close();
      await backend.close();
    },
  };
}
