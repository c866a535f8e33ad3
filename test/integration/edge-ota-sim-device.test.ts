import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalBroker, startBroker } from '../../lib/local/broker.ts';
import { LocalPki } from '../../lib/local/pki.ts';
import { SimulatedDevice } from '../../lib/local/sim/device.ts';
import {
  buildSimulatedFirmwareImage,
  type SimFirmwareManifestInput,
} from '../../lib/local/sim/firmware-behaviour.ts';
import type { FirmwareJobDocument } from '../../lib/protocol/jobs.ts';
import { decodeUplinkBatch } from '../../lib/protocol/uplink/codec.ts';
import { openTestRegistry } from '../support/iot.ts';
import { type ImageServer, startImageServer } from '../unit/edge/ota/image-server.ts';
import { FakeJobsService, firmwareDocument, makeKey, trustOf, until } from '../unit/edge/ota/support.ts';

/**
 * Simulated devices updating over the real local broker (mutual TLS, the device policy enforced on
 * every subscribe, publish and delivery) from a real HTTP server. The Jobs service is the in-memory
 * fake, answering through the broker as the platform does; the platform's own jobs handlers are not
 * used here.
 */

const key = makeKey('sim-test-key');
const images = new Map<string, Buffer>();
let dataDir: string;
let pki: LocalPki;
let iot: Awaited<ReturnType<typeof openTestRegistry>>;
let broker: LocalBroker;
let server: ImageServer;
const statuses = new Map<string, string[]>();
const telemetry = new Map<string, Array<Record<string, number>>>();
const services = new Map<string, FakeJobsService>();

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-ota-sim-'));
  pki = await LocalPki.open(dataDir);
  iot = await openTestRegistry(dataDir, pki);
  broker = await startBroker({ pki, directory: iot.registry, port: 0 });
  server = await startImageServer(images);
  broker.onMessage((message) => {
    const parts = message.topic.split('/');
    if (message.clientId === '') return;
    if (parts[0] === 'devices' && parts[3] === 'status') {
      const body = JSON.parse(message.payload.toString()) as { firmwareVersion: string };
      statuses.set(message.clientId, [...(statuses.get(message.clientId) ?? []), body.firmwareVersion]);
    }
    if (parts[0] === 'devices' && parts[3] === 'telemetry') {
      // The edge agent sends compact uplink batches (lib/protocol/uplink), never JSON.
      const decoded = decodeUplinkBatch(new Uint8Array(message.payload));
      if (!decoded.ok) throw new Error(`telemetry from ${message.clientId}: ${decoded.reason}`);
      const values = decoded.batch.readings.map((r) => r.values);
      telemetry.set(message.clientId, [...(telemetry.get(message.clientId) ?? []), ...values]);
    }
    if (parts[0] === 'fleet' && parts[3] === 'jobs')
      services.get(parts[2] ?? '')?.handle(message.topic, message.payload.toString());
  });
});

afterAll(async () => {
  await server.close();
  await broker.close();
  await rm(dataDir, { recursive: true, force: true });
});

function publishFirmware(manifest: SimFirmwareManifestInput, size = 48 * 1024): FirmwareJobDocument {
  const image = buildSimulatedFirmwareImage(manifest, size);
  const path = `/fw/${manifest.version}-${createHash('sha256').update(image).digest('hex').slice(0, 8)}.bin`;
  images.set(path, image);
  // The devices run on the real clock: a manifest issued now.
  const issuedAt = Math.floor(Date.now() / 1000) - 60;
  return firmwareDocument(image, key, {
    version: manifest.version,
    url: server.urlFor(path, issuedAt + 3600),
    urlExpiresAt: issuedAt + 3600,
    issuedAt,
    expiresAt: issuedAt + 3600,
  });
}

async function startDevice(thingName: string, withOta = true) {
  const credentials = await iot.credentials(thingName, 'tracker');
  const service = new FakeJobsService(thingName);
  services.set(thingName, service);
  service.attach({ deliver: (topic, body) => void broker.publish(topic, JSON.stringify(body)) });
  const device = new SimulatedDevice({
    credentials,
    brokerUrl: `mqtts://127.0.0.1:${broker.port}`,
    // The test's own directory for the edge agent's queue (else a shared temp dir other runs write to).
    dataDir,
    statusEveryMs: 100,
    telemetryEveryMs: 100,
    ...(withOta
      ? {
          ota: {
            dataDir,
            keySet: trustOf([key]).keySet,
            healthCheckMs: 300,
            rebootDelayMs: 50,
          },
        }
      : {}),
  });
  await device.start();
  return { device, service };
}

