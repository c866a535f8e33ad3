import { SchemaValidationError } from '../../../lib/protocol/errors.ts';
import {
  type FirmwareStatus,
  MAX_PARTS,
  MIN_PART_BYTES,
  MULTIPART_THRESHOLD_BYTES,
  type RegisterFirmwareRequest,
} from '../../../lib/protocol/firmware.ts';
import type { DsseEnvelope, UpdateManifest } from '../../../lib/protocol/manifest.ts';
import type { ArtifactPurpose } from '../../../lib/protocol/rollouts.ts';
import { FirmwareStateError, type ImageDigest, SelfApprovalError } from './errors.ts';
import type { FirmwareMetadata, SignedFirmware, UploadRecord } from './metadata.ts';
import { compareSemver } from './semver.ts';

/**
 * The upload state machine: register → upload → verify → sign → available, and withdraw from any state
 * but withdrawn.
 *
 * ```
 *   register ──▶ pending-upload ──(uploaded, verified, signed)──────────────────▶ available
 *                      │   └──(verified; approval required)──▶ pending-approval ──┘ (approved by
 *                      │                                          │                another, signed)
 *                      └──────────────── withdraw ───────────────┴───────────────────┴──▶ withdrawn
 * ```
 *
 * A refused upload (size or SHA-256 not as declared) leaves no state: the object is deleted and the
 * registration dropped, so the version can be registered again with what it really is.
 */

/** Which status may follow which. */
export const FIRMWARE_TRANSITIONS: Readonly<Record<FirmwareStatus, readonly FirmwareStatus[]>> = {
  'pending-upload': ['available', 'pending-approval', 'withdrawn'],
  // Verified, not signed: devices may not trust it before another principal approved it.
  'pending-approval': ['available', 'withdrawn'],
  available: ['withdrawn'],
  withdrawn: [],
};

/** Default part size: large enough that a 1 GiB image is 64 parts, small enough to retry cheaply. */
export const DEFAULT_PART_BYTES = 16 * 1024 * 1024;

/** How an image of `size` bytes is to be uploaded. */
export type UploadShape =
  | { readonly mode: 'single' }
  | {
      readonly mode: 'multipart';
      readonly partSize: number;
      readonly parts: ReadonlyArray<{ readonly partNumber: number; readonly size: number }>;
    };

/**
 * Plans the upload: one PUT up to {@link MULTIPART_THRESHOLD_BYTES} unless the uploader asks for parts;
 * parts of `partSize` (raised to stay within {@link MAX_PARTS}), the last one shorter.
 */
export function planUpload(
  size: number,
  request: { readonly upload?: 'single' | 'multipart'; readonly partSize?: number } = {},
): UploadShape {
  const mode = request.upload ?? (size > MULTIPART_THRESHOLD_BYTES ? 'multipart' : 'single');
  if (mode === 'single') return { mode };
  const partSize = Math.max(
    request.partSize ?? DEFAULT_PART_BYTES,
    Math.ceil(size / MAX_PARTS),
    MIN_PART_BYTES,
  );
  const count = Math.max(1, Math.ceil(size / partSize));
  const parts = Array.from({ length: count }, (_, i) => ({
    partNumber: i + 1,
    size: i === count - 1 ? size - partSize * (count - 1) : partSize,
  }));
  return { mode, partSize, parts };
}

/**
 * The first step: a registration as declared, pending its upload.
 *
 * @throws SchemaValidationError when `minVersion` is above `version` (no device could upgrade to it)
 */
export function registerFirmware(
  request: RegisterFirmwareRequest,
  upload: UploadRecord,
  now: number,
): FirmwareMetadata {
  if (request.minVersion !== undefined && compareSemver(request.minVersion, request.version) > 0) {
    throw new SchemaValidationError('firmware registration', [
      {
        field: 'minVersion',
        reason: `must not be above version ${request.version}, got ${request.minVersion}`,
      },
    ]);
  }
  return {
    version: request.version,
    deviceTypes: request.deviceTypes,
    ...(request.minVersion === undefined ? {} : { minVersion: request.minVersion }),
    size: request.size,
    sha256: request.sha256,
    ...(request.releaseNotes === undefined ? {} : { releaseNotes: request.releaseNotes }),
    securityVersion: request.securityVersion ?? 0,
    status: 'pending-upload',
    registeredAt: now,
    upload,
  };
}

/**
 * Where `complete` stands for this image: `verify` (go on: check the upload, then sign), `done` (it is
 * available already: a retried complete answers the same), or a {@link FirmwareStateError}.
 */
export function completionStep(
  firmware: FirmwareMetadata,
  purpose: ArtifactPurpose = 'firmware',
): 'verify' | 'done' {
  if (firmware.status === 'pending-upload') return 'verify';
  if (firmware.status === 'available' || firmware.status === 'pending-approval') return 'done';
  throw new FirmwareStateError(firmware.version, firmware.status, 'complete the upload of', purpose);
}

