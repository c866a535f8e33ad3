import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';

/**
 * dynalite 4 read its tables through streams over abstract-level iterators and never closed them:
 * `destroy` called an `iterator.return()` that abstract-level iterators do not have, and a Query or
 * Scan that stopped at its Limit left its stream unread. Every such request kept a LevelDB iterator
 * open for the life of the process — and with it a pinned memtable and up to 1,000 read-ahead items:
 * `npm start` with 1,000 simulated devices grew by gigabytes. `patches/dynalite+4.0.0.patch`
 * (applied by `npm ci`'s postinstall) closes them; these tests count the iterators left open.
 */
type Resource = object;
interface AbstractLevelClass {
  prototype: { attachResource(r: Resource): void; detachResource(r: Resource): void };
}
const requireFromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
const { AbstractLevel } = requireFromDynalite('abstract-level') as { AbstractLevel: AbstractLevelClass };

/** Iterators (and other resources) the embedded DynamoDB's level databases hold open now. */
const open = new Set<Resource>();
const { attachResource, detachResource } = AbstractLevel.prototype;

const table = {
  kind: 'table' as const,
  description: 'x',
  partitionKey: { name: 'pk', type: 'S' as const },
  sortKey: { name: 'sk', type: 'S' as const },
  indexes: [{ name: 'byColor', partitionKey: { name: 'color', type: 'S' as const } }],
};

describe.each([
  ['on disk', true],
  ['in memory', false],
])('dynalite %s closes the iterators of every read', (_label, onDisk) => {
  let dynamo: LocalDynamo;
  let dir: string;

  beforeAll(async () => {
    AbstractLevel.prototype.attachResource = function (this: unknown, r: Resource) {
      open.add(r);
      attachResource.call(this, r);
    };
    AbstractLevel.prototype.detachResource = function (this: unknown, r: Resource) {
      open.delete(r);
      detachResource.call(this, r);
    };
    dir = await mkdtemp(join(tmpdir(), 'fleetkit-dynalite-'));
    dynamo = await startDynamo(onDisk ? { path: dir } : {});
    await ensureTable(dynamo.client, 'things', table);
    for (let i = 0; i < 40; i++)
      await dynamo.client.send(
        new PutItemCommand({
          TableName: 'things',
          Item: { pk: { S: 'p' }, sk: { S: `s${String(i).padStart(3, '0')}` }, color: { S: 'red' } },
        }),
      );
  });
  afterAll(async () => {
    await dynamo.close();
    AbstractLevel.prototype.attachResource = attachResource;
    AbstractLevel.prototype.detachResource = detachResource;
    await rm(dir, { recursive: true, force: true });
  });

  /** Settles the stream teardown that follows each response. */
  const settled = async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('after Queries and Scans that stop at their Limit, on the table and on an index', async () => {
    const before = open.size;
    for (let i = 0; i < 20; i++) {
      const page = await dynamo.client.send(
        new QueryCommand({
          TableName: 'things',
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
          Limit: 2,
        }),
      );
      expect(page.Items).toHaveLength(2);
      await dynamo.client.send(
        new QueryCommand({
          TableName: 'things',
          IndexName: 'byColor',
          KeyConditionExpression: 'color = :c',
          ExpressionAttributeValues: { ':c': { S: 'red' } },
          Limit: 1,
        }),
      );
      await dynamo.client.send(new ScanCommand({ TableName: 'things', Limit: 3 }));
    }
    await settled();

    expect(open.size - before).toBe(0);
  });

  it('after reads that run to the end', async () => {
    const before = open.size;
    for (let i = 0; i < 10; i++) {
      const all = await dynamo.client.send(
        new QueryCommand({
          TableName: 'things',
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
        }),
      );
      expect(all.Items).toHaveLength(40);
      await dynamo.client.send(new ScanCommand({ TableName: 'things' }));
    }
    await settled();

    expect(open.size - before).toBe(0);
  });
});
