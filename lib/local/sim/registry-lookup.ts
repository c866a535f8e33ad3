import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeviceRegistry } from '../../../lambdas/adapters/dynamo-device-registry.ts';
import type { RolloutDevice } from '../../../lambdas/domain/rollout/targets.ts';
import type { RegistryLookup } from './fault-book.ts';

/**
 * Reads the registry records (groups, attributes, reported firmware) of simulated devices, for a
 * fault whose targets name groups or attributes: the registry adapter's batch get on the platform's
 * DynamoDB API.
 */
export function registryLookup(client: DynamoDBClient, tableName: string): RegistryLookup {
  const registry = new DynamoDeviceRegistry({ client: DynamoDBDocumentClient.from(client), tableName });
  return async (things) => {
    const records = await registry.getMany(things);
    return new Map(
      records.map((record): [string, RolloutDevice] => [
        record.deviceId,
        {
          thingName: record.deviceId,
          deviceType: record.deviceType,
          firmwareVersion: record.firmwareVersion ?? '',
          ...(record.groups === undefined ? {} : { groups: record.groups }),
          ...(record.attributes === undefined ? {} : { attributes: record.attributes }),
        },
      ]),
    );
  };
}
