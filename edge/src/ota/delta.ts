import { createHash } from 'node:crypto';
import { decode } from '@ably/vcdiff-decoder';
import type { FirmwareDelta } from '../../../lib/protocol/jobs.ts';
import { type DownloadOptions, downloadFile, type FirmwareRef } from './download.ts';
import { UpdateFailedError } from './errors.ts';
import type { Clock, Downloader, DownloadTarget, SlotName, SlotStore, SlotWriter } from './ports.ts';

/** Why a delta was not used; the caller falls back to the full image. */
export class DeltaUnusableError extends Error {
  override readonly name = 'DeltaUnusableError';
}

/** What patching the next image from a delta needs. */
export interface DeltaPatchOptions {
  readonly slots: SlotStore;
  /** The slot holding the image the delta starts from (the committed one). */
  readonly base: SlotName;
  /** The inactive slot the new image goes to (empty). */
  readonly target: SlotName;
  readonly delta: FirmwareDelta;
  /** The full image's size and SHA-256, from the signed manifest. */
  readonly expected: { readonly size: number; readonly sha256: string };
  readonly downloader: Downloader;
  readonly clock: Clock;
  readonly signal: AbortSignal;
  /** The delta's location from the job document fetched again (its presigned URL expired). */
  readonly renew: () => Promise<FirmwareRef>;
  readonly download?: Pick<
    DownloadOptions,
    'maxAttempts' | 'maxRenewals' | 'backoffMs' | 'expiryMarginSeconds'
  >;
}

const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** A download held in memory: a delta is a fraction of the image it makes. */
function memoryTarget(): DownloadTarget & { bytes(): Buffer } {
  let chunks: Buffer[] = [];
  let held = 0;
  return {
    size: async () => held,
    discard: async () => {
      chunks = [];
      held = 0;
    },
    openForWrite: async (offset): Promise<SlotWriter> => {
      const kept = Buffer.concat(chunks).subarray(0, offset);
      chunks = [kept];
      held = kept.length;
      return {
        write: async (bytes) => {
          chunks.push(Buffer.from(bytes));
          held += bytes.length;
        },
        close: async () => {},
      };
    },
    bytes: () => Buffer.concat(chunks),
  };
}

async function readSlot(slots: SlotStore, slot: SlotName): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of slots.read(slot)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * Makes the next image from the one the device runs and a VCDIFF delta (RFC 3284), as Mender's delta
 * updates do: downloads the delta (resumable, its own size and SHA-256 checked), checks the base is
 * the image the delta was made from, decodes, and holds the result to the signed manifest's size and
 * SHA-256 — all in memory — before it writes the image to the inactive slot. So the slot only ever
 * holds a prefix of the right image: a power cut while writing leaves what a full download resumes from.
 *
 * @throws DeltaUnusableError when the delta cannot make the signed image (the caller downloads the
 *   full one); the signal's reason when aborted
 */
export async function patchFromDelta(options: DeltaPatchOptions): Promise<{ deltaBytes: number }> {
  const { delta, signal } = options;
  const held = memoryTarget();
  try {
    await downloadFile({
      target: held,
      downloader: options.downloader,
      clock: options.clock,
      firmware: delta,
      signal,
      renew: options.renew,
      ...options.download,
    });
  } catch (error) {
    signal.throwIfAborted();
    // A job that ended (renewing the URL found it so) is not the delta's failure.
    if (!(error instanceof UpdateFailedError)) throw error;
    throw new DeltaUnusableError(`delta download failed: ${error.reason}: ${error.detail}`);
  }
  const bytes = held.bytes();
  if (bytes.length !== delta.size || sha256Of(bytes) !== delta.sha256)
    throw new DeltaUnusableError('the delta downloaded is not the one the job document describes');
  const base = await readSlot(options.slots, options.base);
  if (sha256Of(base) !== delta.fromSha256)
    throw new DeltaUnusableError(
      `the running image is not the one the delta from ${delta.fromVersion} starts from`,
    );
  let image: Uint8Array;
  try {
    image = decode(bytes, base);
  } catch (error) {
    throw new DeltaUnusableError(`the delta does not decode: ${(error as Error).message}`);
  }
  if (image.length !== options.expected.size || sha256Of(image) !== options.expected.sha256)
    throw new DeltaUnusableError('the patched image does not match the signed manifest');
  signal.throwIfAborted();
  const writer = await options.slots.openForWrite(options.target, 0);
  await writer.write(image);
  await writer.close();
  return { deltaBytes: bytes.length };
}
