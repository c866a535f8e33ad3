import type { KafkaClient } from '@aws-sdk/client-kafka';
import { DEFAULT_RULES, type TelemetryRule } from '../../lib/protocol/telemetry-rules.ts';
import { createKafkaFromEnv, KafkajsRecordProducer } from '../adapters/kafkajs-record-producer.ts';
import { TopicLogRecordProducer } from '../adapters/topic-log-record-producer.ts';
import type { RecordProducer, RuleStore } from '../ports.ts';
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
 * The telemetry rules, read from the rules table at most once a minute per execution environment.
 * An empty table means the built-in defaults (the seed's HIGH_TEMPERATURE among them).
 */
export function cachedRules(
  store: RuleStore,
  now: () => number,
  ttlMs = 60_000,
): () => Promise<readonly TelemetryRule[]> {
  let cached: { at: number; rules: readonly TelemetryRule[] } | undefined;
  return async () => {
    if (cached !== undefined && now() - cached.at < ttlMs) return cached.rules;
    const stored = await store.list();
    cached = { at: now(), rules: stored.length > 0 ? stored : DEFAULT_RULES };
    return cached.rules;
  };
}
