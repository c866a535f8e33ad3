import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { onlineShard } from '../lambdas/adapters/dynamo-device-registry.ts';
import { ensureTable } from '../lib/local/dynamo.ts';
import { startDynamoThread } from '../lib/local/dynamo-thread.ts';
import { localResourceName } from '../lib/local/names.ts';
import { startPlatform } from '../lib/local/platform.ts';
import { topology } from '../lib/topology.ts';
import { signedFetch } from '../test/support/signing.ts';
import { metric, progress, runConcurrently } from './support.ts';

/**
 * `POST /rollouts` over a registry of a million devices on the local platform, against a bare parallel
 * Scan of the same registry in the same run.
 *
 * The registry is bulk-loaded into dynalite on a thread of its own (about 4,000 items/s on two cores:
 * some four minutes for a million), and the platform runs on that dynalite; `ROLLOUT_PLAN_DEVICES=200000`
 * (whole thousands) is a quicker run, and every metric then carries its size (`_200k`).
 *
 * rollout_create_accept_ms_1m = the time `POST /rollouts` takes to answer 202 (goal ≤ 1,000);
 * rollout_first_notify_vs_scan_ratio = the time from the POST to the first device notification (a
 *   notify-next published to a device's jobs topic) ÷ the time a bare Scan of the registry in 16 parallel
 *   segments takes to read every item (goal ≤ 1.0: notifying starts before a full read could finish);
 * rollout_planning_ms_1m = the time from the POST until the plan is cut (for the record);
 * rollout_bare_scan_ms_1m = the bare parallel Scan.
 */
const DEVICES = deviceCount(process.env.ROLLOUT_PLAN_DEVICES ?? '1000000');
const SIZE = DEVICES % 1_000_000 === 0 ? `${DEVICES / 1_000_000}m` : `${DEVICES / 1000}k`;
const SEGMENTS = 16;
const LOAD_CONCURRENCY = 16;
const BATCH = 25;
const NOW = Date.now();
const TYPES = ['tracker', 'env-sensor', 'gateway'] as const;
const VERSIONS = ['1.2.0', '1.3.0', '1.4.2', '2.0.0'] as const;
const GROUPS = ['eu-west', 'eu-north', 'us-east', 'ap-south'] as const;

function deviceCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1000 || n % 1000 !== 0)
    throw new Error(`ROLLOUT_PLAN_DEVICES must be a whole number of thousands, got '${value}'`);
  return n;
}

/** Device `i` as the status ingest stores it, a fixed mix of types, versions, groups, radio and battery. */
function deviceItem(i: number): Record<string, unknown> {
  const roll = (Math.imul(i, 2654435761) >>> 0) % 1_000_000;
  const deviceId = `dev-${i.toString(36).padStart(5, '0')}`;
  return {
    deviceId,
    deviceType: TYPES[roll % 3],
    firmwareVersion: VERSIONS[(roll >>> 2) % 4],
    groups: [GROUPS[(roll >>> 4) % 4]],
    attributes: { hwRevision: ['B', 'C', 'D'][(roll >>> 6) % 3] },
    lastSeen: NOW - (roll % 3600) * 1000,
    firstSeen: NOW - 30 * 86_400_000,
    online: true,
    onlineShard: onlineShard(deviceId),
    signal: { rsrp: -70 - (roll % 60), rsrq: -8 - (roll % 10) },
    battery: { percent: roll % 100 },
  };
}

async function load(documents: DynamoDBDocumentClient, table: string): Promise<void> {
  const start = performance.now();
  await runConcurrently(DEVICES / BATCH, LOAD_CONCURRENCY, async (batch) => {
    let requests = Array.from({ length: BATCH }, (_, j) => ({
      PutRequest: { Item: deviceItem(batch * BATCH + j) },
    }));
    while (requests.length > 0) {
      const result = await documents.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = (result.UnprocessedItems?.[table] ?? []) as typeof requests;
    }
    const written = (batch + 1) * BATCH;
    if (written % 100_000 === 0) {
      const seconds = (performance.now() - start) / 1000;
      progress(`loaded ${written} devices in ${seconds.toFixed(0)} s (${Math.round(written / seconds)}/s)`);
    }
  });
}

