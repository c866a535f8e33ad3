import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTER_SHARDS, DynamoFleetHealthStore } from '../../lambdas/adapters/dynamo-fleet-health-store.ts';
import { healthCounterChanges } from '../../lambdas/domain/fleet/health.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import { topology } from '../../lib/topology.ts';

const tracker = (firmwareVersion: string, poorSignal: boolean) => ({
  deviceType: 'tracker',
  firmwareVersion,
  online: true,
  lowBattery: false,
  poorSignal,
});

const counters = async (store: DynamoFleetHealthStore) =>
  Object.fromEntries((await store.readAll()).map(({ dimension, counters: c }) => [dimension, c]));

describe('DynamoFleetHealthStore on dynalite', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBDocumentClient;
  let requests: string[];
  let table = 0;

  beforeAll(async () => {
    dynamo = await startDynamo({});
    client = DynamoDBDocumentClient.from(dynamo.client);
    requests = [];
    dynamo.client.middlewareStack.add(
      (next, context) => async (args) => {
        requests.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
  });
  afterAll(async () => {
    await dynamo.close();
  });

  const freshStore = async (shard?: () => number) => {
    const tableName = `fleet-health-${table++}`;
    await ensureTable(dynamo.client, tableName, topology.resources.fleetHealth);
    return new DynamoFleetHealthStore({ client, tableName, ...(shard === undefined ? {} : { shard }) });
  };

  it('moves every dimension a device changes category in with one write', async () => {
    // Prepare: a device on 1.0 with good signal moves to 1.1 with poor signal: all, type and two firmwares.
    const store = await freshStore();
    await store.apply(healthCounterChanges(undefined, tracker('1.0', false)));
    const changes = healthCounterChanges(tracker('1.0', false), tracker('1.1', true));
    requests.length = 0;
    // Act
    await store.apply(changes);
    // Assess
    expect(requests).toEqual(['UpdateItemCommand']);
    expect(await counters(store)).toEqual({
      all: { devices: 1, online: 1, poorSignal: 1 },
      'type:tracker': { devices: 1, online: 1, poorSignal: 1 },
      'firmware:1.0': { devices: 0, online: 0 },
      'firmware:1.1': { devices: 1, online: 1, poorSignal: 1 },
    });
  });

  it('sums 200 concurrent changes spread over the shards exactly', async () => {
    // Prepare
    let next = 0;
    const store = await freshStore(() => next++ % COUNTER_SHARDS);
    // Act: 200 devices join, then 80 of them lose signal, all at once.
    await Promise.all(
      Array.from({ length: 200 }, () => store.apply(healthCounterChanges(undefined, tracker('2.0', false)))),
    );
    await Promise.all(
      Array.from({ length: 80 }, () =>
        store.apply(healthCounterChanges(tracker('2.0', false), tracker('2.0', true))),
      ),
    );
    // Assess
    const all = (await counters(store)).all;
    expect(all).toEqual({ devices: 200, online: 200, poorSignal: 80 });
  });

  it('counts items of the one-item-per-dimension layout, and the recount replaces them', async () => {
    // Prepare: an item as the earlier layout wrote it, then an increment in the new one.
    const store = await freshStore(() => 3);
    const tableName = `fleet-health-${table - 1}`;
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: { dimension: 'all', devices: 5, online: 4, reconciledAt: 1 },
      }),
    );
    await store.apply([{ dimension: 'all', counter: 'online', delta: 1 }]);
    expect((await counters(store)).all).toEqual({ devices: 5, online: 5 });
    // Act
    await store.replaceAll([{ dimension: 'all', counters: { devices: 7, online: 6 } }], 2);
    await store.apply([{ dimension: 'all', counter: 'devices', delta: 1 }]);
    // Assess
    expect(await counters(store)).toEqual({ all: { devices: 8, online: 6 } });
  });
});
