import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAggregateStore } from '../../adapters/dynamo-aggregate-store.ts';
import { DynamoAlertStore } from '../../adapters/dynamo-alert-store.ts';
import { DynamoDeviceRegistry } from '../../adapters/dynamo-device-registry.ts';
import { DynamoDeviceStateStore } from '../../adapters/dynamo-device-state-store.ts';
import { DynamoFleetHealthStore } from '../../adapters/dynamo-fleet-health-store.ts';
import { DynamoRuleStore } from '../../adapters/dynamo-rule-store.ts';
import { cachedRules } from '../../services/cached-rules.ts';
import { FleetSweeper, type SweepSummary } from '../../services/fleet-sweeper.ts';
import { rareRecordProducerFrom } from '../../services/rare-record-producer.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime, requireEnv } from '../../shared/runtime.ts';

const SERVICE = 'fleet-sweeper';

/** Builds the scheduled sweep: silent devices go offline with a heartbeat alert; idle windows close. */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const table = (name: string) => ({ client: dynamo, tableName: requireEnv(env, name) });
  const sweeper = new FleetSweeper({
    registry: new DynamoDeviceRegistry(table('REGISTRY_TABLE_NAME')),
    states: new DynamoDeviceStateStore(table('DEVICE_STATE_TABLE_NAME')),
    alerts: new DynamoAlertStore(table('ALERTS_TABLE_NAME')),
    aggregates: new DynamoAggregateStore(table('TELEMETRY_AGGREGATES_TABLE_NAME')),
    health: new DynamoFleetHealthStore(table('FLEET_HEALTH_TABLE_NAME')),
    // Alerts go to Kafka only when a device goes silent: kafkajs and the MSK client load then.
    producer: rareRecordProducerFrom(env),
    alertsTopic: requireEnv(env, 'FLEET_ALERTS_STREAM_TOPIC'),
    rules: cachedRules(new DynamoRuleStore(table('TELEMETRY_RULES_TABLE_NAME')), runtime.now),
    metrics: createEmfMetrics(SERVICE, runtime),
    now: runtime.now,
  });

  return async function handler(_event: unknown): Promise<SweepSummary> {
    const summary = await sweeper.sweep();
    if (summary.wentOffline > 0 || summary.alerts > 0) log.info('fleet sweep', { ...summary });
    return summary;
  };
}
