import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
