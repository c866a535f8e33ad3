import {
  type FirmwareStatus,
  type FirmwareView,
  SIGNATURE_ALGORITHM,
} from '../../../lib/protocol/firmware.ts';
import type { DsseEnvelope, UpdateManifest } from '../../../lib/protocol/manifest.ts';
import type { StoredDelta } from './delta.ts';
import { compareSemver } from './semver.ts';

/** How an image is being uploaded: one PUT, or a multipart upload S3 knows by its id. */
export type UploadRecord =
  | { readonly mode: 'single' }
  | { readonly mode: 'multipart'; readonly uploadId: string; readonly partSize: number };

/** A firmware image in the catalog. Times are epoch milliseconds. */
export interface FirmwareMetadata {
  readonly version: string;
  readonly deviceTypes: readonly string[];
  /** Devices must run at least this version to install the image. */
  readonly minVersion?: string;
  /** Declared at registration, verified against the stored object before signing. */
  readonly size: number;
  readonly sha256: string;
  readonly releaseNotes?: string;
  /**
   * Anti-rollback counter (issue 12): devices never install an image below the highest they committed,
   * except by a signed rollback. Absent in items registered before it existed: 0.
   */
  readonly securityVersion?: number;
  readonly status: FirmwareStatus;
  readonly registeredAt: number;
  readonly upload: UploadRecord;
  /** The signed release manifest and its DSSE envelope; set when the image became available. */
  readonly manifest?: UpdateManifest;
  readonly envelope?: DsseEnvelope;
  /** When the upload was verified and signed. */
  readonly uploadedAt?: number;
  /** The S3 object version that was verified and signed, where the bucket is versioned. */
  readonly objectVersion?: string;
  readonly withdrawnAt?: number;
  /** Who registered it, who completed its upload, who approved it (IAM principal ARNs; issue 12). */
  readonly registeredBy?: string;
  readonly uploadedBy?: string;
  readonly approvedBy?: string;
  readonly approvedAt?: number;
  /** Verified deltas to this image, by base version (issue 12, step 5; `delta.ts`). */
  readonly deltas?: Readonly<Record<string, StoredDelta>>;
}

/** An image that was verified and signed: what devices may be sent. */
export interface SignedFirmware extends FirmwareMetadata {
  readonly manifest: UpdateManifest;
  readonly envelope: DsseEnvelope;
  readonly uploadedAt: number;
}

/** True when the image carries its signed manifest (available, or withdrawn after it was available). */
export function isSigned(firmware: FirmwareMetadata): firmware is SignedFirmware {
  return (
    firmware.manifest !== undefined && firmware.envelope !== undefined && firmware.uploadedAt !== undefined
  );
}

/** True when the image is built for devices of `deviceType`. */
export function fitsDeviceType(firmware: FirmwareMetadata, deviceType: string): boolean {
  return firmware.deviceTypes.includes(deviceType);
}

/** True when a device running `currentVersion` may install the image (it is at least `minVersion`). */
export function canUpgradeFrom(firmware: FirmwareMetadata, currentVersion: string): boolean {
  return firmware.minVersion === undefined || compareSemver(currentVersion, firmware.minVersion) >= 0;
}

/** Why a device may not be sent an image. */
export type InstallRefusal =
  | 'not-available'
  | 'device-type'
  | 'below-min-version'
  | 'already-installed'
  | 'downgrade';

/** A device as the installability check sees it. */
export interface InstallTarget {
  readonly deviceType: string;
  /** The version the device last reported, if it ever did. */
  readonly firmwareVersion?: string;
}

/**
 * Whether `device` may be sent `firmware`: the image is available, built for the device's type, the
 * device meets `minVersion`, and the image is newer than what it runs — unless `rollback` is set, when an
 * older image is the point (health-gated rollback sends a device back to the version it had).
 */
export function checkInstall(
  firmware: FirmwareMetadata,
  device: InstallTarget,
  options: { readonly rollback?: boolean } = {},
): { readonly ok: true } | { readonly ok: false; readonly reason: InstallRefusal; readonly message: string } {
  const refuse = (reason: InstallRefusal, message: string) => ({ ok: false as const, reason, message });
  if (firmware.status !== 'available') {
    return refuse('not-available', `firmware ${firmware.version} is ${firmware.status}`);
  }
  if (!fitsDeviceType(firmware, device.deviceType)) {
    return refuse(
      'device-type',
      `firmware ${firmware.version} is for ${firmware.deviceTypes.join(', ')}, not ${device.deviceType}`,
    );
  }
  if (device.firmwareVersion === undefined) {
    // A device that never reported its version cannot be checked against minVersion: only an image
    // without an upgrade-path requirement is safe.
    return firmware.minVersion === undefined
      ? { ok: true }
      : refuse('below-min-version', `firmware ${firmware.version} needs ${firmware.minVersion} or later`);
  }
  const order = compareSemver(firmware.version, device.firmwareVersion);
  if (order === 0) return refuse('already-installed', `the device runs ${firmware.version} already`);
  if (order < 0 && options.rollback !== true) {
    return refuse(
      'downgrade',
      `firmware ${firmware.version} is older than ${device.firmwareVersion}; only a rollback may go back`,
    );
  }
  if (!canUpgradeFrom(firmware, device.firmwareVersion)) {
    return refuse(
      'below-min-version',
      `firmware ${firmware.version} needs ${firmware.minVersion} or later; the device runs ${device.firmwareVersion}`,
    );
  }
  return { ok: true };
}

/** Newest first, by semantic version precedence. */
export function byVersionDescending(a: FirmwareMetadata, b: FirmwareMetadata): number {
  return compareSemver(b.version, a.version);
}

/** The metadata as the HTTP API shows it: ISO times, no upload bookkeeping. */
export function toFirmwareView(firmware: FirmwareMetadata): FirmwareView {
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const view = {
    version: firmware.version,
    deviceTypes: firmware.deviceTypes,
    minVersion: firmware.minVersion,
    size: firmware.size,
    sha256: firmware.sha256,
    securityVersion: firmware.securityVersion ?? 0,
    signature: firmware.envelope?.signatures[0]?.sig,
    signatureAlgorithm: firmware.envelope === undefined ? undefined : SIGNATURE_ALGORITHM,
    keyId: firmware.envelope?.signatures[0]?.keyid,
    manifest: firmware.manifest,
    envelope: firmware.envelope,
    releaseNotes: firmware.releaseNotes,
    status: firmware.status,
    registeredAt: new Date(firmware.registeredAt).toISOString(),
    uploadedAt: iso(firmware.uploadedAt),
    withdrawnAt: iso(firmware.withdrawnAt),
    registeredBy: firmware.registeredBy,
    uploadedBy: firmware.uploadedBy,
    approvedBy: firmware.approvedBy,
    approvedAt: iso(firmware.approvedAt),
    deltas:
      firmware.deltas === undefined
        ? undefined
        : Object.values(firmware.deltas).map(({ objectVersion: _pinned, verifiedAt, ...delta }) => ({
            ...delta,
            verifiedAt: new Date(verifiedAt).toISOString(),
          })),
  };
  return Object.fromEntries(
    Object.entries(view).filter(([, v]) => v !== undefined),
  ) as unknown as FirmwareView;
}
