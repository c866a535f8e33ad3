import { RefusedUrlError, UpdateFailedError } from './errors.ts';
import type { Clock, Downloader, DownloadResponse, DownloadTarget, SlotName, SlotStore } from './ports.ts';

/**
 * What a download needs: where (a presigned URL, renewable) and what to expect (size and SHA-256, from
 * the signed manifest, or a delta's own).
 */
export interface FirmwareRef {
  readonly url: string;
  readonly urlExpiresAt: number;
  readonly size: number;
  readonly sha256: string;
}

export interface DownloadOptions {
  readonly slots: SlotStore;
  readonly slot: SlotName;
  readonly downloader: Downloader;
  readonly clock: Clock;
  readonly firmware: FirmwareRef;
  /** Asks the Jobs service for the execution again (`{jobId}/get` with the job document) for a fresh URL. */
  readonly renew: () => Promise<FirmwareRef>;
  /** Called as bytes arrive (the caller throttles its reports). */
  readonly onProgress?: (bytes: number, size: number) => Promise<void> | void;
  readonly signal?: AbortSignal;
  /** A URL this close to `urlExpiresAt` counts as expired. @default 30 */
  readonly expiryMarginSeconds?: number;
  /** Attempts in a row that gain no byte before the download fails. @default 8 */
  readonly maxAttempts?: number;
  /** URL renewals in a row that gain no byte before the download fails. @default 3 */
  readonly maxRenewals?: number;
  /** First retry delay; doubles up to 30 s. @default 1_000 */
  readonly backoffMs?: number;
}

/** {@link DownloadOptions} for any resumable file instead of a firmware slot. */
export type DownloadFileOptions = Omit<DownloadOptions, 'slots' | 'slot'> & {
  readonly target: DownloadTarget;
};

export interface DownloadResult {
  /** The firmware section last used (with a renewed URL, if it was renewed). */
  readonly firmware: FirmwareRef;
  /** Bytes that were already in the slot when the download started. */
  readonly resumedFrom: number;
  /** HTTP requests made. */
  readonly requests: number;
  readonly renewals: number;
}

const sameImage = (a: FirmwareRef, b: FirmwareRef) => a.sha256 === b.sha256 && a.size === b.size;

/**
 * Downloads the image into `slot`, resuming from what the slot already holds: each request asks
 * `Range: bytes={held}-` (RFC 9110 §14.2), so a dropped connection or a restart costs only what was
 * in flight. A presigned URL past `urlExpiresAt`, or answered with 403, is renewed through the Jobs
 * service. Bytes are written as they arrive, never past the declared size.
 *
 * @throws UpdateFailedError `size` if the server's object is not the declared size, `download` after
 *   too many failed attempts or a permanent HTTP error
 */
export async function downloadToSlot(options: DownloadOptions): Promise<DownloadResult> {
  const { slots, slot, ...rest } = options;
  return downloadFile({
    ...rest,
    target: {
      size: () => slots.size(slot),
      discard: () => slots.discard(slot),
      openForWrite: (offset) => slots.openForWrite(slot, offset),
    },
  });
}

/**
 * {@link downloadToSlot} into any {@link DownloadTarget} (an anomaly model's staging file): the same
 * Range requests, resume, URL renewal and size checks.
 *
 * @throws UpdateFailedError `size` or `download`, as {@link downloadToSlot}
 */
