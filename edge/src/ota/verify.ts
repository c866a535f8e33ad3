import { createHash } from 'node:crypto';
import { UpdateFailedError } from './errors.ts';
import type { SlotName, SlotStore } from './ports.ts';

/** What the bytes must be: from the signed manifest (or, for a delta, the delta's declared digest). */
export interface ExpectedFile {
  readonly size: number;
  readonly sha256: string;
}

/**
 * Checks the image in `slot` before anything is applied: its size, then its SHA-256 against the signed
 * manifest's (verified before the download began, see `statements.ts`), so the bytes are the ones the
 * service signed.
 *
 * @returns the image's SHA-256 digest
 * @throws UpdateFailedError with reason `size` or `sha256`
 */
export async function verifySlotImage(
  slots: SlotStore,
  slot: SlotName,
  expected: ExpectedFile,
): Promise<Buffer> {
  return verifyFile({ size: () => slots.size(slot), read: () => slots.read(slot) }, expected);
}

/** A file to verify: its size and its bytes. */
export interface VerifiableFile {
  size(): Promise<number>;
  read(): AsyncIterable<Uint8Array>;
}

/**
 * {@link verifySlotImage} for any file (an anomaly model's staging file, a patched image): size, then
 * SHA-256, with the same reasons.
 *
 * @returns the file's SHA-256 digest
 * @throws UpdateFailedError with reason `size` or `sha256`
 */
export async function verifyFile(file: VerifiableFile, expected: ExpectedFile): Promise<Buffer> {
  const size = await file.size();
  if (size !== expected.size) {
    throw new UpdateFailedError(
      'size',
      'verifying',
      `file holds ${size} bytes, the signed manifest declares ${expected.size}`,
    );
  }
  const hash = createHash('sha256');
  let read = 0;
  for await (const chunk of file.read()) {
    hash.update(chunk);
    read += chunk.length;
  }
  if (read !== expected.size) {
    throw new UpdateFailedError('size', 'verifying', `read back ${read} bytes, expected ${expected.size}`);
  }
  const digest = hash.digest();
  const actual = digest.toString('hex');
  if (actual !== expected.sha256) {
    throw new UpdateFailedError(
      'sha256',
      'verifying',
      `SHA-256 is ${actual}, the signed manifest says ${expected.sha256}`,
    );
  }
  return digest;
}