async function runJob(service: FakeJobsService, device: SimulatedDevice, document: FirmwareJobDocument) {
  service.addJob('job-1', document);
  await until(
    () => ['SUCCEEDED', 'FAILED', 'REJECTED'].includes(service.statusOf('job-1')),
    'the job to end',
    20_000,
  );
  await device.settled();
}

describe('simulated devices run the edge OTA agent', () => {
  it('a good image: downloaded, verified, trial-booted, committed; status and telemetry follow the new firmware', async () => {
    // Prepare
    const { device, service } = await startDevice('ota-good');
    const document = publishFirmware({
      fleetkitSimFirmware: 1,
      version: '2.0.0',
      telemetry: { temperatureOffset: 15, anomalyScore: 0.9 },
    });
    // Act
    await runJob(service, device, document);
    await until(() => (statuses.get('ota-good') ?? []).at(-1) === '2.0.0', 'a 2.0.0 status');
    await until(
      () => (telemetry.get('ota-good') ?? []).some((v) => v.anomalyScore === 0.9),
      'telemetry of 2.0.0',
    );
    // Assess
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
    expect(device.firmwareVersion()).toBe('2.0.0');
    expect((await device.ota()).boot).toMatchObject({ booted: 'b', committed: 'b' });
    expect(statuses.get('ota-good')?.[0]).toBe('1.0.0');
    await device.stop();
  });

  it.each<[string, string, string, SimFirmwareManifestInput]>([
    [
      'health check fails',
      'health-check',
      'rebooting',
      { fleetkitSimFirmware: 1, version: '2.1.0', healthCheck: 'fail' },
    ],
    [
      'firmware crashes on its trial boot',
      'health-check',
      'rebooting',
      { fleetkitSimFirmware: 1, version: '2.2.0', healthCheck: 'crash' },
    ],
    [
      'install fails on every device',
      'install',
      'installing',
      { fleetkitSimFirmware: 1, version: '2.3.0', installFailRate: 1 },
    ],
  ])(
    '%s → FAILED with reason %s at step %s, and the device keeps running 1.0.0',
    async (name, reason, step, manifest) => {
      // Prepare
      const thing = `ota-${name.split(' ')[0]}-${manifest.version.replaceAll('.', '')}`;
      const { device, service } = await startDevice(thing);
      // Act
      await runJob(service, device, publishFirmware(manifest));
      // Assess
      expect(service.statusOf('job-1')).toBe('FAILED');
      expect(service.detailsOf('job-1')).toMatchObject({ reason, step });
      expect(device.firmwareVersion()).toBe('1.0.0');
      expect((await device.ota()).boot).toMatchObject({ booted: 'a', committed: 'a' });
      await device.stop();
    },
  );

  it.each([
    ['install', 'installing'],
    ['health-check', 'rebooting'],
  ] as const)(
    'an injected firmware failure at %s fails a good image on this device only (step %s), and clears',
    async (failAt, step) => {
      // Prepare: a good image, and a fault naming its version on this device
      const thing = `ota-fault-${failAt}`;
      const { device, service } = await startDevice(thing);
      const manifest = { fleetkitSimFirmware: 1, version: failAt === 'install' ? '3.0.0' : '3.1.0' } as const;
      device.injectFault({ kind: 'firmware-failure', version: manifest.version, failAt });
      // Act
      await runJob(service, device, publishFirmware(manifest));
      const failed = { status: service.statusOf('job-1'), details: service.detailsOf('job-1') };
      device.clearFault('firmware-failure');
      service.addJob('job-2', publishFirmware(manifest));
      await until(() => service.statusOf('job-2') === 'SUCCEEDED', 'the retry to succeed', 20_000);
      // Assess
      expect(failed.status).toBe('FAILED');
      expect(failed.details).toMatchObject({ reason: failAt, step });
      expect(device.firmwareVersion()).toBe(manifest.version);
      await device.stop();
    },
  );

  it('without ota options a device does not touch the jobs topics and reports its configured version', async () => {
    // Prepare
    const { device, service } = await startDevice('ota-none', false);
    // Act
    service.addJob('job-1', publishFirmware({ fleetkitSimFirmware: 1, version: '9.0.0' }));
    await until(() => (statuses.get('ota-none') ?? []).length >= 2, 'two statuses');
    // Assess
    expect(service.seen).toHaveLength(0);
    expect(service.statusOf('job-1')).toBe('QUEUED');
    expect(await device.ota()).toEqual({ boots: 1 });
    expect(device.status().firmwareVersion).toBe('1.0.0');
    await device.stop();
  });
});
