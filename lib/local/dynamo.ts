import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { TableResource } from '../topology/model.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './names.ts';

/** The embedded DynamoDB API (dynalite), data kept on disk when `path` is given. */
export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  close(): Promise<void>;
}

/**
 * Starts dynalite on loopback. dynalite speaks DynamoDB's JSON API, so the platform and handlers use
 * the real `@aws-sdk/client-dynamodb` against it; it lacks transactions and PartiQL, which fleetkit
 * therefore does not use.
 */
export async function startDynamo(options: {
  path?: string;
  host?: string;
  port?: number;
}): Promise<LocalDynamo> {
  const server: Server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const endpoint = `http://${host}:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Creates a topology table unless it exists (tables survive restarts in the data directory). */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  table: TableResource,
): Promise<void> {
  const attributes = new Map<string, AttributeDefinition>();
  const keys = [
    table.partitionKey,
    table.sortKey,
    ...(table.indexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  for (const key of keys) {
    if (key !== undefined) attributes.set(key.name, { AttributeName: key.name, AttributeType: key.type });
  }
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' as const },
    ...(sk === undefined ? [] : [{ AttributeName: sk.name, KeyType: 'RANGE' as const }]),
  ];
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes.values()],
        KeySchema: keySchema(table.partitionKey, table.sortKey),
        ...(table.indexes?.length
          ? {
              GlobalSecondaryIndexes: table.indexes.map((index) => ({
                IndexName: index.name,
                KeySchema: keySchema(index.partitionKey, index.sortKey),
                Projection: { ProjectionType: 'ALL' },
              })),
            }
          : {}),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}
