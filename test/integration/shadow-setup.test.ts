import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shadowServiceFrom } from '../../lambdas/services/shadow-setup.ts';
import type { Logger } from '../../lambdas/shared/logger.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/names.ts';
import { topology } from '../../lib/topology.ts';

const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} } as unknown as Logger;

/**
 * The shadow settings a deployment passes as env, read by `shadowServiceFrom` against dynalite. The
 * IoT data plane is a stand-in HTTP server that accepts every Publish (`POST /topics/{topic}`): what
 * is published is not under test here, and the local platform's endpoint would need the whole platform.
 */
describe('shadowServiceFrom: SHADOW_RECENT_CACHE_ENTRIES', () => {
  const tableName = 'setup-shadows';
  let dynamo: LocalDynamo;
  let publishSink: Server;
  let iotData: IoTDataPlaneClient;

  beforeAll(async () => {
    dynamo = await startDynamo({});
    await ensureTable(dynamo.client, tableName, topology.resources.shadows);
    publishSink = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    }).listen(0, '127.0.0.1');
    await once(publishSink, 'listening');
    iotData = new IoTDataPlaneClient({
      endpoint: `http://127.0.0.1:${(publishSink.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });
  afterAll(async () => {
    iotData.destroy();
    publishSink.close();
    await dynamo.close();
  });

  function build(env: Record<string, string>) {
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: dynamo.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }),
    );
    const sent: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCommands' },
    );
    const { service } = shadowServiceFrom({
      dynamo: client,
      iotData,
      env: { SHADOWS_TABLE_NAME: tableName, ...env },
      log: quiet,
      now: () => 1_700_000_000_000,
    });
    return { service, sent };
  }

  it.each<{ setting: Record<string, string>; readsOnSecondUpdate: number }>([
    { setting: {}, readsOnSecondUpdate: 0 },
    { setting: { SHADOW_RECENT_CACHE_ENTRIES: '2000' }, readsOnSecondUpdate: 0 },
    { setting: { SHADOW_RECENT_CACHE_ENTRIES: '0' }, readsOnSecondUpdate: 1 },
  ])(
    '$setting: the second update of a shadow reads it $readsOnSecondUpdate time(s)',
    async ({ setting, readsOnSecondUpdate }) => {
      // Prepare
      const { service, sent } = build(setting);
      const thingName = `thing-${JSON.stringify(setting).length}-${readsOnSecondUpdate}`;
      const update = (n: number) =>
        service.update({ thingName }, JSON.stringify({ state: { reported: { n } } }), { via: 'http' });
      expect((await update(1)).ok).toBe(true);
      sent.length = 0;

      // Act
      const second = await update(2);

      // Assess
      expect(second.ok).toBe(true);
      expect(sent.filter((name) => name === 'GetItemCommand')).toHaveLength(readsOnSecondUpdate);
      expect(sent.filter((name) => name === 'PutItemCommand')).toHaveLength(1);
    },
  );

  it.each(['-1', '1.5', '100001', 'lots'])('refuses %s with the setting named', (value) => {
    expect(() => build({ SHADOW_RECENT_CACHE_ENTRIES: value })).toThrow(
      `setting SHADOW_RECENT_CACHE_ENTRIES must be a whole number from 0 to 100000, got '${value}'`,
    );
  });
});
