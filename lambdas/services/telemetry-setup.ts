import { KafkaClient } from '@aws-sdk/client-kafka';
import { createKafkaFromEnv, KafkajsRecordProducer } from '../adapters/kafkajs-record-producer.ts';
import { TopicLogRecordProducer } from '../adapters/topic-log-record-producer.ts';
import type { RecordProducer } from '../ports.ts';
import { aws } from '../shared/aws-config.ts';
import type { HandlerEnv } from '../shared/runtime.ts';

/**
 * The producer a handler's env asks for: the local platform's embedded topic log when it gives
 * `TOPIC_LOG_ENDPOINT`, otherwise Kafka through kafkajs (`KAFKA_BROKERS`, or MSK found from
 * `MSK_CLUSTER_ARN` with IAM auth). Configuration picks the adapter; no adapter checks where it runs.
 */
export function recordProducerFrom(env: HandlerEnv, kafkaClient?: KafkaClient): RecordProducer {
  if (env.TOPIC_LOG_ENDPOINT) return new TopicLogRecordProducer({ endpoint: env.TOPIC_LOG_ENDPOINT });
  return new KafkajsRecordProducer({ kafka: () => createKafkaFromEnv(env, kafkaClient) });
}

/**
 * {@link recordProducerFrom} with its own MSK control-plane client, for a function that loads this
 * module only when it first produces (see `rare-record-producer.ts`): the client is built here so that
 * loading the module is all it takes, and a named import keeps the bundle to the one command it sends.
 */
export function recordProducerWithClientFrom(env: HandlerEnv): RecordProducer {
  return recordProducerFrom(env, env.TOPIC_LOG_ENDPOINT ? undefined : new KafkaClient(aws(env, 'KAFKA')));
}
