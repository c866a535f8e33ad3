import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from '../../lambdas/handlers/presence-events/app.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/local/names.ts';
import { topology } from '../../lib/topology.ts';

/**
 * The presence-events handler on dynalite: IoT's `disconnected` lifecycle events, of which only
 * `DUPLICATE_CLIENTID` is recorded on the device's registry item (the audit's CONFLICTING_CLIENT_IDS).
 */

let dynamo: LocalDynamo;
let doc: DynamoDBDocumentClient;
let handler: ReturnType<typeof build>;
const lines: string[] = [];

const disconnected = (clientId: string, timestamp: number, disconnectReason: string) => ({
  clientId,
  timestamp,
  eventType: 'disconnected',
  clientInitiatedDisconnect: false,
  sessionIdentifier: 's',
  principalIdentifier: 'p',
  disconnectReason,
  versionNumber: 3,
});

const item = async (deviceId: string) =>
  (await doc.send(new GetCommand({ TableName: 'registry', Key: { deviceId } }))).Item;

beforeAll(async () => {
  dynamo = await startDynamo({});
  await ensureTable(dynamo.client, 'registry', topology.resources.registry);
  handler = build(
    {
      AWS_REGION: LOCAL_REGION,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      REGISTRY_TABLE_NAME: 'registry',
    },
    { write: (line) => lines.push(line), now: () => 0 },
  );
  doc = DynamoDBDocumentClient.from(dynamo.client);
  await doc.send(new PutCommand({ TableName: 'registry', Item: { deviceId: 'p-1', deviceType: 'tracker' } }));
});

afterAll(async () => {
  await dynamo.close();
});

describe('presence-events', () => {
  it('records a DUPLICATE_CLIENTID disconnection: the latest time, and a count of events', async () => {
    // Act: two events, the later one first (IoT does not promise order)
    const outcomes = [
      await handler(disconnected('p-1', 2_000, 'DUPLICATE_CLIENTID')),
      await handler(disconnected('p-1', 1_000, 'DUPLICATE_CLIENTID')),
    ];

    // Assess
    expect(outcomes).toEqual(['recorded', 'recorded']);
    expect(await item('p-1')).toMatchObject({ lastClientIdConflictAt: 2_000, clientIdConflicts: 2 });
  });

  it('ignores other reasons, and makes no registry item for a client that is not a device', async () => {
    // Act
    const ignored = await handler(disconnected('p-1', 3_000, 'CLIENT_INITIATED_DISCONNECT'));
    const claim = await handler(disconnected('claim-SN-1', 3_000, 'DUPLICATE_CLIENTID'));

    // Assess
    expect([ignored, claim]).toEqual(['ignored', 'unregistered']);
    expect((await item('p-1'))?.lastClientIdConflictAt).toBe(2_000);
    expect(await item('claim-SN-1')).toBeUndefined();
  });

  it('drops an event that is not a disconnection, with a log line naming why', async () => {
    // Act
    const outcome = await handler({ clientId: 'p-1', eventType: 'connected', timestamp: 1 });

    // Assess
    expect(outcome).toBe('dropped');
    expect(lines.some((line) => line.includes('lifecycle event dropped') && line.includes('eventType'))).toBe(
      true,
    );
  });
});