export async function downloadFile(options: DownloadFileOptions): Promise<DownloadResult> {
  const { target, downloader, clock, signal } = options;
  const margin = options.expiryMarginSeconds ?? 30;
  const maxAttempts = options.maxAttempts ?? 8;
  const maxRenewals = options.maxRenewals ?? 3;
  let firmware = options.firmware;
  let held = await target.size();
  if (held > firmware.size) {
    await target.discard();
    held = 0;
  }
  const resumedFrom = held;
  let failures = 0;
  let renewalsInARow = 0;
  let renewals = 0;
  let requests = 0;
  let forceRenew = false;
  let lastProblem = '';

  const renew = async () => {
    renewalsInARow += 1;
    renewals += 1;
    if (renewalsInARow > maxRenewals) {
      throw new UpdateFailedError(
        'download',
        'downloading',
        `URL still refused after ${maxRenewals} renewals (${lastProblem})`,
      );
    }
    const fresh = await options.renew();
    if (!sameImage(fresh, firmware)) {
      // Another image behind the same job: what the slot holds belongs to the old one.
      await target.discard();
      held = 0;
    }
    firmware = fresh;
    forceRenew = false;
  };

  const fail = async (problem: string) => {
    lastProblem = problem;
    failures += 1;
    if (failures >= maxAttempts) {
      throw new UpdateFailedError(
        'download',
        'downloading',
        `${problem} (${failures} attempts without progress)`,
      );
    }
    const delay = Math.min(30_000, (options.backoffMs ?? 1_000) * 2 ** (failures - 1));
    await clock.sleep(delay, signal);
  };

  while (held < firmware.size) {
    signal?.throwIfAborted();
    if (forceRenew || clock.now() / 1000 >= firmware.urlExpiresAt - margin) {
      await renew();
      continue;
    }
    let response: DownloadResponse;
    try {
      requests += 1;
      response = await downloader.get({ url: firmware.url, offset: held, ...(signal ? { signal } : {}) });
    } catch (error) {
      signal?.throwIfAborted();
      if (error instanceof RefusedUrlError)
        throw new UpdateFailedError('download', 'downloading', error.message);
      await fail(`request failed: ${(error as Error).message}`);
      continue;
    }
    if (response.status === 403) {
      // S3 answers an expired presigned URL with 403 AccessDenied ("Request has expired").
      lastProblem = 'HTTP 403';
      forceRenew = true;
      continue;
    }
    if (response.status === 416) {
      // The slot holds more than the object: it is not the object we think it is.
      await target.discard();
      held = 0;
      await fail('HTTP 416 for the held range');
      continue;
    }
    if (response.status !== 200 && response.status !== 206) {
      const permanent =
        response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
      if (permanent)
        throw new UpdateFailedError('download', 'downloading', `HTTP ${response.status} for the image`);
      await fail(`HTTP ${response.status}`);
      continue;
    }
    if (response.totalSize !== undefined && response.totalSize !== firmware.size) {
      throw new UpdateFailedError(
        'size',
        'downloading',
        `server has ${response.totalSize} bytes, job document declares ${firmware.size}`,
      );
    }
    // 200: the server ignored Range and sends everything; 206 must start where we asked.
    const start = response.status === 200 ? 0 : response.start;
    if (start !== held && response.status === 206) {
      await fail(`server answered from byte ${start}, asked for ${held}`);
      continue;
    }
    const writer = await target.openForWrite(start);
    held = start;
    const before = held;
    let cut = '';
    renewalsInARow = 0;
    try {
      for await (const chunk of response.body) {
        signal?.throwIfAborted();
        const room = firmware.size - held;
        if (chunk.length > room) {
          if (room > 0) await writer.write(chunk.subarray(0, room));
          throw new UpdateFailedError(
            'size',
            'downloading',
            `server sent more than the declared ${firmware.size} bytes`,
          );
        }
        await writer.write(chunk);
        held += chunk.length;
        await options.onProgress?.(held, firmware.size);
      }
    } catch (error) {
      if (error instanceof UpdateFailedError) throw error;
      signal?.throwIfAborted();
      cut = `connection dropped at byte ${held}: ${(error as Error).message}`;
    } finally {
      await writer.close();
    }
    if (held > before) failures = 0;
    if (held < firmware.size) await fail(cut || `response ended at byte ${held}`);
  }
  return { firmware, resumedFrom, requests, renewals };
}
