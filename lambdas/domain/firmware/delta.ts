import { createHash } from 'node:crypto';
import { decode } from '@ably/vcdiff-decoder';
import { MAX_DELTA_IMAGE_BYTES } from '../../../lib/protocol/firmware-deltas.ts';
import { type FirmwareMetadata, isSigned } from './metadata.ts';
import { compareSemver } from './semver.ts';

/**
 * Delta images (issue 12, step 5): a VCDIFF delta (RFC 3284) from an older signed image to a newer
 * one, kept only once the registry decoded it against the stored base and found the newer image's
 * signed size and SHA-256. The device holds the result to the same manifest again, so a delta is never
 * trusted, only checked twice.
 */

/** A verified delta, recorded on the new version's catalog item (`deltas`, keyed by base version). */
export interface StoredDelta {
  readonly format: 'vcdiff';
  readonly fromVersion: string;
  /** SHA-256 of the base image it decodes against. */
  readonly fromSha256: string;
  /** The delta's own size and SHA-256, as measured when it was verified. */
  readonly size: number;
  readonly sha256: string;
  /** Object key in the firmware bucket. */
  readonly key: string;
  /** The object version that was verified, where the bucket is versioned: downloads are pinned to it. */
  readonly objectVersion?: string;
  /** Epoch milliseconds. */
  readonly verifiedAt: number;
}

/** Where deltas live in the firmware bucket: `deltas/{version}/from-{fromVersion}`. */
export const DELTA_PREFIX = 'deltas/';

/**
 * The store id of the delta from `fromVersion` to `version` (under {@link DELTA_PREFIX}). Versions are
 * `[0-9A-Za-z.-]`, so the id needs no escaping and never collides.
 */
export function deltaObjectId(version: string, fromVersion: string): string {
  return `${version}/from-${fromVersion}`;
}

/** A delta the registry will not keep: it does not make the signed image, or its pair is wrong. Maps to 400. */
export class DeltaRefusedError extends Error {
  override readonly name = 'DeltaRefusedError';
  constructor(
    readonly version: string,
    readonly fromVersion: string,
    readonly reason: string,
  ) {
    super(`delta from firmware ${fromVersion} to ${version} refused: ${reason}`);
  }
}

/**
 * Why no delta may go from `base` to `target`, or undefined when it may: the target is signed and
 * available, the base was signed (withdrawn ones still run on devices), is older, shares a device type,
 * and both fit in {@link MAX_DELTA_IMAGE_BYTES}.
 */
export function deltaPairProblem(target: FirmwareMetadata, base: FirmwareMetadata): string | undefined {
  if (target.status !== 'available' || !isSigned(target))
    return `firmware ${target.version} is ${target.status}: deltas go to available (signed) images only`;
  if (!isSigned(base)) return `firmware ${base.version} was never signed, so no device runs it`;
  if (compareSemver(base.version, target.version) >= 0)
    return `firmware ${base.version} is not older than ${target.version}`;
  if (!base.deviceTypes.some((type) => target.deviceTypes.includes(type)))
    return `firmware ${base.version} and ${target.version} share no device type`;
  const largest = Math.max(base.size, target.size);
  if (largest > MAX_DELTA_IMAGE_BYTES)
    return `images above ${MAX_DELTA_IMAGE_BYTES} bytes get no deltas (this pair has ${largest})`;
  return undefined;
}

const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/**
 * Decodes `delta` against `base` with the same pure-JS VCDIFF decoder the device uses, and checks that
 * the result is the image the signed manifest describes.
 *
 * @returns the reason it is not, or undefined when it is
 */
export function deltaResultProblem(
  delta: Uint8Array,
  base: Uint8Array,
  expected: { readonly size: number; readonly sha256: string },
): string | undefined {
  let image: Uint8Array;
  try {
    image = decode(delta, base);
  } catch (error) {
    return `it does not decode against the base image: ${error instanceof Error ? error.message : String(error)}`;
  }
  if (image.length !== expected.size)
    return `it decodes to ${image.length} bytes, the signed manifest says ${expected.size}`;
  const sha256 = sha256Of(image);
  if (sha256 !== expected.sha256)
    return `it decodes to SHA-256 ${sha256}, the signed manifest says ${expected.sha256}`;
  return undefined;
}

/** The verified deltas of a version, newest base first. */
export function deltasOf(firmware: FirmwareMetadata): readonly StoredDelta[] {
  return Object.values(firmware.deltas ?? {}).sort((a, b) => compareSemver(b.fromVersion, a.fromVersion));
}
