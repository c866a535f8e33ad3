import { randomUUID } from 'node:crypto';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoShadowStore } from '../lambdas/adapters/dynamo-shadow-store.ts';
import { AWS_SHADOW_LIMITS } from '../lambdas/domain/shadow/document.ts';
import { ShadowService } from '../lambdas/services/shadow-service.ts';
import { ensureTable } from '../lib/local/dynamo.ts';
import { LOCAL_REGION } from '../lib/local/names.ts';
import { topology } from '../lib/topology.ts';
import { median, metric, progress, runConcurrently, startBenchPlatform } from './support.ts';

/**
 * Shadow updates through the shadow-mqtt handler (rule event → validate → load → merge/delta →
 * conditional write → history → publish accepted/documents through the IoT data plane API to the
 * broker) against the same I/O done with bare SDK calls on the same dynalite and the same IoT data
 * endpoint: one conditional UpdateItem, then the publishes AWS's semantics require for such an update
 * (`/update/accepted` and `/update/documents`; no delta, the updates report only), in parallel. Same
 * concurrency, many shadows (one writer per shadow at a time, as devices behave).
 *
 * shadow_update_vs_raw_ratio = time per handler update ÷ time per raw write + publishes (goal ≤ 1.3).
 * shadow_update_vs_raw_ratio_cold = the same with the recent-shadows cache off
 *   (`SHADOW_RECENT_CACHE_ENTRIES=0`, a second platform in the same run): every update reads the shadow
 *   first, as a Lambda fleet with many instances mostly sees it (an instance rarely wrote the shadow
 *   it is asked to update); its raw side reads first too (GetItem, then the write and publishes)
 *   (goal ≤ 1.5).
 * shadow_update_vs_raw_write_ratio = the handler against the raw conditional write alone (the figure
 *   this bench reported before issue 14), and shadow_store_update_vs_raw_ratio = the handler's store path
 *   without publishing against the same write: the breakdown.
 */
const UPDATES = 1_200;
const SHADOWS = 64;
const CONCURRENCY = 16;
const ROUNDS = 5;

const { platform, raw, stop } = await startBenchPlatform();
const cold = await startBenchPlatform({ SHADOW_RECENT_CACHE_ENTRIES: '0' });
const handler = platform.functions.get('shadowMqtt');
const coldHandler = cold.platform.functions.get('shadowMqtt');
if (handler === undefined || coldHandler === undefined) throw new Error('no shadowMqtt function');
await ensureTable(raw, 'bench-raw-shadows', topology.resources.shadows);

const state = (i: number) => ({
  reported: { temperature: 20 + (i % 10), mode: i % 2 ? 'eco' : 'boost', fw: '1.4.2' },
});
// Shadows are spread over writers so that no two updates of one shadow run at once.
const shadowOf = (i: number) => `bench-${i % SHADOWS}`;

async function handlerRound(offset: number, through = handler): Promise<number> {
  const start = performance.now();
  await runConcurrently(UPDATES, CONCURRENCY, async (i) => {
    const n = offset + i;
    const result = (await through?.invoke({
      payload: Buffer.from(JSON.stringify({ state: state(n) })).toString('base64'),
      topic: `fleet/things/${shadowOf(i)}/shadow/update`,
      clientId: shadowOf(i),
      receivedAt: Date.now(),
      requestId: randomUUID(),
    })) as { ok: boolean };
    if (!result.ok) throw new Error(`update ${n} refused: ${JSON.stringify(result)}`);
  });
  return (performance.now() - start) / UPDATES;
}

// The same updates through the shadow service with a publisher that drops messages: the store path
// alone (validate, merge, history, one conditional write), to show where the handler's time goes.
const quietService = new ShadowService({
  store: new DynamoShadowStore({
    client: DynamoDBDocumentClient.from(raw),
    tableName: 'fleetkit-local-shadows',
  }),
  publisher: { publish: async () => {} },
  limits: AWS_SHADOW_LIMITS,
  history: { maxEntries: 20, maxBytes: 16 * 1024 },
  log: { warn: () => {} },
});

async function storeRound(offset: number): Promise<number> {
  const start = performance.now();
  await runConcurrently(UPDATES, CONCURRENCY, async (i) => {
    const result = await quietService.update(
      { thingName: `store-${i % SHADOWS}` },
      JSON.stringify({ state: state(offset + i) }),
      { via: 'http' },
    );
    if (!result.ok) throw new Error(`store update refused: ${JSON.stringify(result)}`);
  });
  return (performance.now() - start) / UPDATES;
}

// The operator's key: the local data plane takes only signed requests, and the operator may publish
// wherever a function may (the shadow topics among them).
const iotData = new IoTDataPlaneClient({
  endpoint: platform.iotDataEndpoint,
  region: LOCAL_REGION,
  credentials: {
    accessKeyId: platform.credentials.accessKeyId,
    secretAccessKey: platform.credentials.secretAccessKey,
  },
});
const encoder = new TextEncoder();
const versions = new Map<string, number>();

