import { describe, expect, it } from 'vitest';
import { downloadToSlot, type FirmwareRef } from '../../../../edge/src/ota/download.ts';
import { UpdateFailedError } from '../../../../edge/src/ota/errors.ts';
import { MemorySlotStore } from '../../../../edge/src/ota/memory-slot-store.ts';
import {
  BASE_TIME,
  FakeClock,
  FakeDownloader,
  firmwareDocument,
  IMAGE_URL,
  makeImage,
  makeKey,
  type ServePlan,
} from './support.ts';

const key = makeKey();
const image = makeImage(10_000);
const RENEWED_URL = 'https://firmware.example/image.bin?renewed';

function setup(plans: ServePlan[] = [], firmwareOverrides: Partial<FirmwareRef> = {}) {
  const slots = new MemorySlotStore({ initialVersion: '1.0.0' });
  const downloader = new FakeDownloader(image);
  downloader.plans = plans;
  const clock = new FakeClock();
  const section = firmwareDocument(image, key).firmware;
  const firmware: FirmwareRef = {
    url: section.url,
    urlExpiresAt: section.urlExpiresAt,
    size: section.manifest.size,
    sha256: section.manifest.sha256,
    ...firmwareOverrides,
  };
  const renewals: number[] = [];
  const run = (extra: { maxAttempts?: number; maxRenewals?: number } = {}) =>
    downloadToSlot({
      slots,
      slot: 'b',
      downloader,
      clock,
      firmware,
      renew: async () => {
        renewals.push(clock.now());
        downloader.validUrls.add(RENEWED_URL);
        return { ...firmware, url: RENEWED_URL, urlExpiresAt: Math.floor(clock.now() / 1000) + 3600 };
      },
      backoffMs: 10,
      ...extra,
    });
  return { slots, downloader, clock, firmware, renewals, run };
}

async function failure(promise: Promise<unknown>): Promise<UpdateFailedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof UpdateFailedError))
    throw new Error(`expected UpdateFailedError, got ${String(error)}`);
  return error;
}

