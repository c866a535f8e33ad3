import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FirmwareDelta, FirmwareJobDocument } from '../../../../lib/protocol/jobs.ts';
import { deltaImages } from './delta-images.ts';
import {
  BASE_TIME,
  DeviceHarness,
  FakeDownloader,
  FakeJobsService,
  firmwareDocument,
  IMAGE_URL,
  makeKey,
} from './support.ts';

/**
 * Delta images on the device (issue 12, step 5): a firmware job may offer a VCDIFF delta from the
 * version the device runs; the device patches its running image into the inactive slot and holds the
 * result to the signed manifest's SHA-256 before anything else, and falls back to the full image when
 * the delta cannot make it. Either way the device ends on the new version.
 */

const key = makeKey();
const { base, next } = deltaImages();
const delta = readFileSync(new URL('../../../fixtures/ota/delta-1.0.0-2.0.0.vcdiff', import.meta.url));
const DELTA_URL = 'https://firmware.example/deltas/1.0.0-2.0.0.vcdiff';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** The same delta with one byte of its instructions changed. */
const corrupted = Buffer.from(delta);
corrupted[delta.length - 40] = (corrupted[delta.length - 40] ?? 0) ^ 0x5a;

function offer(bytes: Buffer, overrides: Partial<FirmwareDelta> = {}): FirmwareDelta {
  return {
    format: 'vcdiff',
    fromVersion: '1.0.0',
    fromSha256: sha256(base),
    size: bytes.length,
    sha256: sha256(bytes),
    url: DELTA_URL,
    urlExpiresAt: Math.floor(BASE_TIME / 1000) + 3600,
    ...overrides,
  };
}

function withDelta(offered: FirmwareDelta): FirmwareJobDocument {
  const document = firmwareDocument(next, key);
  return { ...document, firmware: { ...document.firmware, deltas: [offered] } };
}

async function install(document: FirmwareJobDocument, served: Buffer) {
  const service = new FakeJobsService();
  const downloader = new FakeDownloader(next);
  downloader.routes.set(DELTA_URL, served);
  const device = new DeviceHarness({ service, downloader, key, initialImage: base });
  await device.powerOn();
  service.addJob('job-1', document);
  await device.finish('job-1');
  const chunks: Uint8Array[] = [];
  for await (const chunk of device.slots.read('b')) chunks.push(chunk);
  const slot = Buffer.concat(chunks);
  return {
    status: service.statusOf('job-1'),
    boot: await device.slots.bootState(),
    slot,
    fetched: [...new Set(downloader.requests.map((r) => r.url))],
    events: device.events.map((e) => e.event).filter((e) => e.startsWith('delta')),
    why: device.events.find((e) => e.event === 'delta-unusable')?.fields?.detail,
  };
}

describe('delta images on the device', () => {
  it('patches the running image with the delta, verifies it, and never fetches the full image', async () => {
    // Act
    const outcome = await install(withDelta(offer(delta)), delta);
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.boot).toMatchObject({ booted: 'b', committed: 'b', versions: { b: '2.0.0' } });
    expect(outcome.slot.equals(next)).toBe(true);
    expect(outcome.fetched).toEqual([DELTA_URL]);
    expect(outcome.events).toEqual(['delta-applied']);
    expect(delta.length / next.length).toBeLessThan(0.1);
  });

  it.each([
    [
      'a delta corrupted in transit (not the bytes the job document describes)',
      offer(delta),
      corrupted,
      /not the one the job document describes/,
    ],
    [
      'a delta corrupted at the source (its own digest matches, the image it makes does not)',
      offer(corrupted),
      corrupted,
      /patched image does not match the signed manifest/,
    ],
    [
      'a delta from another image than the one the device runs',
      offer(delta, { fromSha256: sha256(next) }),
      delta,
      /running image is not the one the delta from 1\.0\.0 starts from/,
    ],
    [
      'a delta URL that answers with another object',
      offer(delta, { url: `${DELTA_URL}.gone` }),
      delta,
      /download failed: size/,
    ],
  ])('%s: falls back to the full image and ends on 2.0.0', async (_name, offered, served, why) => {
    // Act
    const outcome = await install(withDelta(offered), served);
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.boot).toMatchObject({ booted: 'b', committed: 'b', versions: { b: '2.0.0' } });
    expect(outcome.slot.equals(next)).toBe(true);
    expect(outcome.fetched.at(-1)).toBe(IMAGE_URL);
    expect(outcome.events).toEqual(['delta-unusable']);
    expect(outcome.why).toMatch(why);
  });

  it('ignores a delta from a version the device does not run, and downloads the full image', async () => {
    // Act
    const outcome = await install(withDelta(offer(delta, { fromVersion: '0.9.0' })), delta);
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(outcome.slot.equals(next)).toBe(true);
    expect(outcome.fetched).toEqual([IMAGE_URL]);
    expect(outcome.events).toEqual([]);
  });
});
