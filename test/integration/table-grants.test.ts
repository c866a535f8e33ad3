import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDeviceRegistry } from '../../lambdas/adapters/dynamo-device-registry.ts';
import { imageKey, OBJECT_PREFIXES } from '../../lambdas/adapters/s3-firmware-store.ts';
import type { HandlerEnv, HandlerRuntime } from '../../lambdas/shared/runtime.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import { localFunctionEnv } from '../../lib/local/functions.ts';
import { LOCAL_REGION, localResourceName } from '../../lib/local/names.ts';
import { type LocalS3, startS3 } from '../../lib/local/s3.ts';
import { accessExtras, TABLE_EXTRA_ACTIONS } from '../../lib/topology/access.ts';
import type { RouteKey, Topology } from '../../lib/topology/model.ts';
import { topology } from '../../lib/topology.ts';
import {
  apiEvent,
  callsOutsideGrants,
  type DynamoCall,
  type DynamoRecorder,
  startDynamoRecorder,
  tableResource,
} from '../support/dynamo-recorder.ts';
import { PROVEN_BY_READING } from '../support/table-grants-explained.ts';

/**
 * Every DynamoDB call a function makes is one its topology `uses` grants — the list the IAM policy is
 * rendered from (`tableActions`) — and every Scan, DeleteItem and BatchWriteItem a use names is one the
 * function makes. The functions run their real handlers against dynalite behind a recorder; locally
 * nothing enforces IAM, so without this a grant that is too narrow only shows as AccessDenied in AWS.
 */

const fleet: Topology = topology;
/** The key every function signs with here; the recorder tells functions apart by the test, not the key. */
const KEY = { accessKeyId: 'fleetkit-grants-test', secretAccessKey: 'fleetkit-grants-test' };
const NOW = Date.UTC(2026, 2, 2, 12);
const HOUR = 3_600_000;

/** `resource:action` pairs some scenario made, for the coverage check at the end. */
const exercised = new Set<string>();

let dynamo: LocalDynamo;
let recorder: DynamoRecorder;
let s3: LocalS3;
let stub: Server;
let stubEndpoint: string;
let dataDir: string;
let doc: DynamoDBDocumentClient;

function spec(name: string) {
  const found = fleet.functions[name];
  if (found === undefined) throw new Error(`no function ${name}`);
  return found;
}

type Handler = (event: unknown) => Promise<unknown>;

/** Builds function `name` from its handler module, its env pointing DynamoDB at the recorder. */
async function build(name: string): Promise<Handler> {
  const module = (await import(`../../lambdas/handlers/${spec(name).handler}/app.ts`)) as {
    build: (env: HandlerEnv, runtime: HandlerRuntime) => Handler;
  };
  const env = localFunctionEnv(fleet, name, {
    credentials: () => KEY,
    dynamodb: recorder.endpoint,
    s3: s3.endpoint,
    iotData: stubEndpoint,
    lambda: stubEndpoint,
    streams: { TOPIC_LOG_ENDPOINT: stubEndpoint },
  });
  return module.build(env, { write: () => {}, now: () => NOW });
}

const http = (routeKey: RouteKey, path: string, body?: unknown, params: Record<string, string> = {}) =>
  apiEvent(routeKey, path, body, params, NOW);

const statusOf = (result: unknown) => (result as { statusCode: number }).statusCode;

/** Sends `events` to an API function in order; the statuses it answered and the calls it made. */
async function routes(
  name: string,
  api: Handler,
  events: readonly unknown[],
): Promise<{ statuses: number[]; calls: DynamoCall[] }> {
  const statuses: number[] = [];
  const calls = await callsDuring(name, async () => {
    for (const event of events) statuses.push(statusOf(await api(event)));
  });
  return { statuses, calls };
}

/** Runs `act`, then returns the calls it made, noting them as exercised by function `name`. */
async function callsDuring(name: string, act: () => Promise<void>): Promise<DynamoCall[]> {
  recorder.calls.length = 0;
  await act();
  const calls = [...recorder.calls];
  for (const call of calls) exercised.add(`${name}:${tableResource(fleet, call.table)}:${call.action}`);
  return calls;
}

const outsideGrants = (name: string, calls: readonly DynamoCall[]) => callsOutsideGrants(fleet, name, calls);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-grants-'));
  dynamo = await startDynamo({});
  for (const [name, resource] of Object.entries(fleet.resources)) {
    if (resource.kind === 'table') await ensureTable(dynamo.client, localResourceName(name), resource);
  }
  doc = DynamoDBDocumentClient.from(dynamo.client, { marshallOptions: { removeUndefinedValues: true } });
  recorder = await startDynamoRecorder(dynamo.endpoint);
  s3 = await startS3({
    directory: join(dataDir, 's3'),
    buckets: [localResourceName('firmware')],
    accessKeys: [KEY],
  });
  // Stands in for the IoT data plane (Publish) and the topic log (produce): both answer 200.
  stub = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  stubEndpoint = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;

  const registry = new DynamoDeviceRegistry({ client: doc, tableName: localResourceName('registry') });
  for (const [deviceId, lastSeen] of [
    ['grant-1', NOW - HOUR],
    ['grant-2', NOW - 1_000],
  ] as const) {
    await registry.recordSighting({
      deviceId,
      deviceType: 'tracker',
      lastSeen,
      firmwareVersion: '1.0.0',
      battery: { percent: 90 },
    });
  }
});

