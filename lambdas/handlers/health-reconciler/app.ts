import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeviceRegistry } from '../../adapters/dynamo-device-registry.ts';
import { DynamoFleetHealthStore } from '../../adapters/dynamo-fleet-health-store.ts';
import { reconcileFleetHealth } from '../../services/health-reconciler.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime, requireEnv } from '../../shared/runtime.ts';

/** Builds the hourly reconciler of the fleet health counters. */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger('health-reconciler', runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')));
  const registry = new DynamoDeviceRegistry({
    client: dynamo,
    tableName: requireEnv(env, 'REGISTRY_TABLE_NAME'),
  });
  const health = new DynamoFleetHealthStore({
    client: dynamo,
    tableName: requireEnv(env, 'FLEET_HEALTH_TABLE_NAME'),
  });

  return async function handler(_event: unknown) {
    const result = await reconcileFleetHealth(registry, health, runtime.now());
    log.info('fleet health recounted', result);
    return result;
  };
}