/** One raw conditional write of the shadow's state: the store I/O of an update, nothing else. */
async function rawWrite(key: string, n: number): Promise<number> {
  const version = versions.get(key) ?? 0;
  versions.set(key, version + 1);
  await raw.send(
    new UpdateItemCommand({
      TableName: 'bench-raw-shadows',
      Key: { thingName: { S: key }, shadowName: { S: '#classic' } },
      UpdateExpression: 'SET #doc = :doc, #version = :next',
      ConditionExpression: 'attribute_not_exists(#version) OR #version = :current',
      ExpressionAttributeNames: { '#doc': 'document', '#version': 'version' },
      ExpressionAttributeValues: {
        ':doc': { S: JSON.stringify({ state: state(n) }) },
        ':next': { N: String(version + 1) },
        ':current': { N: String(version) },
      },
    }),
  );
  return version + 1;
}

/** The publishes AWS sends for an accepted update that leaves no delta, together, as the handler does. */
async function rawPublishes(key: string, n: number, version: number): Promise<void> {
  const timestamp = Math.floor(Date.now() / 1000);
  const accepted = { state: state(n), metadata: {}, version, timestamp };
  const documents = { previous: { state: state(n - 1), version: version - 1 }, current: accepted, timestamp };
  await Promise.all(
    [
      [`fleet/things/${key}/shadow/update/accepted`, accepted],
      [`fleet/things/${key}/shadow/update/documents`, documents],
    ].map(([topic, body]) =>
      iotData.send(
        new PublishCommand({
          topic: topic as string,
          qos: 1,
          payload: encoder.encode(JSON.stringify(body)),
        }),
      ),
    ),
  );
}

/**
 * The raw side: `what` = `write` (the conditional write alone), `update` (write + publishes) or `cold`
 * (GetItem first, as an update with no cached copy reads before it writes).
 */
async function rawRound(offset: number, what: 'write' | 'update' | 'cold'): Promise<number> {
  const start = performance.now();
  await runConcurrently(UPDATES, CONCURRENCY, async (i) => {
    const key = shadowOf(i);
    const n = offset + i;
    if (what === 'cold') {
      await raw.send(
        new GetItemCommand({
          TableName: 'bench-raw-shadows',
          Key: { thingName: { S: key }, shadowName: { S: '#classic' } },
          ConsistentRead: true,
        }),
      );
    }
    const version = await rawWrite(key, n);
    if (what !== 'write') await rawPublishes(key, n, version);
  });
  return (performance.now() - start) / UPDATES;
}

progress(`warming up: ${UPDATES} updates each way over ${SHADOWS} shadows at concurrency ${CONCURRENCY}`);
await handlerRound(0);
await handlerRound(0, coldHandler);
await rawRound(0, 'write');
await rawRound(0, 'update');
await rawRound(0, 'cold');
await storeRound(0);
const handlerTimes: number[] = [];
const coldTimes: number[] = [];
const rawWriteTimes: number[] = [];
const rawTimes: number[] = [];
const rawColdTimes: number[] = [];
const storeTimes: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  handlerTimes.push(await handlerRound(round * UPDATES));
  rawTimes.push(await rawRound(round * UPDATES, 'update'));
  coldTimes.push(await handlerRound(round * UPDATES, coldHandler));
  rawColdTimes.push(await rawRound(round * UPDATES, 'cold'));
  rawWriteTimes.push(await rawRound(round * UPDATES, 'write'));
  storeTimes.push(await storeRound(round * UPDATES));
  const ms = (times: number[]) => times.at(-1)?.toFixed(3);
  progress(
    `round ${round}/${ROUNDS}: handler ${ms(handlerTimes)} ms/update vs raw ${ms(rawTimes)}; cache off ${ms(coldTimes)} vs raw ${ms(rawColdTimes)}; raw write alone ${ms(rawWriteTimes)}, store path ${ms(storeTimes)}`,
  );
}
metric('shadow_update_ms', median(handlerTimes));
metric('shadow_raw_update_ms', median(rawTimes));
metric('shadow_update_vs_raw_ratio', median(handlerTimes) / median(rawTimes));
metric('shadow_update_ms_cold', median(coldTimes));
metric('shadow_raw_update_ms_cold', median(rawColdTimes));
metric('shadow_update_vs_raw_ratio_cold', median(coldTimes) / median(rawColdTimes));
metric('shadow_update_vs_raw_write_ratio', median(handlerTimes) / median(rawWriteTimes));
metric('shadow_store_update_vs_raw_ratio', median(storeTimes) / median(rawWriteTimes));

iotData.destroy();
await cold.stop();
await stop();
