import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../lib/local/names.ts';
import { type Platform, startPlatform } from '../lib/local/platform.ts';
/** Prints one figure in the form `npm run bench` promises: `METRIC <name> <number>`. */
export function metric(name: string, value: number): void {
  const rounded = Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(4));
  process.stdout.write(`METRIC ${name} ${rounded}\n`);
}

/** Progress for long runs, on stderr so stdout stays parseable. */
export function progress(message: string): void {
  process.stderr.write(`  ${message}\n`);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Runs `tasks` with at most `concurrency` in flight. */
export async function runConcurrently(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/**
 * A quiet local platform on free ports in a temp dir, a raw DynamoDB client on its dynalite, and a
 * teardown. `settings` are function settings, as `npm start -- --set KEY=VALUE` gives them.
 */
export async function startBenchPlatform(settings: Readonly<Record<string, string>> = {}): Promise<{
  platform: Platform;
  raw: DynamoDBClient;
  stop(): Promise<void>;
}> {
  const dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-bench-'));
  const platform = await startPlatform({
    dataDir,
    gatewayPort: 0,
    mqttPort: 0,
    devices: 0,
    verbosity: 'quiet',
    settings,
  });
  const raw = new DynamoDBClient({
    endpoint: platform.dynamoEndpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  return {
    platform,
    raw,
    async stop() {
      raw.destroy();
      await platform.rules.idle();
      await platform.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * dynalite (`startDynamo`) on a thread of its own, keeping its tables in `path`. The server and the bench
 * then do not share an event loop: on two cores a bulk load runs about 1.5 times as fast, and the
 * bench's own work does not show up as server latency.
 */
export async function startDynamoThread(path: string): Promise<{
  endpoint: string;
  client: DynamoDBClient;
  stop(): Promise<void>;
}> {
  // The thread needs tsx to load the TypeScript module; eval'd code is CommonJS, hence require.
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      (await import(workerData.tsx)).register();
      const dynamo = await (await import(workerData.dynamo)).startDynamo({ path: workerData.path });
      parentPort.once('message', () => dynamo.close().then(() => parentPort.close()));
      parentPort.postMessage(dynamo.endpoint);
    })();`,
    {
      eval: true,
      workerData: {
        tsx: import.meta.resolve('tsx/esm/api'),
        dynamo: new URL('../lib/local/dynamo.ts', import.meta.url).href,
        path,
      },
    },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('stop');
      await exited;
    },
  };
}
