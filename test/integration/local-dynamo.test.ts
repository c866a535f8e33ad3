import { DescribeTableCommand, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';

describe('ensureTable on dynalite', () => {
  let dynamo: LocalDynamo;

  beforeAll(async () => {
    dynamo = await startDynamo({});
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it('adds an index the topology gained since the table was made, keeping its items', async () => {
    // Prepare: a table from an earlier run, without the index
    await ensureTable(dynamo.client, 'upgraded', {
      kind: 'table',
      description: 'x',
      partitionKey: { name: 'id', type: 'S' },
    });
    await dynamo.client.send(
      new PutItemCommand({ TableName: 'upgraded', Item: { id: { S: 'a' }, color: { S: 'red' } } }),
    );

    // Act
    await ensureTable(dynamo.client, 'upgraded', {
      kind: 'table',
      description: 'x',
      partitionKey: { name: 'id', type: 'S' },
      indexes: [{ name: 'byColor', partitionKey: { name: 'color', type: 'S' } }],
    });

    // Assess
    const table = (await dynamo.client.send(new DescribeTableCommand({ TableName: 'upgraded' }))).Table;
    expect(table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['byColor']);
    expect((await dynamo.client.send(new ScanCommand({ TableName: 'upgraded' }))).Items).toEqual([
      { id: { S: 'a' }, color: { S: 'red' } },
    ]);
  });

  it('rebuilds an index whose projection the topology changed, keeping its items', async () => {
    // Prepare: a table from an earlier run, its index projecting whole items
    const index = { name: 'byColor', partitionKey: { name: 'color', type: 'S' as const } };
    const spec = {
      kind: 'table' as const,
      description: 'x',
      partitionKey: { name: 'id', type: 'S' as const },
    };
    await ensureTable(dynamo.client, 'narrowed', { ...spec, indexes: [index] });
    await dynamo.client.send(
      new PutItemCommand({
        TableName: 'narrowed',
        Item: { id: { S: 'a' }, color: { S: 'red' }, size: { N: '3' } },
      }),
    );

    // Act
    await ensureTable(dynamo.client, 'narrowed', {
      ...spec,
      indexes: [{ ...index, projection: 'KEYS_ONLY' }],
    });

    // Assess: the index copies keys only; the table keeps the whole item
    const table = (await dynamo.client.send(new DescribeTableCommand({ TableName: 'narrowed' }))).Table;
    expect(table?.GlobalSecondaryIndexes?.map((i) => i.Projection?.ProjectionType)).toEqual(['KEYS_ONLY']);
    const found = await dynamo.client.send(
      new QueryCommand({
        TableName: 'narrowed',
        IndexName: 'byColor',
        KeyConditionExpression: 'color = :c',
        ExpressionAttributeValues: { ':c': { S: 'red' } },
      }),
    );
    expect(found.Items).toEqual([{ id: { S: 'a' }, color: { S: 'red' } }]);
    expect((await dynamo.client.send(new ScanCommand({ TableName: 'narrowed' }))).Items).toEqual([
      { id: { S: 'a' }, color: { S: 'red' }, size: { N: '3' } },
    ]);
  });

  it('leaves an up-to-date table and its items alone', async () => {
    const spec = {
      kind: 'table' as const,
      description: 'x',
      partitionKey: { name: 'id', type: 'S' as const },
    };
    await ensureTable(dynamo.client, 'steady', spec);
    await dynamo.client.send(new PutItemCommand({ TableName: 'steady', Item: { id: { S: 'b' } } }));

    await ensureTable(dynamo.client, 'steady', spec);

    expect((await dynamo.client.send(new ScanCommand({ TableName: 'steady' }))).Items).toEqual([
      { id: { S: 'b' } },
    ]);
  });
});