/** An upload whose stored bytes were measured and found to be what was declared. */
export interface VerifiedUpload {
  readonly version: string;
  readonly size: number;
  readonly sha256: string;
  readonly objectVersion?: string;
  readonly verified: true;
}

/** Compares the stored image with the registration. */
export function verifyUpload(
  firmware: FirmwareMetadata,
  stored: ImageDigest & { readonly objectVersion?: string },
): { readonly ok: true; readonly upload: VerifiedUpload } | { readonly ok: false } {
  if (stored.size !== firmware.size || stored.sha256 !== firmware.sha256) return { ok: false };
  return { ok: true, upload: { version: firmware.version, ...stored, verified: true } };
}

/**
 * The release manifest of a verified image (issue 12): everything a device decides on, valid from `now`
 * for `validitySeconds`. `purpose` is what a device checks it against: a firmware manifest cannot pass
 * for a model's, and the reverse. Signing it (KMS, with the purpose's own key) is the service's part.
 */
export function releaseManifest(
  firmware: FirmwareMetadata,
  upload: VerifiedUpload,
  now: number,
  validitySeconds: number,
  purpose: ArtifactPurpose = 'firmware',
): UpdateManifest {
  const issuedAt = Math.floor(now / 1000);
  return {
    purpose,
    version: firmware.version,
    sha256: upload.sha256,
    size: upload.size,
    deviceTypes: [...firmware.deviceTypes],
    ...(firmware.minVersion === undefined ? {} : { minVersion: firmware.minVersion }),
    securityVersion: firmware.securityVersion ?? 0,
    issuedAt,
    expiresAt: issuedAt + validitySeconds,
  };
}

/** The last step: a verified upload and its signed manifest make the image available. */
export function markAvailable(
  firmware: FirmwareMetadata,
  upload: VerifiedUpload,
  signed: { readonly manifest: UpdateManifest; readonly envelope: DsseEnvelope },
  now: number,
  approval?: { readonly approvedBy: string },
): SignedFirmware {
  const from: FirmwareStatus = approval === undefined ? 'pending-upload' : 'pending-approval';
  if (firmware.status !== from) {
    throw new FirmwareStateError(firmware.version, firmware.status, 'make available');
  }
  if (upload.version !== firmware.version || upload.sha256 !== firmware.sha256) {
    throw new Error(`verified upload of ${upload.version} does not belong to firmware ${firmware.version}`);
  }
  return {
    ...firmware,
    status: 'available',
    manifest: signed.manifest,
    envelope: signed.envelope,
    uploadedAt: firmware.uploadedAt ?? now,
    ...(upload.objectVersion === undefined ? {} : { objectVersion: upload.objectVersion }),
    ...(approval === undefined ? {} : { approvedBy: approval.approvedBy, approvedAt: now }),
  };
}

/**
 * A verified upload that waits for another principal's approval before it is signed (release
 * approval, `-c fleetkit:requireApproval=true`).
 */
export function markVerified(
  firmware: FirmwareMetadata,
  upload: VerifiedUpload,
  now: number,
): FirmwareMetadata {
  if (firmware.status !== 'pending-upload') {
    throw new FirmwareStateError(firmware.version, firmware.status, 'verify the upload of');
  }
  return {
    ...firmware,
    status: 'pending-approval',
    uploadedAt: now,
    ...(upload.objectVersion === undefined ? {} : { objectVersion: upload.objectVersion }),
  };
}

/**
 * The upload an approval signs: what `complete` measured, recorded on the image.
 *
 * @throws FirmwareStateError unless the image waits for approval
 * @throws SelfApprovalError when `approver` registered or uploaded it
 */
export function approvalOf(
  firmware: FirmwareMetadata,
  approver: string,
  purpose: ArtifactPurpose = 'firmware',
): VerifiedUpload {
  if (firmware.status !== 'pending-approval') {
    throw new FirmwareStateError(firmware.version, firmware.status, 'approve', purpose);
  }
  if (approver === firmware.registeredBy || approver === firmware.uploadedBy) {
    throw new SelfApprovalError(firmware.version, approver, purpose);
  }
  return {
    version: firmware.version,
    size: firmware.size,
    sha256: firmware.sha256,
    ...(firmware.objectVersion === undefined ? {} : { objectVersion: firmware.objectVersion }),
    verified: true,
  };
}

/** Withdraws an image: no new rollout may use it. Withdrawing twice is the same as once. */
export function withdrawFirmware(firmware: FirmwareMetadata, now: number): FirmwareMetadata {
  if (firmware.status === 'withdrawn') return firmware;
  return { ...firmware, status: 'withdrawn', withdrawnAt: now };
}
