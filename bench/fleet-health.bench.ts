import { BatchWriteItemCommand } from '@aws-sdk/client-dynamodb';
import { localResourceName } from '../lib/local/names.ts';
import { median, metric, progress, startBenchPlatform } from './support.ts';

/**
 * `GET /fleet/health` as the fleet grows: through the api-fleet handler, with the registry filled to
 * 1,000, 10,000 and 100,000 devices and the health counters recounted from it by the reconciler (the
 * code that keeps them honest). The query reads the counter items — one per type and firmware version,
 * not per device — so its time should not grow with the fleet.
 *
 * fleet_health_query_ms = median time of the query at 100,000 devices;
 * fleet_health_query_growth_ratio = that ÷ the median at 1,000 devices (flat = 1).
 */
const SIZES = [1_000, 10_000, 100_000];
const QUERIES = 60;
const TYPES = ['tracker', 'env-sensor', 'meter', 'gateway'];
const FIRMWARE = ['1.0.0', '1.1.0', '1.2.0', '2.0.0', '2.0.1'];

const { platform, raw, stop } = await startBenchPlatform();
const registryTable = localResourceName('registry');
const api = platform.functions.get('apiFleet');
const reconciler = platform.functions.get('healthReconciler');
if (api === undefined || reconciler === undefined)
  throw new Error('apiFleet and healthReconciler must be in the topology');

async function addDevices(from: number, to: number): Promise<void> {
  const now = Date.now();
  for (let i = from; i < to; i += 25) {
    let requests = Array.from({ length: Math.min(25, to - i) }, (_, k) => {
      const n = i + k;
      const online = n % 10 !== 0;
      return {
        PutRequest: {
          Item: {
            deviceId: { S: `fleet-${String(n).padStart(6, '0')}` },
            deviceType: { S: TYPES[n % TYPES.length] ?? 'tracker' },
            firmwareVersion: { S: FIRMWARE[n % FIRMWARE.length] ?? '1.0.0' },
            lastSeen: { N: String(now - (online ? 1_000 : 3_600_000)) },
            firstSeen: { N: String(now - 86_400_000) },
            online: { BOOL: online },
            battery: { M: { percent: { N: String(n % 100) } } },
            signal: { M: { rsrp: { N: String(-80 - (n % 50)) } } },
          },
        },
      };
    });
    while (requests.length > 0) {
      const result = await raw.send(
        new BatchWriteItemCommand({ RequestItems: { [registryTable]: requests } }),
      );
      requests = (result.UnprocessedItems?.[registryTable] ?? []) as typeof requests;
    }
    if ((i / 25) % 400 === 0) progress(`registry: ${i} devices`);
  }
}

const healthEvent = {
  version: '2.0',
  routeKey: 'GET /fleet/health',
  rawPath: '/fleet/health',
  rawQueryString: '',
  headers: {},
  requestContext: { http: { method: 'GET', path: '/fleet/health' } },
  isBase64Encoded: false,
};

async function queryTimes(expectedDevices: number): Promise<number[]> {
  const times: number[] = [];
  for (let q = 0; q < QUERIES; q++) {
    const start = performance.now();
    const response = (await api?.invoke(healthEvent)) as { statusCode: number; body: string };
    times.push(performance.now() - start);
    const body = JSON.parse(response.body) as { devices: number };
    if (response.statusCode !== 200 || body.devices !== expectedDevices) {
      throw new Error(
        `GET /fleet/health answered ${response.statusCode} with ${body.devices} devices, expected ${expectedDevices}`,
      );
    }
  }
  return times;
}

const medians: number[] = [];
let filled = 0;
for (const size of SIZES) {
  await addDevices(filled, size);
  filled = size;
  progress(`recounting the health counters over ${size} devices`);
  await reconciler.invoke({});
  const times = await queryTimes(size);
  medians.push(median(times));
  progress(`${size} devices: GET /fleet/health median ${median(times).toFixed(2)} ms`);
}

metric('fleet_health_query_ms_1k', medians[0] ?? 0);
metric('fleet_health_query_ms_10k', medians[1] ?? 0);
metric('fleet_health_query_ms', medians[2] ?? 0);
metric('fleet_health_query_growth_ratio', (medians[2] ?? 0) / (medians[0] ?? 1));
await stop();
