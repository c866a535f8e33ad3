import { randomUUID } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoShadowStore } from '../lambdas/adapters/dynamo-shadow-store.ts';
import { AWS_SHADOW_LIMITS } from '../lambdas/domain/shadow/document.ts';
import { ShadowService } from '../lambdas/services/shadow-service.ts';
import { ensureTable } from '../lib/local/dynamo.ts';
import { topology } from '../lib/topology.ts';
import { median, metric, progress, runConcurrently, startBenchPlatform } from './support.ts';

/**
 * Shadow updates through the shadow-mqtt handler (rule event → validate → load → merge/delta →
 * conditional write → history → publish accepted/delta/documents through the IoT data plane API to
 * the broker) against a raw conditional UpdateItem of the same state on the same dynalite, same
 * concurrency, many shadows (one writer per shadow at a time, as devices behave).
 *
 * shadow_update_vs_raw_ratio = time per handler update ÷ time per raw UpdateItem (goal ≤ 1.3).
 * shadow_update_vs_raw_ratio_cold = the same with the recent-shadows cache off
 *   (`SHADOW_RECENT_CACHE_ENTRIES=0`, a second platform in the same run): every update reads the shadow
 *   first, as a Lambda fleet with many instances mostly sees it (an instance rarely wrote the shadow
 *   it is asked to update).
 * shadow_store_update_vs_raw_ratio = the same without publishing (the store path alone), for the breakdown.
 */
const UPDATES = 1_200;
const SHADOWS = 64;
const CONCURRENCY = 16;
const ROUNDS = 3;

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

const versions = new Map<string, number>();
async function rawRound(offset: number): Promise<number> {
  const start = performance.now();
  await runConcurrently(UPDATES, CONCURRENCY, async (i) => {
    const key = shadowOf(i);
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
          ':doc': { S: JSON.stringify({ state: state(offset + i) }) },
          ':next': { N: String(version + 1) },
          ':current': { N: String(version) },
        },
      }),
    );
  });
  return (performance.now() - start) / UPDATES;
}

progress(`warming up: ${UPDATES} updates each way over ${SHADOWS} shadows at concurrency ${CONCURRENCY}`);
await handlerRound(0);
await handlerRound(0, coldHandler);
await rawRound(0);
await storeRound(0);
const handlerTimes: number[] = [];
const coldTimes: number[] = [];
const rawTimes: number[] = [];
const storeTimes: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  handlerTimes.push(await handlerRound(round * UPDATES));
  coldTimes.push(await handlerRound(round * UPDATES, coldHandler));
  rawTimes.push(await rawRound(round * UPDATES));
  storeTimes.push(await storeRound(round * UPDATES));
  progress(
    `round ${round}/${ROUNDS}: handler ${handlerTimes.at(-1)?.toFixed(3)} ms/update (cache off ${coldTimes.at(-1)?.toFixed(3)}), raw ${rawTimes.at(-1)?.toFixed(3)} ms/update`,
  );
}
metric('shadow_update_ms', median(handlerTimes));
metric('shadow_raw_update_ms', median(rawTimes));
metric('shadow_update_vs_raw_ratio', median(handlerTimes) / median(rawTimes));
metric('shadow_update_ms_cold', median(coldTimes));
metric('shadow_update_vs_raw_ratio_cold', median(coldTimes) / median(rawTimes));
metric('shadow_store_update_vs_raw_ratio', median(storeTimes) / median(rawTimes));

await cold.stop();
await stop();
