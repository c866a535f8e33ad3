import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../lib/local/dynamo.ts';
import { startDynamoThread } from '../../lib/local/dynamo-thread.ts';

const table = { kind: 'table' as const, description: 'x', partitionKey: { name: 'id', type: 'S' as const } };

describe('the embedded DynamoDB API on its own thread', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetkit-dynamo-thread-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the API, keeps its tables in the data directory, and stops when closed', async () => {
    // Arrange: a first run writes an item
    const first = await startDynamoThread({ path: join(dir, 'dynamo') });
    await ensureTable(first.client, 'things', table);
    await first.client.send(
      new PutItemCommand({ TableName: 'things', Item: { id: { S: 'a' }, n: { N: '1' } } }),
    );
    const port = Number(new URL(first.endpoint).port);
    await first.close();

    // Act: its port is free again, and a second run opens the same directory
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, '127.0.0.1', () => resolve());
    });
    await new Promise((resolve) => probe.close(resolve));
    const second = await startDynamoThread({ path: join(dir, 'dynamo') });
    try {
      const read = await second.client.send(
        new GetItemCommand({ TableName: 'things', Key: { id: { S: 'a' } }, ConsistentRead: true }),
      );

      // Assert
      expect(read.Item).toEqual({ id: { S: 'a' }, n: { N: '1' } });
    } finally {
      await second.close();
    }
  });

  it('fails to start, naming the cause, when its port is taken', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    const { port } = taken.address() as { port: number };
    try {
      await expect(startDynamoThread({ port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
