import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDeviceRegistry } from '../lambdas/adapters/dynamo-device-registry.ts';
import { IotDataPublisher } from '../lambdas/adapters/iot-data-publisher.ts';
import { createExecution, markSent, requestOf } from '../lambdas/domain/commands/execution.ts';
import { COMMAND_ENV, commandApiFrom } from '../lambdas/services/command-setup.ts';
import { createLogger } from '../lambdas/shared/logger.ts';
import { LOCAL_REGION, localResourceName } from '../lib/local/names.ts';
import { deviceTopic } from '../lib/protocol/topics.ts';
import { median, metric, progress, runConcurrently, startBenchPlatform } from './support.ts';

/**
 * Fleet commands on the local platform (dynalite, the loopback IoT data plane, the broker behind it).
 *
 * command_fanout_vs_raw_publish_ratio = median time of `POST /commands`' work for 10,000 devices (select
 * them from the registry, write 10,000 executions and their counters, publish 10,000 requests through the
 * IoT data endpoint), divided by the median time of publishing the same 10,000 payloads, bare, through
 * the same endpoint with the same concurrency. Rounds alternate, so both see the same machine.
 *
 * command_status_ms_10k / _1k = median time of `GET /commands/{batchId}`'s work (the batch item and its
 * 16 counter items) at 10,000 and at 1,000 executions: flat with size, since no execution is read.
 */
const DEVICES = 10_000;
const SMALL = 1_000;
const ROUNDS = 3;
const STATUS_READS = 50;
const PUBLISH_CONCURRENCY = 32;

const bench = await startBenchPlatform();
try {
  const { platform, raw } = bench;
  const dynamo = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const credentials = {
    accessKeyId: platform.credentials.accessKeyId,
    secretAccessKey: platform.credentials.secretAccessKey,
  };
  const iotData = new IoTDataPlaneClient({
    endpoint: platform.iotDataEndpoint,
    region: LOCAL_REGION,
    credentials,
  });
  const env = {
    [COMMAND_ENV.executions]: localResourceName('commandExecutions'),
    [COMMAND_ENV.batches]: localResourceName('commandBatches'),
    [COMMAND_ENV.counters]: localResourceName('commandCounters'),
    [COMMAND_ENV.registry]: localResourceName('registry'),
    [COMMAND_ENV.retentionDays]: '30',
  };
  const log = createLogger('bench', { write: () => {}, now: Date.now });
  const { fleet } = commandApiFrom({
    dynamo,
    iotData,
    env,
    log,
    now: Date.now,
    sleep: async () => {},
  });

  const registry = new DynamoDeviceRegistry({ client: dynamo, tableName: env[COMMAND_ENV.registry] });
  const ids = Array.from({ length: DEVICES }, (_, i) => `bench-${i.toString(36).padStart(4, '0')}`);
  progress(`registering ${DEVICES} awake trackers`);
  await runConcurrently(DEVICES, 32, (i) =>
    registry.recordSighting({
      deviceId: ids[i] ?? '',
      deviceType: 'tracker',
      lastSeen: Date.now(),
      firmwareVersion: '1.0.0',
    }),
  );

  const publisher = new IotDataPublisher({ client: iotData });
  /** The same requests a fleet `ping` publishes, bare: no selection, no executions, no counters. */
  async function rawRound(): Promise<number> {
    const now = Date.now();
    const payloads = ids.map((deviceId, i) => {
      const created = createExecution(
        {
          executionId: `raw${now.toString(36)}${i}`,
          deviceId,
          deviceType: 'tracker',
          name: 'ping',
          parameters: {},
          expiresAt: now + 86_400_000,
          timeoutSeconds: 60,
        },
        now,
      );
      const sent = markSent(created, now);
      if (sent instanceof Error) throw sent;
      return JSON.stringify(requestOf(sent));
    });
    const start = performance.now();
    await runConcurrently(DEVICES, PUBLISH_CONCURRENCY, (i) =>
      publisher.publish(deviceTopic('commands', 'tracker', ids[i] ?? ''), payloads[i] ?? ''),
    );
    return performance.now() - start;
  }

  const batches: string[] = [];
  async function fleetRound(round: number): Promise<number> {
    const start = performance.now();
    const batch = await fleet.create({
      batchId: `bench-${round}`,
      name: 'ping',
      targets: { deviceTypes: ['tracker'] },
      ratePerMinute: 100_000,
      // Nothing falls due during the bench: the platform's own commands-scheduler runs every minute.
      timeoutSeconds: 86_400,
    });
    const elapsed = performance.now() - start;
    if (batch.progress.byStatus.SENT !== DEVICES)
      throw new Error(`the fleet command sent ${batch.progress.byStatus.SENT} of ${DEVICES}`);
    batches.push(batch.batchId);
    return elapsed;
  }

  const fleetTimes: number[] = [];
  const rawTimes: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    rawTimes.push(await rawRound());
    fleetTimes.push(await fleetRound(round));
    progress(
      `round ${round + 1}: fleet ${fleetTimes.at(-1)?.toFixed(0)} ms, raw ${rawTimes.at(-1)?.toFixed(0)} ms`,
    );
  }

  const small = await fleet.create({
    batchId: 'bench-small',
    name: 'ping',
    targets: { things: ids.slice(0, SMALL) },
    ratePerMinute: 100_000,
    timeoutSeconds: 86_400,
  });
  async function statusMs(batchId: string, expected: number): Promise<number> {
    const times: number[] = [];
    for (let read = 0; read < STATUS_READS; read++) {
      const start = performance.now();
      const status = await fleet.status(batchId);
      times.push(performance.now() - start);
      if (status.progress.total !== expected)
        throw new Error(`${batchId} counts ${status.progress.total}, not ${expected}`);
    }
    return median(times);
  }

  metric('command_fanout_ms_10k', median(fleetTimes));
  metric('command_raw_publish_ms_10k', median(rawTimes));
  metric('command_fanout_vs_raw_publish_ratio', median(fleetTimes) / median(rawTimes));
  metric('command_status_ms_10k', await statusMs(batches[0] ?? '', DEVICES));
  metric('command_status_ms_1k', await statusMs(small.batchId, SMALL));
  iotData.destroy();
} finally {
  await bench.stop();
}
