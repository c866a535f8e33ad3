import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** DynamoDB's limits per request: 25 writes, 100 reads. */
const WRITE_CHUNK = 25;
const READ_CHUNK = 100;

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

/** Batches in flight at once: a large write (a rollout's plan) is not one round trip after another. */
const PARALLEL_BATCHES = 8;

/** Sends write requests in batches of 25, several at once, resending what DynamoDB leaves unprocessed. */
async function writeAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  all: readonly WriteRequest[],
): Promise<void> {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < all.length; i += WRITE_CHUNK) chunks.push(all.slice(i, i + WRITE_CHUNK));
  let next = 0;
  const worker = async () => {
    for (let chunk = chunks[next++]; chunk !== undefined; chunk = chunks[next++]) {
      let requests = chunk;
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await pause(Math.min(1000, 25 * 2 ** attempt));
        const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        requests = (result.UnprocessedItems?.[tableName] ?? []) as WriteRequest[];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_BATCHES, chunks.length) }, worker));
}

/**
 * Writes items in batches of 25, resending what DynamoDB leaves unprocessed (throttling) with backoff
 * until everything is written — a batch write may otherwise silently drop items.
 */
export function batchPut(
  client: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
): Promise<void> {
  return writeAll(
    client,
    tableName,
    items.map((Item) => ({ PutRequest: { Item } })),
  );
}

/** Deletes items by key in batches of 25, resending what DynamoDB leaves unprocessed. */
export function batchDelete(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
): Promise<void> {
  return writeAll(
    client,
    tableName,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );
}

/** Reads items by key in batches of 100, resending unprocessed keys; returns the items found. */
export async function batchGet(
  client: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, unknown>[],
  consistent = true,
): Promise<Record<string, unknown>[]> {
  const found: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += READ_CHUNK) {
    let pending = keys.slice(i, i + READ_CHUNK);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await pause(Math.min(1000, 25 * 2 ** attempt));
      const result = await client.send(
        new BatchGetCommand({
          RequestItems: { [tableName]: { Keys: [...pending], ConsistentRead: consistent } },
        }),
      );
      found.push(...((result.Responses?.[tableName] ?? []) as Record<string, unknown>[]));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as typeof pending;
    }
  }
  return found;
}
