import { describe, expect, it } from 'vitest';
import { KafkaConfigError } from '../../../lambdas/adapters/kafkajs-record-producer.ts';
import { TopicLogRecordProducer } from '../../../lambdas/adapters/topic-log-record-producer.ts';
import { rareRecordProducerFrom } from '../../../lambdas/services/rare-record-producer.ts';

describe('rareRecordProducerFrom', () => {
  it('is the topic log producer when the env names the local topic log', () => {
    // Act
    const producer = rareRecordProducerFrom({ TOPIC_LOG_ENDPOINT: 'http://127.0.0.1:1' });
    // Assess
    expect(producer).toBeInstanceOf(TopicLogRecordProducer);
  });

  it('loads Kafka on the first send, not when built, and tries again after a failed load', async () => {
    // Prepare: no brokers and no cluster, so Kafka can only fail once something reaches for it.
    const producer = rareRecordProducerFrom({ AWS_REGION: 'us-east-1' });
    const record = { key: 'sim-1', value: '{}' };
    // Act + Assess: nothing to send reaches nothing; each real send reaches Kafka's setup again.
    await expect(producer.send('fleet-alerts', [])).resolves.toBeUndefined();
    await expect(producer.send('fleet-alerts', [record])).rejects.toBeInstanceOf(KafkaConfigError);
    await expect(producer.send('fleet-alerts', [record])).rejects.toThrow(/KAFKA_BROKERS|MSK_CLUSTER_ARN/);
  });
});
