import * as z from 'zod';
import { firmwareVersion, sha256Hex } from './firmware.ts';

/**
 * The firmware registry's delta uploads (issue 12, step 5): `firmware upload` of a new version also
 * uploads a VCDIFF delta (RFC 3284, made by xdelta3) from each version a rollout may start from. The
 * registry decodes every delta against the stored base image and keeps it only if the result is the
 * new image its signed manifest describes; job documents then offer the verified deltas
 * (`jobs.ts` `firmwareDelta`), and a device running a delta's base patches instead of downloading.
 */

/**
 * Largest image (base or new) the registry makes or verifies deltas for: verifying decodes the whole
 * image in memory, and so does the device when it patches.
 */
export const MAX_DELTA_IMAGE_BYTES = 64 * 1024 * 1024;

/** Deltas a version keeps at most (the job document carries at most 16; see `jobs.ts`). */
export const MAX_DELTAS_PER_VERSION = 8;

/** `POST /firmware/{version}/deltas`: upload a delta from `fromVersion` to the registered version. */
export const registerDeltaRequest = z.strictObject({
  fromVersion: firmwareVersion,
  format: z.literal('vcdiff').default('vcdiff'),
  size: z
    .number()
    .int('must be a whole number of bytes')
    .min(1, 'must be at least 1 byte')
    .max(MAX_DELTA_IMAGE_BYTES, `must be at most ${MAX_DELTA_IMAGE_BYTES} bytes`),
});
export type RegisterDeltaRequest = z.output<typeof registerDeltaRequest>;

/** The answer to {@link registerDeltaRequest}: PUT exactly `size` bytes to `url`, then complete. */
export interface DeltaUploadPlan {
  readonly method: 'PUT';
  readonly url: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
}

/** A verified delta as the API shows it (`GET /firmware/{version}` → `deltas`). */
export const firmwareDeltaView = z.object({
  format: z.literal('vcdiff'),
  fromVersion: firmwareVersion,
  /** SHA-256 of the base image the delta applies to. */
  fromSha256: sha256Hex,
  /** The delta's own size and SHA-256. */
  size: z.number().int().positive(),
  sha256: sha256Hex,
  /** Object key in the firmware bucket. */
  key: z.string(),
  /** ISO 8601 time the registry verified it. */
  verifiedAt: z.string(),
});
export type FirmwareDeltaView = z.output<typeof firmwareDeltaView>;
