import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AttributeDefinition,
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
  ScanCommand,
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

/** Where the embedded DynamoDB API keeps its data and listens. */
export interface LocalDynamoOptions {
  /** Data directory; in memory without one. */
  readonly path?: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free one. @default 0 */
  readonly port?: number;
}

/** dynalite's settings, on this thread or another: tables are ready at once, as tests and the platform expect. */
export function dynaliteOptions(path: string | undefined) {
  return {
    ...(path === undefined ? {} : { path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  };
}

/**
 * Starts dynalite on loopback. dynalite speaks DynamoDB's JSON API, so the platform and handlers use
 * the real `@aws-sdk/client-dynamodb` against it; it lacks transactions and PartiQL, which fleetkit
 * therefore does not use. The platform runs it on a thread of its own (`startDynamoThread`).
 */
export async function startDynamo(options: LocalDynamoOptions): Promise<LocalDynamo> {
  const server: Server = dynalite(dynaliteOptions(options.path));
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  return localDynamoAt(
    `http://${host}:${(server.address() as AddressInfo).port}`,
    () => new Promise<void>((resolve) => server.close(() => resolve())),
  );
}

/** A client of the DynamoDB API at `endpoint`; `close` lets go of it, then stops the server there. */
export function localDynamoAt(endpoint: string, stopServer: () => Promise<void>): LocalDynamo {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    client,
    close: async () => {
      client.destroy();
      await stopServer();
    },
  };
}

/** A DynamoDB API someone else runs, as a {@link LocalDynamo} whose `close` only lets go of the client. */
export function connectDynamo(endpoint: string): LocalDynamo {
  return localDynamoAt(endpoint, async () => {});
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
  const create = async () => {
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
                Projection: { ProjectionType: index.projection ?? 'ALL' },
              })),
            }
          : {}),
      }),
    );
  };
  try {
    await create();
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    await addMissingIndexes(
      client,
      tableName,
      create,
      (table.indexes ?? []).map((index) => `${index.name} ${index.projection ?? 'ALL'}`),
    );
  }
}

/**
 * A table kept from an earlier run may predate an index the topology now declares, or hold it with
 * another projection. CloudFormation adds an index in place; dynalite cannot (UpdateTable there only
 * changes throughput), so the table is rebuilt: items copied out, table recreated with its indexes,
 * items written back.
 *
 * @param wanted each index as `<name> <projection type>`
 */
async function addMissingIndexes(
  client: DynamoDBClient,
  tableName: string,
  create: () => Promise<void>,
  wanted: readonly string[],
): Promise<void> {
  const described = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const existing = new Set(
    (described.Table?.GlobalSecondaryIndexes ?? []).map(
      (i) => `${i.IndexName} ${i.Projection?.ProjectionType ?? 'ALL'}`,
    ),
  );
  if (wanted.every((name) => existing.has(name))) return;
  const items: Record<string, AttributeValue>[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  await client.send(new DeleteTableCommand({ TableName: tableName }));
  await create();
  for (let i = 0; i < items.length; i += 25) {
    let requests = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (requests.length > 0) {
      const result = await client.send(
        new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }),
      );
      requests = (result.UnprocessedItems?.[tableName] ?? []) as typeof requests;
    }
  }
}
