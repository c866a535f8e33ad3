import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import mqtt, { type MqttClient } from 'mqtt';
import { ensureTable } from '../lib/local/dynamo.ts';
import { deviceTopic } from '../lib/protocol/topics.ts';
import { topology } from '../lib/topology.ts';
import { median, metric, progress, runConcurrently, startBenchPlatform } from './support.ts';

/**
 * Status ingest on the local platform — device → MQTT/TLS broker → rules runner → ingest-status
 * handler → registry UpdateItem on dynalite — against the floor under it: raw PutItem of an equivalent
 * item on the same dynalite at the same concurrency. Rounds alternate A/B so both see the same machine.
 *
 * status_ingest_vs_raw_ratio = pipeline messages/s ÷ raw PutItem/s (1.0 = the pipeline costs nothing
 * on top of the store).
 */
const MESSAGES = 1_500;
const DEVICES = 8;
const ROUNDS = 3;
const CONCURRENCY = 64; // the rules runner's invocation concurrency

const status = (i: number) =>
  JSON.stringify({
    ts: Date.now(),
    firmwareVersion: '1.4.2',
    battery: { percent: 50 + (i % 50), voltage: 3.7 },
    signal: { rsrp: -90 - (i % 30), rsrq: -10, rat: 'LTE-M' },
    uptimeSeconds: i,
  });

const { platform, raw, stop } = await startBenchPlatform();
await ensureTable(raw, 'bench-raw-registry', topology.resources.registry);

const clients: MqttClient[] = [];
for (let d = 0; d < DEVICES; d++) {
  const credentials = await platform.deviceCredentials(`bench-${d}`, 'tracker');
  clients.push(
    await mqtt.connectAsync(platform.mqttUrl, {
      clientId: `bench-${d}`,
      key: credentials.keyPem,
      cert: credentials.certPem,
      ca: credentials.caPem,
      reconnectPeriod: 0,
    }),
  );
}

const applied = () => platform.metrics.total('StatusMessages', { Service: 'ingest-status' });

async function pipelineRound(): Promise<number> {
  const before = applied();
  const start = performance.now();
  await runConcurrently(MESSAGES, CONCURRENCY, async (i) => {
    const d = i % DEVICES;
    await clients[d]?.publishAsync(deviceTopic('status', 'tracker', `bench-${d}`), status(i), { qos: 1 });
  });
  await platform.rules.idle();
  const elapsed = performance.now() - start;
  const handled = applied() - before;
  if (handled !== MESSAGES) throw new Error(`pipeline handled ${handled} of ${MESSAGES} messages`);
  return MESSAGES / (elapsed / 1000);
}

async function rawRound(): Promise<number> {
  const start = performance.now();
  await runConcurrently(MESSAGES, CONCURRENCY, async (i) => {
    await raw.send(
      new PutItemCommand({
        TableName: 'bench-raw-registry',
        Item: {
          deviceId: { S: `bench-${i % DEVICES}` },
          deviceType: { S: 'tracker' },
          lastSeen: { N: String(Date.now()) },
          firmwareVersion: { S: '1.4.2' },
          battery: { M: { percent: { N: String(50 + (i % 50)) }, voltage: { N: '3.7' } } },
          signal: { M: { rsrp: { N: String(-90 - (i % 30)) }, rsrq: { N: '-10' }, rat: { S: 'LTE-M' } } },
          uptimeSeconds: { N: String(i) },
        },
      }),
    );
  });
  return MESSAGES / ((performance.now() - start) / 1000);
}

progress(`warming up (${MESSAGES} messages each way)`);
await pipelineRound();
await rawRound();
const pipelineRates: number[] = [];
const rawRates: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  pipelineRates.push(await pipelineRound());
  rawRates.push(await rawRound());
  progress(
    `round ${round}/${ROUNDS}: pipeline ${Math.round(pipelineRates.at(-1) ?? 0)}/s, raw ${Math.round(rawRates.at(-1) ?? 0)}/s`,
  );
}

metric('status_ingest_msgs_per_s', median(pipelineRates));
metric('raw_putitem_per_s', median(rawRates));
metric('status_ingest_vs_raw_ratio', median(pipelineRates) / median(rawRates));

await Promise.all(clients.map((c) => c.endAsync()));
await stop();
