import { TopicLogRecordProducer } from '../adapters/topic-log-record-producer.ts';
import type { OutgoingRecord, RecordProducer } from '../ports.ts';
import type { HandlerEnv } from '../shared/runtime.ts';

/**
 * `recordProducerFrom`'s producer for a function that sends records only on a rare path (the
 * sweeper, when a device goes silent): kafkajs and the MSK client are loaded on the first send instead
 * of at cold start, where they would be most of the function's import time for a path most
 * invocations never take. The topic log's producer, a few lines of `fetch`, is built at once.
 */
export function rareRecordProducerFrom(env: HandlerEnv): RecordProducer {
  if (env.TOPIC_LOG_ENDPOINT) return new TopicLogRecordProducer({ endpoint: env.TOPIC_LOG_ENDPOINT });
  let producer: Promise<RecordProducer> | undefined;
  const load = async (): Promise<RecordProducer> =>
    (await import('./telemetry-setup.ts')).recordProducerWithClientFrom(env);
  return {
    async send(topic: string, records: readonly OutgoingRecord[]): Promise<void> {
      if (records.length === 0) return;
      if (producer === undefined) {
        const loading = load();
        // A failed load is not kept: the next send tries again.
        loading.catch(() => {
          if (producer === loading) producer = undefined;
        });
        producer = loading;
      }
      await (await producer).send(topic, records);
    },
  };
}