describe('resumable download into the inactive slot', () => {
  it.each([0, 1, 1023, 1024, 5000, 9999])(
    'connection cut after %i bytes → resumes with Range: bytes=n- and the slot holds the image',
    async (cut) => {
      // Prepare
      const { slots, downloader, run } = setup([{ cutAfter: cut }, {}]);
      // Act
      const result = await run();
      // Assess
      expect(downloader.requests.map((r) => r.offset)).toEqual([0, cut]);
      expect(slots.contents('b').equals(image)).toBe(true);
      expect(result.requests).toBe(2);
    },
  );

  it('several cuts in a row each resume where the last one stopped', async () => {
    // Prepare
    const { slots, downloader, run } = setup([
      { cutAfter: 3000 },
      { cutAfter: 3000 },
      { cutAfter: 3000 },
      {},
    ]);
    // Act
    await run();
    // Assess
    expect(downloader.requests.map((r) => r.offset)).toEqual([0, 3000, 6000, 9000]);
    expect(slots.contents('b').equals(image)).toBe(true);
  });

  it('after a restart, resumes from what the slot already holds', async () => {
    // Prepare
    const { slots, downloader, run } = setup();
    const writer = await slots.openForWrite('b', 0);
    await writer.write(image.subarray(0, 4321));
    await writer.close();
    // Act
    const result = await run();
    // Assess
    expect(result.resumedFrom).toBe(4321);
    expect(downloader.requests.map((r) => r.offset)).toEqual([4321]);
    expect(slots.contents('b').equals(image)).toBe(true);
  });

  it('a slot holding more than the image is emptied and the download starts over', async () => {
    // Prepare
    const { slots, downloader, run } = setup();
    const writer = await slots.openForWrite('b', 0);
    await writer.write(Buffer.alloc(image.length + 10));
    await writer.close();
    // Act
    await run();
    // Assess
    expect(downloader.requests.map((r) => r.offset)).toEqual([0]);
    expect(slots.contents('b').equals(image)).toBe(true);
  });

  it('a server that ignores Range (200) → the image is written from byte 0 again', async () => {
    // Prepare
    const { slots, run } = setup([{ cutAfter: 4000 }, { ignoreRange: true }]);
    // Act
    await run();
    // Assess
    expect(slots.contents('b').equals(image)).toBe(true);
  });

  it('urlExpiresAt already past → asks for the execution again before the first request', async () => {
    // Prepare
    const { downloader, renewals, run } = setup([], { urlExpiresAt: Math.floor(BASE_TIME / 1000) - 1 });
    // Act
    const result = await run();
    // Assess
    expect(renewals).toHaveLength(1);
    expect(downloader.requests.map((r) => r.url)).toEqual([RENEWED_URL]);
    expect(result.firmware.url).toBe(RENEWED_URL);
  });

  it('urlExpiresAt within the safety margin counts as expired', async () => {
    // Prepare
    const { renewals, run } = setup([], { urlExpiresAt: Math.floor(BASE_TIME / 1000) + 10 });
    // Act
    await run();
    // Assess
    expect(renewals).toHaveLength(1);
  });

  it('HTTP 403 mid-way (the presigned URL expired) → renews and resumes from the held offset', async () => {
    // Prepare
    const { slots, downloader, renewals, run } = setup([{ cutAfter: 6000 }, {}]);
    downloader.validUrls.add(IMAGE_URL);
    downloader.validUrls.add(RENEWED_URL);
    const original = downloader.get.bind(downloader);
    downloader.get = async (request) => {
      if (request.offset > 0) downloader.validUrls.delete(IMAGE_URL);
      return original(request);
    };
    // Act
    await run();
    // Assess
    expect(renewals).toHaveLength(1);
    expect(downloader.requests.map((r) => [r.url, r.offset])).toEqual([
      [IMAGE_URL, 0],
      [IMAGE_URL, 6000],
      [RENEWED_URL, 6000],
    ]);
    expect(slots.contents('b').equals(image)).toBe(true);
  });

  it('403 even after renewing → FAILED download after maxRenewals', async () => {
    // Prepare
    const { run } = setup([{ status: 403 }]);
    // Act
    const error = await failure(run({ maxRenewals: 2 }));
    // Assess
    expect(error.reason).toBe('download');
    expect(error.detail).toContain('403');
  });

  it('the server has another size than the job document declares → size, before writing a byte', async () => {
    // Prepare
    const { slots, run } = setup([], { size: image.length + 1 });
    // Act
    const error = await failure(run());
    // Assess
    expect([error.reason, error.step]).toEqual(['size', 'downloading']);
    expect(slots.contents('b')).toHaveLength(0);
  });

  it('a server that sends more than the declared size (no total given) → size, nothing past the size written', async () => {
    // Prepare
    const { slots, run } = setup([{ omitTotal: true }], { size: image.length - 100 });
    // Act
    const error = await failure(run());
    // Assess
    expect(error.reason).toBe('size');
    expect(slots.contents('b').length).toBe(image.length - 100);
  });

  it('HTTP 404 → FAILED download at once', async () => {
    // Prepare
    const { downloader, run } = setup([{ status: 404 }]);
    // Act
    const error = await failure(run());
    // Assess
    expect(error.reason).toBe('download');
    expect(downloader.requests).toHaveLength(1);
  });

  it('HTTP 503 again and again → retries with backoff, then FAILED download after maxAttempts', async () => {
    // Prepare
    const { downloader, clock, run } = setup([{ status: 503 }]);
    // Act
    const error = await failure(run({ maxAttempts: 4 }));
    // Assess
    expect(error.reason).toBe('download');
    expect(downloader.requests).toHaveLength(4);
    expect(clock.now() - BASE_TIME).toBe(10 + 20 + 40);
  });

  it('progress resets the attempt count: many cuts that each gain bytes never give up', async () => {
    // Prepare
    const plans: ServePlan[] = Array.from({ length: 9 }, () => ({ cutAfter: 1000 }));
    const { slots, run } = setup([...plans, {}]);
    // Act
    await run({ maxAttempts: 3 });
    // Assess
    expect(slots.contents('b').equals(image)).toBe(true);
  });

  it('never writes the running slot', async () => {
    // Prepare
    const slots = new MemorySlotStore();
    // Act
    const error = await slots.openForWrite('a', 0).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Assess
    expect(String(error)).toContain('refusing to write');
  });
});