/** Every item of the registry, read by a Scan in `SEGMENTS` parallel segments; how many there were. */
async function bareScan(documents: DynamoDBDocumentClient, table: string): Promise<number> {
  const counts = await Promise.all(
    Array.from({ length: SEGMENTS }, async (_, segment) => {
      let read = 0;
      let start: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: SEGMENTS,
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
        read += page.Items?.length ?? 0;
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return read;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
}

const dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-bench-'));
const dynamo = await startDynamoThread({ path: join(dataDir, 'dynamo') });
const documents = DynamoDBDocumentClient.from(dynamo.client, {
  marshallOptions: { removeUndefinedValues: true },
});
const registry = localResourceName('registry');
try {
  await ensureTable(dynamo.client, registry, topology.resources.registry);
  progress(`loading ${DEVICES} devices into the registry`);
  await load(documents, registry);

  const platform = await startPlatform({
    dataDir,
    dynamoEndpoint: dynamo.endpoint,
    gatewayPort: 0,
    mqttPort: 0,
    devices: 0,
    verbosity: 'quiet',
    // One planner run plans the whole registry (a Lambda's 15 minutes would be resumed a minute later).
    settings: { ROLLOUT_PLAN_BUDGET_SECONDS: '7200' },
  });
  try {
    await documents.send(
      new PutCommand({
        TableName: localResourceName('firmwareCatalog'),
        Item: {
          version: '2.1.0',
          deviceTypes: ['tracker', 'env-sensor'],
          size: 512 * 1024,
          sha256: 'ab'.repeat(32),
          status: 'available',
          registeredAt: NOW - 86_400_000,
          upload: { mode: 'single' },
          // Signed as issue 12 stores it (manifest + DSSE envelope): the scheduler offers nothing else.
          manifest: {
            purpose: 'firmware',
            version: '2.1.0',
            sha256: 'ab'.repeat(32),
            size: 512 * 1024,
            deviceTypes: ['tracker', 'env-sensor'],
            securityVersion: 0,
            issuedAt: (NOW - 86_400_000) / 1000,
            expiresAt: (NOW + 365 * 86_400_000) / 1000,
          },
          envelope: {
            payloadType: 'application/vnd.fleetkit.statement+json',
            payload: 'e30=',
            signatures: [{ keyid: 'alias/fleetkit-local-firmware-signing', sig: 'c2lnbmF0dXJl' }],
          },
          uploadedAt: NOW - 86_400_000,
        },
      }),
    );
    // A first full read warms dynalite's store for both sides alike; the second is measured.
    await bareScan(documents, registry);
    const scanStart = performance.now();
    const scanned = await bareScan(documents, registry);
    const scanMs = performance.now() - scanStart;
    if (scanned !== DEVICES) throw new Error(`the bare scan read ${scanned} of ${DEVICES} devices`);
    progress(`bare parallel scan (${SEGMENTS} segments): ${(scanMs / 1000).toFixed(1)} s`);

    let firstNotify: number | undefined;
    platform.broker.onMessage((message) => {
      if (firstNotify === undefined && message.topic.endsWith('/jobs/notify-next'))
        firstNotify = performance.now();
    });
    const api = async (method: string, path: string, body?: unknown) => {
      const response = await signedFetch(platform, path, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      // biome-ignore lint/suspicious/noExplicitAny: the rollout view, read field by field
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    const postStart = performance.now();
    const accepted = await api('POST', '/rollouts', {
      rolloutId: 'bench-rollout',
      firmwareVersion: '2.1.0',
      targets: { deviceTypes: ['tracker', 'env-sensor'], percentage: 100 },
      waves: { sizes: [1, 10, 50, 100], maximumPerMinute: 1000, gate: { successPercentage: 95 } },
      healthGate: {
        metric: 'rebootRate',
        maxWorsening: { relative: 0.2 },
        windowMinutes: 1440,
        controlPercentage: 5,
      },
    });
    const acceptMs = performance.now() - postStart;
    if (accepted.status !== 202 || accepted.body.status !== 'PLANNING')
      throw new Error(`POST /rollouts answered ${accepted.status}: ${JSON.stringify(accepted.body)}`);
    progress(`POST /rollouts answered 202 PLANNING in ${acceptMs.toFixed(0)} ms`);

    let planned: Awaited<ReturnType<typeof api>> | undefined;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      planned = await api('GET', '/rollouts/bench-rollout');
      const p = planned.body.planning;
      if (p?.finishedAt !== undefined) break;
      progress(
        `planning: ${p?.progress?.segments.done}/${p?.progress?.segments.total} segments, ${p?.progress?.scanned} read, ${p?.progress?.eligible} eligible${firstNotify === undefined ? '' : `, first notification after ${((firstNotify - postStart) / 1000).toFixed(1)} s`}`,
      );
    }
    const planMs = performance.now() - postStart;
    const view = planned?.body ?? {};
    const total = (view.waves as { planned: number }[]).reduce((sum, w) => sum + w.planned, 0);
    if (view.planning.error !== undefined || total !== view.selection.eligible)
      throw new Error(
        `the plan is not whole: ${JSON.stringify(view.selection)} ${JSON.stringify(view.waves)}`,
      );
    if (firstNotify === undefined) throw new Error('no device was notified');
    progress(
      `planned ${view.selection.eligible} of ${DEVICES} in ${(planMs / 1000).toFixed(1)} s: waves ${(view.waves as { planned: number }[]).map((w) => w.planned).join(', ')}; first notification after ${((firstNotify - postStart) / 1000).toFixed(1)} s`,
    );
    metric(`rollout_create_accept_ms_${SIZE}`, acceptMs);
    metric(
      SIZE === '1m' ? 'rollout_first_notify_vs_scan_ratio' : `rollout_first_notify_vs_scan_ratio_${SIZE}`,
      (firstNotify - postStart) / scanMs,
    );
    metric(`rollout_planning_ms_${SIZE}`, planMs);
    metric(`rollout_bare_scan_ms_${SIZE}`, scanMs);
  } finally {
    await platform.stop();
  }
} finally {
  await dynamo.close();
  await rm(dataDir, { recursive: true, force: true });
}
