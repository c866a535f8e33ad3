import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FirmwareUsage } from '../domain/firmware/ports.ts';
import { aws } from '../shared/aws-config.ts';
import type { HandlerEnv } from '../shared/runtime.ts';
import { firmwareS3Config } from './firmware-setup.ts';
import { rolloutStoreFrom } from './rollouts-setup.ts';

/** The clients an artifact registry's API (firmware, models) works with. */
export interface RegistryClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly kms: KMSClient;
  /** The rollouts: a version an unfinished rollout installs cannot be withdrawn. */
  readonly usage: FirmwareUsage;
}

/**
 * Builds the clients of an artifact registry's HTTP API once, for `api-firmware` and `api-models` alike.
 * Kept apart from `firmware-setup.ts`, which `rollouts-setup.ts` itself builds on.
 */
export function registryClientsFrom(env: HandlerEnv): RegistryClients {
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    dynamo,
    s3: new S3Client(firmwareS3Config(env)),
    kms: new KMSClient(aws(env, 'KMS')),
    usage: rolloutStoreFrom(dynamo, env),
  };
}
