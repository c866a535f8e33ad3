import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoShadowStore } from '../../lambdas/adapters/dynamo-shadow-store.ts';
import { AWS_SHADOW_LIMITS } from '../../lambdas/domain/shadow/document.ts';
import type { Publisher } from '../../lambdas/ports.ts';
import { ShadowService } from '../../lambdas/services/shadow-service.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/names.ts';
import { type ShadowFixture, startShadowFixture } from '../support/shadow-store.ts';

/** A publisher that answers on a later turn of the event loop and notes how many publishes overlap. */
class OverlapPublisher implements Publisher {
  readonly topics: string[] = [];
  inFlight = 0;
  mostInFlight = 0;

  async publish(topic: string): Promise<void> {
    this.topics.push(topic);
    this.inFlight++;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    await new Promise((resolve) => setImmediate(resolve));
    this.inFlight--;
  }
}

/**
 * The I/O of one shadow update, counted where it happens: DynamoDB requests on the wire, publishes at
 * the publisher. The shadow bench compares the handler with exactly this much raw I/O.
 */
describe('shadow update I/O', () => {
  let f: ShadowFixture;
  let requests: string[];
  let store: DynamoShadowStore;

  beforeAll(async () => {
    f = await startShadowFixture();
    const client = new DynamoDBClient({
      endpoint: f.dynamo.endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    requests = [];
    client.middlewareStack.add(
      (next, context) => async (args) => {
        requests.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
    store = new DynamoShadowStore({ client: DynamoDBDocumentClient.from(client), tableName: 'shadows' });
  });
  afterAll(async () => {
    await f.close();
  });

  const service = (publisher: Publisher, recentShadows: number) =>
    new ShadowService({
      store,
      publisher,
      limits: AWS_SHADOW_LIMITS,
      history: { maxEntries: 5, maxBytes: 16 * 1024 },
      log: { warn: () => {} },
      recentShadows,
    });

  it('publishes the answer, the delta and the documents at once, not one after another', async () => {
    // Prepare
    const publisher = new OverlapPublisher();
    // Act: desired without reported leaves a delta, so all three go out.
    const result = await service(publisher, 0).update(
      { thingName: 'overlap' },
      JSON.stringify({ state: { desired: { mode: 'eco' } } }),
      { via: 'mqtt' },
    );
    // Assess
    expect(result.ok).toBe(true);
    expect(publisher.topics.map((t) => t.split('/').slice(-2).join('/')).sort()).toEqual([
      'update/accepted',
      'update/delta',
      'update/documents',
    ]);
    expect(publisher.mostInFlight).toBe(3);
  });

  it('with the recent-shadows cache off, an update of an existing shadow is one read and one conditional write', async () => {
    // Prepare
    const shadows = service(new OverlapPublisher(), 0);
    const id = { thingName: 'cold-io' };
    await shadows.update(id, JSON.stringify({ state: { reported: { v: 1 } } }), { via: 'mqtt' });
    requests.length = 0;
    // Act
    const result = await shadows.update(id, JSON.stringify({ state: { reported: { v: 2 } } }), {
      via: 'mqtt',
    });
    // Assess
    expect(result.ok).toBe(true);
    expect(requests).toEqual(['GetItemCommand', 'PutItemCommand']);
  });

  it('reads the recent request ids of an item written with them as a list, and answers their retry', async () => {
    // Prepare: a shadow as the store wrote it before keeping the ids as JSON text.
    const requestId = '22222222-2222-4222-8222-222222222222';
    await DynamoDBDocumentClient.from(f.dynamo.client).send(
      new PutCommand({
        TableName: 'shadows',
        Item: {
          thingName: 'list-tokens',
          shadowName: '#classic',
          revision: 1,
          version: 1,
          timestamp: 1_700_000_000,
          exists: true,
          document: JSON.stringify({
            state: { reported: { on: true } },
            metadata: { reported: { on: { timestamp: 1_700_000_000 } } },
          }),
          tokens: [{ requestId, requestHash: 'x', version: 1, timestamp: 1_700_000_000 }],
        },
      }),
    );
    // Act: the same delivery again.
    const again = await service(new OverlapPublisher(), 0).update(
      { thingName: 'list-tokens' },
      JSON.stringify({ state: { reported: { on: true } } }),
      { via: 'mqtt', requestId },
    );
    // Assess: answered with the version it made, not applied a second time.
    expect(again).toMatchObject({ ok: true, body: { version: 1 } });
    expect((await store.load({ thingName: 'list-tokens' }))?.record.version).toBe(1);
  });
});
