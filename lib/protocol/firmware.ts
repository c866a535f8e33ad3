import * as z from 'zod';
import type { FirmwareDeltaView } from './firmware-deltas.ts';
import { SIGNATURE_ALGORITHM, signedKeySet } from './jobs.ts';
import { type DsseEnvelope, KEY_PURPOSES, type UpdateManifest } from './manifest.ts';
import { deviceType } from './messages.ts';

/**
 * The firmware registry's wire contract: the operator HTTP API (`/firmware...`) and the public keys
 * devices trust (`GET /firmware/keys`).
 *
 * What is signed is not the image but its release manifest (`manifest.ts`: version, SHA-256, size, device
 * types, minimum version, security version, validity), in a DSSE envelope; the image is held to the
 * manifest's SHA-256. KMS signs SHA-256 of the envelope's PAE with `ECDSA_SHA_256` and `MessageType:
 * DIGEST`, which is ECDSA-with-SHA-256 of the PAE bytes: verify it with an ordinary SHA-256 verifier
 * over those bytes (`verifyEnvelopeSignature`). Node's `crypto.verify(null, digest, key, sig)` is wrong:
 * for EC keys `null` means SHA-256, so it hashes the digest a second time and always fails.
 */

export { SIGNATURE_ALGORITHM } from './jobs.ts';

/** The only key spec fleetkit signs with: NIST P-256 (KMS `ECC_NIST_P256`). */
export const SIGNING_KEY_SPEC = 'ECC_NIST_P256';

/** Where a device (or its provisioning) fetches the public keys that verify firmware signatures. */
export const FIRMWARE_KEYS_PATH = '/firmware/keys';

/** Largest image the registry accepts: verified in one pass within the HTTP API's 30 s integration limit. */
export const MAX_FIRMWARE_BYTES = 1024 * 1024 * 1024;
/** Images above this size are uploaded in parts unless the uploader asks otherwise. */
export const MULTIPART_THRESHOLD_BYTES = 100 * 1024 * 1024;
/** S3's smallest part (every part but the last). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** fleetkit presigns every part at once, so an upload plan stays a small response. */
export const MAX_PARTS = 1000;

/**
 * A firmware version: semantic versioning 2.0.0 (https://semver.org) without build metadata. Build
 * metadata does not count in precedence (semver §10), so `1.2.0+a` and `1.2.0+b` would be two images
 * ranking equal; the registry refuses that ambiguity.
 */
export const firmwareVersion = z
  .string()
  .max(64, 'must be at most 64 characters')
  .regex(
    /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/,
    'must be a semantic version such as 1.4.2 or 2.0.0-rc.1 (no build metadata, no leading zeros)',
  );

/** A SHA-256 digest as 64 lower-case hex digits, as the job document carries it. */
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

/** `POST /firmware`: what the uploader declares about the image before uploading it. */
export const registerFirmwareRequest = z.object({
  version: firmwareVersion,
  deviceTypes: z
    .array(deviceType)
    .min(1, 'must name at least one device type')
    .max(32, 'must name at most 32 device types')
    .refine((types) => new Set(types).size === types.length, 'must not repeat a device type'),
  /** Devices must run at least this version to install the image (an upgrade path, e.g. a bootloader). */
  minVersion: firmwareVersion.optional(),
  size: z
    .number()
    .int('must be a whole number of bytes')
    .min(1, 'must be at least 1 byte')
    .max(MAX_FIRMWARE_BYTES, `must be at most ${MAX_FIRMWARE_BYTES} bytes`),
  sha256: sha256Hex,
  releaseNotes: z.string().max(4096, 'must be at most 4096 characters').optional(),
  /**
   * Anti-rollback counter, signed into the manifest: devices never install an image with a lower one than
   * they have committed, except through a rollback job signed for them. Raise it with every release that
   * fixes a vulnerability. @default 0
   */
  securityVersion: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
  /** `single` (one presigned PUT) or `multipart` (presigned part URLs). @default by size */
  upload: z.enum(['single', 'multipart']).optional(),
  /** Part size for a multipart upload, raised if needed to keep within {@link MAX_PARTS}. @default 16 MiB */
  partSize: z
    .number()
    .int()
    .min(MIN_PART_BYTES, `must be at least ${MIN_PART_BYTES} bytes (S3's minimum part size)`)
    .max(MAX_FIRMWARE_BYTES)
    .optional(),
});
export type RegisterFirmwareRequest = z.output<typeof registerFirmwareRequest>;

