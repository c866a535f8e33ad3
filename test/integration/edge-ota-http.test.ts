import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OtaAgent } from '../../edge/src/ota/agent.ts';
import { systemClock } from '../../edge/src/ota/clock.ts';
import { downloadToSlot, type FirmwareRef } from '../../edge/src/ota/download.ts';
import { FileSlotStore } from '../../edge/src/ota/fs-slot-store.ts';
import { HttpDownloader } from '../../edge/src/ota/http-downloader.ts';
import { FileAgentStateStore } from '../../edge/src/ota/state-store.ts';
import { MemoryTrustStore } from '../../edge/src/ota/trust-store.ts';
import { type ImageServer, startImageServer } from '../unit/edge/ota/image-server.ts';
import {
  DEVICE_TYPE,
  FakeJobsService,
  FakeTransport,
  firmwareDocument,
  makeImage,
  makeKey,
  trustOf,
  until,
} from '../unit/edge/ota/support.ts';

/**
 * The agent's HTTP side against a real server on loopback (node:http, Range, a connection cut
 * mid-body, an expired presigned-style URL), writing real files. The Jobs side is the in-memory fake
 * (the MQTT path is covered by edge-ota-sim-device.test.ts over the real local broker).
 */

const key = makeKey();
const image = makeImage(256 * 1024);
const images = new Map([['/fw/2.0.0.bin', image]]);
const later = () => Math.floor(Date.now() / 1000) + 3600;
let server: ImageServer;
const dirs: string[] = [];

beforeAll(async () => {
  server = await startImageServer(images);
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  server.ranges.length = 0;
  server.statuses.length = 0;
  server.cuts.length = 0;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetkit-ota-http-'));
  dirs.push(dir);
  return dir;
}

const realFast = {
  now: () => Date.now(),
  sleep: (ms: number, signal?: AbortSignal) => systemClock.sleep(Math.min(ms, 20), signal),
};

/** What a download needs, for the test image. */
function downloadRef(url: string, urlExpiresAt: number): FirmwareRef {
  const { manifest } = firmwareDocument(image, key).firmware;
  return { url, urlExpiresAt, size: manifest.size, sha256: manifest.sha256 };
}

describe('resumable download over real HTTP', () => {
  it.each([1, 65_536, 200_000])(
    'connection cut after %i bytes → resumes with Range from what the slot holds',
    async (cut) => {
      // Prepare
      const slots = await FileSlotStore.open(await tempDir(), { initialVersion: '1.0.0' });
      server.cuts.push(cut);
      const firmware = downloadRef(server.urlFor('/fw/2.0.0.bin', later()), later());
      // Act
      await downloadToSlot({
        slots,
        slot: 'b',
        downloader: new HttpDownloader(),
        clock: realFast,
        firmware,
        renew: async () => firmware,
      });
      // Assess
      expect(server.ranges[0]).toBe('bytes=0-');
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(server.ranges[1] ?? '')?.[1]);
      expect(resumedAt).toBeGreaterThan(0);
      expect(resumedAt).toBeLessThanOrEqual(cut);
      expect(server.statuses).toEqual([206, 206]);
      expect((await readFile(join(slots.directory, 'slot-b.img'))).equals(image)).toBe(true);
    },
  );

  it('an expired URL answered 403 → renewed through the Jobs service, then downloaded', async () => {
    // Prepare
    const slots = await FileSlotStore.open(await tempDir(), { initialVersion: '1.0.0' });
    const expired = Math.floor(Date.now() / 1000) - 5;
    const firmware = downloadRef(server.urlFor('/fw/2.0.0.bin', expired), later());
    let renewals = 0;
    // Act
    await downloadToSlot({
      slots,
      slot: 'b',
      downloader: new HttpDownloader(),
      clock: realFast,
      firmware,
      renew: async () => {
        renewals += 1;
        return { ...firmware, url: server.urlFor('/fw/2.0.0.bin', later()) };
      },
    });
    // Assess
    expect(renewals).toBe(1);
    expect(server.statuses).toEqual([403, 206]);
    expect(await slots.size('b')).toBe(image.length);
  });
});

describe('the OTA agent over real HTTP and files', () => {
  it('downloads through a cut, verifies, reboots, commits: SUCCEEDED and the new slot on disk', async () => {
    // Prepare
    const dir = await tempDir();
    const service = new FakeJobsService();
    server.cuts.push(100_000);
    let agent: OtaAgent | undefined;
    let boots = 0;
    const powerOn = async () => {
      boots += 1;
      const slots = await FileSlotStore.open(dir, { initialVersion: '1.0.0' });
      await slots.boot();
      agent = new OtaAgent({
        thingName: service.thingName,
        transport: new FakeTransport(service),
        downloader: new HttpDownloader(),
        slots,
        state: new FileAgentStateStore(dir),
        clock: realFast,
        deviceType: DEVICE_TYPE,
        trust: new MemoryTrustStore(trustOf([key])),
        healthCheck: async () => ({ healthy: true }),
        reboot: () => void setImmediate(() => void powerOn()),
      });
      await agent.start();
    };
    await powerOn();
    // Act
    // The agent runs on the real clock here: a manifest issued now.
    const issuedAt = Math.floor(Date.now() / 1000) - 60;
    service.addJob(
      'job-1',
      firmwareDocument(image, key, {
        url: server.urlFor('/fw/2.0.0.bin', later()),
        issuedAt,
        expiresAt: issuedAt + 3600,
      }),
    );
    await until(() => service.statusOf('job-1') === 'SUCCEEDED', 'SUCCEEDED', 10_000);
    await agent?.settled();
    // Assess
    expect(boots).toBe(2);
    expect(server.ranges.length).toBe(2);
    expect(JSON.parse(await readFile(join(dir, 'boot.json'), 'utf8'))).toEqual({
      booted: 'b',
      committed: 'b',
      versions: { a: '1.0.0', b: '2.0.0' },
    });
    expect((await readFile(join(dir, 'slot-b.img'))).equals(image)).toBe(true);
    expect(JSON.parse(await readFile(join(dir, 'ota-agent.json'), 'utf8'))).toEqual({ phase: 'idle' });
    await agent?.stop();
  });
});
