import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KafkaClient } from '@aws-sdk/client-kafka';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseMskEvent } from '../../../lib/protocol/msk-event.ts';
import { DynamoAggregateStore } from '../../adapters/dynamo-aggregate-store.ts';
import { DynamoAlertStore } from '../../adapters/dynamo-alert-store.ts';
import { DynamoDeviceRegistry } from '../../adapters/dynamo-device-registry.ts';
import { DynamoDeviceStateStore } from '../../adapters/dynamo-device-state-store.ts';
import { DynamoFleetHealthStore } from '../../adapters/dynamo-fleet-health-store.ts';
import { DynamoRuleStore } from '../../adapters/dynamo-rule-store.ts';
import { cachedRules } from '../../services/cached-rules.ts';
import { type BatchSummary, StreamProcessor } from '../../services/stream-processor.ts';
import { recordProducerFrom } from '../../services/telemetry-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime, requireEnv } from '../../shared/runtime.ts';

const SERVICE = 'stream-processor';

/**
 * Builds the telemetry stream processor: an MSK event (Lambda's Kafka event source in AWS, the local
 * platform's topic log locally) → `StreamProcessor`. It throws only when retrying the batch can help
 * (a store or Kafka outage, a state conflict); bad records go to the dead-letter stream instead.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const kafka = new KafkaClient(aws(env, 'KAFKA'));
  const table = (name: string) => ({ client: dynamo, tableName: requireEnv(env, name) });
  const processor = new StreamProcessor({
    states: new DynamoDeviceStateStore(table('DEVICE_STATE_TABLE_NAME')),
    alerts: new DynamoAlertStore(table('ALERTS_TABLE_NAME')),
    aggregates: new DynamoAggregateStore(table('TELEMETRY_AGGREGATES_TABLE_NAME')),
    registry: new DynamoDeviceRegistry(table('REGISTRY_TABLE_NAME')),
    health: new DynamoFleetHealthStore(table('FLEET_HEALTH_TABLE_NAME')),
    producer: recordProducerFrom(env, kafka),
    topics: {
      processed: requireEnv(env, 'PROCESSED_TELEMETRY_STREAM_TOPIC'),
      alerts: requireEnv(env, 'FLEET_ALERTS_STREAM_TOPIC'),
      deadLetters: requireEnv(env, 'TELEMETRY_DEAD_LETTERS_STREAM_TOPIC'),
    },
    rules: cachedRules(
      new DynamoRuleStore({
        ...table('TELEMETRY_RULES_TABLE_NAME'),
        onInvalid: (ruleId, reason) => log.warn('invalid telemetry rule skipped', { ruleId, reason }),
      }),
      runtime.now,
    ),
    metrics,
    log,
    now: runtime.now,
  });

  return async function handler(event: unknown): Promise<BatchSummary> {
    // An event Lambda itself built cannot be malformed; if it is, failing loudly is the only safe answer.
    const summary = await processor.handle(parseMskEvent(event));
    if (summary.rejected > 0) log.warn('telemetry records rejected', { ...summary });
    return summary;
  };
}