/** `POST /firmware/{version}/complete`: for a multipart upload, the ETag S3 answered for each part. */
export const completeFirmwareRequest = z.object({
  parts: z
    .array(z.object({ partNumber: z.number().int().min(1).max(MAX_PARTS), etag: z.string().min(1).max(256) }))
    .min(1)
    .max(MAX_PARTS)
    .optional(),
});
export type CompleteFirmwareRequest = z.output<typeof completeFirmwareRequest>;

/** Where the image's upload stands. */
export const FIRMWARE_STATUSES = ['pending-upload', 'pending-approval', 'available', 'withdrawn'] as const;
export type FirmwareStatus = (typeof FIRMWARE_STATUSES)[number];

/** `GET /firmware` query. */
export const listFirmwareQuery = z.object({
  status: z.enum(FIRMWARE_STATUSES).optional(),
  deviceType: deviceType.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  nextToken: z.string().min(1).max(256).optional(),
});

/** A firmware image as the API shows it. Signature fields are present once the image is available. */
export interface FirmwareView {
  readonly version: string;
  readonly deviceTypes: readonly string[];
  readonly minVersion?: string;
  readonly size: number;
  readonly sha256: string;
  readonly securityVersion: number;
  /** base64 DER ECDSA P-256 signature of the signed manifest (DSSE over its canonical bytes). */
  readonly signature?: string;
  readonly signatureAlgorithm?: typeof SIGNATURE_ALGORITHM;
  readonly keyId?: string;
  /** The signed release manifest, once the image is available. */
  readonly manifest?: UpdateManifest;
  readonly envelope?: DsseEnvelope;
  readonly releaseNotes?: string;
  readonly status: FirmwareStatus;
  /** ISO 8601 times. */
  readonly registeredAt: string;
  readonly uploadedAt?: string;
  readonly withdrawnAt?: string;
  /** Who registered, uploaded (completed) and approved the image: IAM principal ARNs. */
  readonly registeredBy?: string;
  readonly uploadedBy?: string;
  readonly approvedBy?: string;
  readonly approvedAt?: string;
  /** Verified deltas to this image from older versions (`firmware-deltas.ts`). */
  readonly deltas?: readonly FirmwareDeltaView[];
}

/** How to upload a registered image: one presigned PUT, or presigned parts to complete with their ETags. */
export type UploadPlan =
  | {
      readonly method: 'PUT';
      /** PUT exactly `size` bytes here: the signature covers `Content-Length`. */
      readonly url: string;
      /** Epoch seconds. */
      readonly expiresAt: number;
    }
  | {
      readonly method: 'multipart';
      readonly partSize: number;
      /** PUT each part's bytes to its URL; keep the `ETag` S3 answers, for `complete`. */
      readonly parts: ReadonlyArray<{
        readonly partNumber: number;
        readonly size: number;
        readonly url: string;
      }>;
      readonly expiresAt: number;
    };

/** One public key devices trust, by the key id firmware metadata and job documents name. */
export const firmwarePublicKey = z.object({
  keyId: z.string().min(1).max(2048),
  keySpec: z.literal(SIGNING_KEY_SPEC),
  signingAlgorithm: z.literal(SIGNATURE_ALGORITHM),
  /** SubjectPublicKeyInfo, PEM. */
  publicKeyPem: z.string().startsWith('-----BEGIN PUBLIC KEY-----'),
  /** What it signs (issue 12: a key per purpose). */
  purposes: z.array(z.enum(KEY_PURPOSES)).min(1),
});
export type FirmwarePublicKey = z.output<typeof firmwarePublicKey>;

/**
 * `GET /firmware/keys`: the keys signed with now, and the signed key set devices trust (what a device is
 * provisioned with: its keys file).
 */
export const firmwareKeysResponse = z.object({ keys: z.array(firmwarePublicKey), keySet: signedKeySet });

/** `POST /firmware/keys/rollover`: issue the next key set, leaving out the keys named in `retire`. */
export const keyRolloverRequest = z.strictObject({
  retire: z.array(z.string().min(1).max(2048)).max(32).optional(),
});
export type FirmwareKeysResponse = z.output<typeof firmwareKeysResponse>;
