import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UpdateFailedError } from '../../../../edge/src/ota/errors.ts';
import { MemorySlotStore } from '../../../../edge/src/ota/memory-slot-store.ts';
import { verifySlotImage } from '../../../../edge/src/ota/verify.ts';
import type { FirmwareJobDocument } from '../../../../lib/protocol/jobs.ts';
import {
  DeviceHarness,
  FakeDownloader,
  FakeJobsService,
  firmwareDocument,
  makeImage,
  makeKey,
} from './support.ts';

const key = makeKey();
const otherKey = makeKey(key.keyId);
const image = makeImage(8 * 1024);
const tampered = Buffer.from(image);
tampered[5000] = (tampered[5000] ?? 0) ^ 0xff;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Each row: what the device is sent, what it serves, and the reason it must fail with. */
const cases: Array<[string, FirmwareJobDocument, Buffer, string, string]> = [
  ['one byte of the image changed', firmwareDocument(image, key), tampered, 'sha256', 'verifying'],
  [
    'the image behind the URL is another one, of the same size',
    firmwareDocument(image, key),
    makeImage(image.length, 'another'),
    'sha256',
    'verifying',
  ],
  [
    'image shorter than declared',
    firmwareDocument(image, key),
    image.subarray(0, image.length - 1),
    'size',
    'downloading',
  ],
];

describe('verification before anything is applied', () => {
  it.each(cases)(
    '%s → FAILED (%s), slot discarded, device untouched',
    async (_name, document, served, reason, step) => {
      // Prepare
      const service = new FakeJobsService();
      const downloader = new FakeDownloader(served);
      const device = new DeviceHarness({ service, downloader, key });
      await device.powerOn();
      // Act
      service.addJob('job-1', document);
      await device.finish('job-1');
      // Assess
      expect(service.statusOf('job-1')).toBe('FAILED');
      expect(service.detailsOf('job-1')).toMatchObject({ reason, step, firmwareVersion: '2.0.0' });
      expect(await device.slots.bootState()).toEqual({
        booted: 'a',
        committed: 'a',
        versions: { a: '1.0.0' },
      });
      expect(device.slots.contents('b')).toHaveLength(0);
      expect(device.slots.contents('a').toString()).toBe('factory image 1.0.0');
      expect(device.boots).toBe(1);
    },
  );

  it('an untrusted keyId is refused before a single byte is downloaded', async () => {
    // Prepare
    const service = new FakeJobsService();
    const downloader = new FakeDownloader(image);
    const device = new DeviceHarness({ service, downloader, key });
    await device.powerOn();
    // Act
    service.addJob('job-1', firmwareDocument(image, { ...key, keyId: 'someone-else' }));
    await device.finish('job-1');
    // Assess
    expect(service.statusOf('job-1')).toBe('REJECTED');
    expect(service.detailsOf('job-1')).toMatchObject({
      reason: 'signature',
      field: 'firmware.envelope.signatures',
    });
    expect(downloader.requests).toHaveLength(0);
  });

  it('a key the device trusts under that id, but not the one that signed, is refused before the download', async () => {
    // Prepare
    const service = new FakeJobsService();
    const downloader = new FakeDownloader(image);
    const device = new DeviceHarness({ service, downloader, key });
    await device.powerOn();
    // Act
    service.addJob('job-1', firmwareDocument(image, otherKey));
    await device.finish('job-1');
    // Assess
    expect(service.statusOf('job-1')).toBe('REJECTED');
    expect(service.detailsOf('job-1')).toMatchObject({ reason: 'signature', field: 'firmware.envelope' });
    expect(downloader.requests).toHaveLength(0);
  });

  it('after a failed verification the next job installs normally', async () => {
    // Prepare
    const service = new FakeJobsService();
    const downloader = new FakeDownloader(tampered);
    const device = new DeviceHarness({ service, downloader, key });
    await device.powerOn();
    service.addJob('job-1', firmwareDocument(image, key));
    await device.finish('job-1');
    // Act
    downloader.image = image;
    service.addJob('job-2', firmwareDocument(image, key));
    await device.finish('job-2');
    // Assess
    expect([service.statusOf('job-1'), service.statusOf('job-2')]).toEqual(['FAILED', 'SUCCEEDED']);
  });
});

describe('verifySlotImage', () => {
  async function slotsWith(bytes: Buffer) {
    const slots = new MemorySlotStore();
    const writer = await slots.openForWrite('b', 0);
    await writer.write(bytes);
    await writer.close();
    return slots;
  }
  const expected = { size: image.length, sha256: sha256(image) };

  it('returns the SHA-256 digest of a good image', async () => {
    const slots = await slotsWith(image);
    const digest = await verifySlotImage(slots, 'b', expected);
    expect(digest.toString('hex')).toBe(sha256(image));
  });

  it.each([
    ['size', { size: image.length + 1 }],
    ['sha256', { sha256: sha256(tampered) }],
  ] as const)('reason %s for %o', async (reason, override) => {
    const slots = await slotsWith(image);
    const error = await verifySlotImage(slots, 'b', { ...expected, ...override }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UpdateFailedError);
    expect((error as UpdateFailedError).reason).toBe(reason);
  });
});