afterAll(async () => {
  await recorder?.close();
  await dynamo?.close();
  await s3?.close();
  await new Promise<void>((resolve) => (stub ? stub.close(() => resolve()) : resolve()));
  await rm(dataDir, { recursive: true, force: true });
});

describe('each function calls DynamoDB only as its uses allow, and uses what they name', () => {
  it('ingestStatus: a status after a reboot records an alert in a batch', async () => {
    // Prepare
    const ingest = await build('ingestStatus');
    const status = (uptimeSeconds: number, receivedAt: number) => ({
      payload: Buffer.from(JSON.stringify({ firmwareVersion: '1.0.0', uptimeSeconds })).toString('base64'),
      deviceType: 'tracker',
      deviceId: 'grant-3',
      clientId: 'grant-3',
      receivedAt,
    });
    // Act
    const calls = await callsDuring('ingestStatus', async () => {
      await ingest(status(5_000, NOW - 60_000));
      await ingest(status(10, NOW));
    });
    // Assess
    expect(outsideGrants('ingestStatus', calls)).toEqual([]);
    expect(calls).toContainEqual({ action: 'dynamodb:BatchWriteItem', table: localResourceName('alerts') });
  });

  it('fleetSweeper: a silent device goes offline; the fleet counters are read whole', async () => {
    // Prepare
    const sweep = await build('fleetSweeper');
    // Act
    const calls = await callsDuring('fleetSweeper', async () => {
      expect(await sweep({})).toMatchObject({ wentOffline: 1 });
    });
    // Assess
    expect(outsideGrants('fleetSweeper', calls)).toEqual([]);
  });

  it('healthReconciler: recounts from a registry Scan and deletes a dimension that emptied', async () => {
    // Prepare
    await doc.send(
      new PutCommand({
        TableName: localResourceName('fleetHealth'),
        Item: { dimension: 'type#retired', counters: { devices: 4 } },
      }),
    );
    const reconcile = await build('healthReconciler');
    // Act
    const calls = await callsDuring('healthReconciler', async () => {
      await reconcile({});
    });
    // Assess
    expect(outsideGrants('healthReconciler', calls)).toEqual([]);
    expect(calls).toContainEqual({ action: 'dynamodb:DeleteItem', table: localResourceName('fleetHealth') });
  });

  it('apiFleet: health, alerts, aggregates, and rules listed, put and deleted', async () => {
    // Prepare
    const api = await build('apiFleet');
    const rule = {
      id: 'grant-hot',
      kind: 'threshold',
      alert: 'GRANT_HOT',
      severity: 'warning',
      metric: 'temperature',
      op: '>',
      value: 70,
    };
    // Act
    const { statuses, calls } = await routes('apiFleet', api, [
      http('GET /fleet/health', '/fleet/health'),
      http('GET /alerts', '/alerts'),
      http('GET /devices/{id}/aggregates', '/devices/grant-1/aggregates', undefined, { id: 'grant-1' }),
      http('GET /telemetry/rules', '/telemetry/rules'),
      http('PUT /telemetry/rules/{ruleId}', '/telemetry/rules/grant-hot', rule, { ruleId: 'grant-hot' }),
      http('DELETE /telemetry/rules/{ruleId}', '/telemetry/rules/grant-hot', undefined, {
        ruleId: 'grant-hot',
      }),
    ]);
    // Assess
    expect(
      statuses.every((status) => status < 300),
      String(statuses),
    ).toBe(true);
    expect(outsideGrants('apiFleet', calls)).toEqual([]);
  });

  it('apiDevices: lists every device (Scan) and by type (Query), reads and patches one', async () => {
    // Prepare
    const api = await build('apiDevices');
    // Act
    const { statuses, calls } = await routes('apiDevices', api, [
      http('GET /devices', '/devices'),
      http('GET /devices', '/devices?type=tracker'),
      http('GET /devices/{id}', '/devices/grant-1', undefined, { id: 'grant-1' }),
      http('PATCH /devices/{id}', '/devices/grant-1', { groups: ['north'] }, { id: 'grant-1' }),
    ]);
    // Assess
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(outsideGrants('apiDevices', calls)).toEqual([]);
  });

  it.each([
    ['apiFirmware', 'firmware', OBJECT_PREFIXES.firmware],
    ['apiModels', 'models', OBJECT_PREFIXES.model],
  ] as const)(
    '%s: a refused upload drops its registration; the catalog is listed; a version withdrawn',
    async (name, r, prefix) => {
      // Prepare
      const api = await build(name);
      const register = (version: string) =>
        http(`POST /${r}`, `/${r}`, { version, deviceTypes: ['tracker'], size: 64, sha256: 'ab'.repeat(32) });
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: LOCAL_REGION,
        credentials: KEY,
        forcePathStyle: true,
      });
      const path = (version: string, tail = '') => ({
        params: { version },
        path: `/${r}/${version}${tail}`,
      });
      // Act
      const statuses: number[] = [];
      const calls = await callsDuring(name, async () => {
        statuses.push(statusOf(await api(register('9.0.0'))));
        // Three bytes where 64 were declared: complete refuses the upload and forgets the version.
        await client.send(
          new PutObjectCommand({
            Bucket: localResourceName('firmware'),
            Key: imageKey('9.0.0', prefix),
            Body: Buffer.from('bad'),
          }),
        );
        const complete = path('9.0.0', '/complete');
        statuses.push(
          statusOf(
            await api(http(`POST /${r}/{version}/complete`, complete.path, undefined, complete.params)),
          ),
        );
        statuses.push(statusOf(await api(http(`GET /${r}`, `/${r}`))));
        statuses.push(statusOf(await api(register('9.0.1'))));
        const withdraw = path('9.0.1');
        statuses.push(
          statusOf(await api(http(`DELETE /${r}/{version}`, withdraw.path, undefined, withdraw.params))),
        );
      });
      client.destroy();
      // Assess
      expect(statuses).toEqual([201, 400, 200, 201, 200]);
      expect(outsideGrants(name, calls)).toEqual([]);
    },
  );

  it('apiRollouts: accepting a rollout stores it PLANNING; its status reads planning progress; a preview scans the registry', async () => {
    // Prepare
    await doc.send(
      new PutCommand({
        TableName: localResourceName('firmwareCatalog'),
        Item: {
          version: '1.1.0',
          deviceTypes: ['tracker'],
          size: 64,
          sha256: 'cd'.repeat(32),
          status: 'available',
          registeredAt: NOW - HOUR,
          upload: { mode: 'single' },
          // Signed as issue 12 stores it: the scheduler refuses an image without a manifest and envelope.
          manifest: {
            purpose: 'firmware',
            version: '1.1.0',
            sha256: 'cd'.repeat(32),
            size: 64,
            deviceTypes: ['tracker'],
            securityVersion: 0,
            issuedAt: (NOW - HOUR) / 1000,
            expiresAt: (NOW + 365 * 24 * HOUR) / 1000,
          },
          envelope: {
            payloadType: 'application/vnd.fleetkit.statement+json',
            payload: 'e30=',
            signatures: [{ keyid: 'alias/fleetkit-local-firmware-signing', sig: 'c2lnbmF0dXJl' }],
          },
          uploadedAt: NOW - HOUR,
        },
      }),
    );
    const api = await build('apiRollouts');
    // Act
    const statuses: number[] = [];
    const calls = await callsDuring('apiRollouts', async () => {
      const created = await api(
        http('POST /rollouts', '/rollouts', {
          rolloutId: 'grant-rollout',
          firmwareVersion: '1.1.0',
          targets: { things: ['grant-1', 'grant-2'] },
        }),
      );
      statuses.push(statusOf(created));
      statuses.push(statusOf(await api(http('GET /rollouts', '/rollouts'))));
      statuses.push(
        statusOf(
          await api(
            http('GET /rollouts/{rolloutId}', '/rollouts/grant-rollout', undefined, {
              rolloutId: 'grant-rollout',
            }),
          ),
        ),
      );
      // A preview plans at once from the whole registry: the function's one Scan of it.
      const preview = await api(
        http('POST /rollouts/preview', '/rollouts/preview', {
          firmwareVersion: '1.1.0',
          targets: { things: ['grant-1', 'grant-2'] },
        }),
      );
      statuses.push(statusOf(preview));
    });
    // Assess
    expect(statuses).toEqual([202, 200, 200, 200]);
    expect(outsideGrants('apiRollouts', calls)).toEqual([]);
    expect(calls).toContainEqual({ action: 'dynamodb:Query', table: localResourceName('rolloutTargets') });
    expect(calls).toContainEqual({ action: 'dynamodb:Scan', table: localResourceName('registry') });
  });

  it('rolloutPlanner: scans the registry in segments, writes the plan in batches, resumes from a Scan', async () => {
    // Prepare
    const planner = await build('rolloutPlanner');
    // Act
    const calls = await callsDuring('rolloutPlanner', async () => {
      expect(await planner({ rolloutId: 'grant-rollout' })).toMatchObject({
        rollouts: [{ rolloutId: 'grant-rollout', outcome: 'planned' }],
      });
      await planner({});
    });
    // Assess
    expect(outsideGrants('rolloutPlanner', calls)).toEqual([]);
    expect(calls).toContainEqual({ action: 'dynamodb:Scan', table: localResourceName('registry') });
    expect(calls).toContainEqual({
      action: 'dynamodb:BatchWriteItem',
      table: localResourceName('rolloutTargets'),
    });
  });

  it('rolloutScheduler: notifies the first wave and takes it out of the plan in a batch', async () => {
    // Prepare
    const tick = await build('rolloutScheduler');
    // Act
    const calls = await callsDuring('rolloutScheduler', async () => {
      expect(await tick({})).toMatchObject({ rollouts: [{ rolloutId: 'grant-rollout', queued: 2 }] });
    });
    // Assess
    expect(outsideGrants('rolloutScheduler', calls)).toEqual([]);
    expect(calls).toContainEqual({
      action: 'dynamodb:BatchWriteItem',
      table: localResourceName('rolloutTargets'),
    });
  });

  it('rolloutReconciler: recounts every rollout', async () => {
    // Prepare
    const reconcile = await build('rolloutReconciler');
    // Act
    const calls = await callsDuring('rolloutReconciler', async () => {
      await reconcile({});
    });
    // Assess
    expect(outsideGrants('rolloutReconciler', calls)).toEqual([]);
  });

  it('apiCommands: a command to a device, its executions, a fleet command by attribute (Scan) and its status', async () => {
    // Prepare
    const api = await build('apiCommands');
    const id = { id: 'grant-2' };
    // Act
    const { statuses, calls } = await routes('apiCommands', api, [
      http('POST /devices/{id}/commands', '/devices/grant-2/commands', { name: 'ping' }, id),
      http('GET /devices/{id}/commands', '/devices/grant-2/commands', undefined, id),
      http('POST /commands', '/commands', {
        batchId: 'grant-batch',
        name: 'sample-now',
        targets: { attributes: [{ attribute: 'firmwareVersion', op: 'eq', value: '1.0.0' }] },
      }),
      http('GET /commands/{batchId}', '/commands/grant-batch', undefined, { batchId: 'grant-batch' }),
    ]);
    // Assess
    expect(statuses).toEqual([202, 200, 202, 200]);
    expect(outsideGrants('apiCommands', calls)).toEqual([]);
  });

  it('commandsMqtt: a sign of life sends what waits; an answer moves its execution and its counters', async () => {
    // Prepare
    const mqtt = await build('commandsMqtt');
    const [execution] =
      (
        await doc.send(
          new QueryCommand({
            TableName: localResourceName('commandExecutions'),
            KeyConditionExpression: 'deviceId = :d',
            ExpressionAttributeValues: { ':d': 'grant-1' },
          }),
        )
      ).Items ?? [];
    // Act
    const calls = await callsDuring('commandsMqtt', async () => {
      await mqtt({ kind: 'status', deviceId: 'grant-1', receivedAt: NOW });
      const answer = { executionId: execution?.executionId, status: 'SUCCEEDED' };
      await mqtt({
        kind: 'command-answers',
        payload: Buffer.from(JSON.stringify(answer)).toString('base64'),
        deviceType: 'tracker',
        deviceId: 'grant-1',
        clientId: 'grant-1',
        receivedAt: NOW,
      });
    });
    // Assess
    expect(outsideGrants('commandsMqtt', calls)).toEqual([]);
    expect(calls).toContainEqual({
      action: 'dynamodb:UpdateItem',
      table: localResourceName('commandCounters'),
    });
  });

  it('commandsScheduler: dispatches fleet commands (a Scan of the batches) and sweeps what is due', async () => {
    // Prepare
    const tick = await build('commandsScheduler');
    // Act
    const calls = await callsDuring('commandsScheduler', async () => {
      await tick({});
    });
    // Assess
    expect(outsideGrants('commandsScheduler', calls)).toEqual([]);
  });

  it('the extras every function names were each made by a scenario above, or are explained', () => {
    // Act
    const unexplained = Object.entries(fleet.functions).flatMap(([name, fn]) =>
      Object.entries(fn.uses ?? {}).flatMap(([resource, use]) =>
        accessExtras(use ?? 'read')
          .filter((extra) => !exercised.has(`${name}:${resource}:${TABLE_EXTRA_ACTIONS[extra]}`))
          .map((extra) => `${name}:${resource}:${extra}`)
          .filter((key) => PROVEN_BY_READING[key] === undefined),
      ),
    );
    // Assess
    expect(unexplained).toEqual([]);
  });
});
