import type { ArtifactPurpose } from '../../../lib/protocol/rollouts.ts';
import type { StoredDelta } from './delta.ts';
import type { ImageDigest } from './errors.ts';
import type { FirmwareMetadata } from './metadata.ts';

/**
 * What the firmware registry needs from the outside world. Adapters in `lambdas/adapters/` implement
 * them: `KmsSigner`, `S3FirmwareStore`, `DynamoFirmwareCatalog`.
 */

/** A signature and the key that made it. */
export interface SignatureResult {
  /** DER-encoded ECDSA signature. */
  readonly signature: Uint8Array;
  /** The key's id as the signer reports it (a KMS key ARN): what devices look the public key up by. */
  readonly keyId: string;
}

/** Signs SHA-256 digests with ECDSA P-256; the private key never leaves the signer (KMS). */
export interface Signer {
  /** @param digest a 32-byte SHA-256 digest, signed as is (KMS `MessageType: DIGEST`) */
  sign(digest: Uint8Array): Promise<SignatureResult>;
  /** The public key (SubjectPublicKeyInfo, PEM) that verifies this signer's signatures. */
  publicKey(): Promise<{ readonly pem: string; readonly keyId: string }>;
}

/** A presigned URL and when it stops working (epoch seconds). */
export interface PresignedUrl {
  readonly url: string;
  readonly expiresAt: number;
}

/** What the store measured of an image. */
export interface StoredImage extends ImageDigest {
  /**
   * The object version that was measured, where the bucket is versioned (S3 in AWS): downloads are pinned
   * to it, so an overwrite after signing (an upload URL is valid for a while) never reaches a device.
   */
  readonly objectVersion?: string;
  /** The very bytes that were measured, when the caller asked to keep them. */
  readonly bytes?: Uint8Array;
}

/** Firmware images, one object per version; transfers go through presigned URLs, never the API. */
export interface FirmwareStore {
  /** A presigned PUT of exactly `size` bytes (the signature covers `Content-Length`). */
  presignUpload(version: string, size: number, expiresInSeconds: number): Promise<PresignedUrl>;
  /** Starts a multipart upload; returns its id. */
  startMultipartUpload(version: string): Promise<string>;
  /** A presigned PUT of one part of exactly `size` bytes. */
  presignPart(
    version: string,
    uploadId: string,
    partNumber: number,
    size: number,
    expiresInSeconds: number,
  ): Promise<PresignedUrl>;
  /**
   * Assembles the parts.
   *
   * @returns `missing` when S3 does not know the upload or a part (nothing was assembled)
   */
  completeMultipartUpload(
    version: string,
    uploadId: string,
    parts: ReadonlyArray<{ readonly partNumber: number; readonly etag: string }>,
  ): Promise<'completed' | 'missing'>;
  abortMultipartUpload(version: string, uploadId: string): Promise<void>;
  /**
   * Streams the stored image and measures it, or undefined when nothing is stored. With `keep`, the
   * measured bytes come back too when there are at most `maxBytes` of them.
   */
  digest(version: string, keep?: { readonly maxBytes: number }): Promise<StoredImage | undefined>;
  /** Deletes the stored image (a refused upload). */
  discard(version: string): Promise<void>;
  /** A presigned GET of the image (of `objectVersion` when given); Range requests work, so downloads resume. */
  presignDownload(
    version: string,
    objectVersion: string | undefined,
    expiresInSeconds: number,
  ): Promise<PresignedUrl>;
}

/** Firmware metadata, one item per version. */
export interface FirmwareCatalog {
  /** Stores a new version; `exists` when the version is taken (it is never overwritten). */
  create(firmware: FirmwareMetadata): Promise<'created' | 'exists'>;
  get(version: string): Promise<FirmwareMetadata | undefined>;
  /** Every version: a catalog holds hundreds, not millions. */
  list(): Promise<readonly FirmwareMetadata[]>;
  /** Writes `next` if the stored status is still `expectedStatus`. */
  replace(next: FirmwareMetadata, expectedStatus: FirmwareMetadata['status']): Promise<'saved' | 'conflict'>;
  /** Removes a version if its status is still `expectedStatus` (a refused upload's registration). */
  remove(version: string, expectedStatus: FirmwareMetadata['status']): Promise<'removed' | 'conflict'>;
  /**
   * Records a verified delta on an available version (replacing one from the same base), without
   * touching the item's other deltas: concurrent recordings of different bases all stay.
   *
   * @returns `conflict` when the version is not available any more
   */
  recordDelta(version: string, delta: StoredDelta): Promise<'saved' | 'conflict'>;
}

/** Whether rollouts use a version: a version an active rollout sends to devices cannot be withdrawn. */
export interface FirmwareUsage {
  /** @param purpose firmware images, or anomaly models (the model registry) */
  isInUse(version: string, purpose: ArtifactPurpose): Promise<boolean>;
}
