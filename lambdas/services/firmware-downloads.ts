import type { SignedArtifact } from '../../lib/protocol/jobs.ts';
import type { ArtifactPurpose } from '../../lib/protocol/rollouts.ts';
import { NotFoundError } from '../domain/errors.ts';
import { FirmwareStateError } from '../domain/firmware/errors.ts';
import { isSigned, type SignedFirmware } from '../domain/firmware/metadata.ts';
import type { FirmwareCatalog, FirmwareStore } from '../domain/firmware/ports.ts';

/** What a device (through its job document) is sent: the signed metadata and a fresh presigned GET. */
export interface FirmwareForDevice {
  readonly metadata: SignedFirmware;
  readonly url: string;
  /** Epoch seconds. */
  readonly urlExpiresAt: number;
}

/** What {@link firmwareForDevice} needs: read access to the catalog and the bucket, nothing else. */
export interface FirmwareDownloads {
  readonly catalog: FirmwareCatalog;
  readonly store: FirmwareStore;
  /** Lifetime of a device download URL. */
  readonly downloadUrlSeconds: number;
}

/**
 * The firmware a device is to install, with a presigned GET made for this call (every call a fresh URL,
 * so a device that asks again after `urlExpiresAt` gets a working one). The rollout / jobs service calls
 * this when it builds or renews a job document.
 *
 * @throws NotFoundError when the version is not registered
 * @throws FirmwareStateError when it is not available (pending upload, or withdrawn)
 */
export async function firmwareForDevice(
  deps: FirmwareDownloads,
  version: string,
  purpose: ArtifactPurpose = 'firmware',
): Promise<FirmwareForDevice> {
  const firmware = await deps.catalog.get(version);
  if (firmware === undefined) throw new NotFoundError(`no ${purpose} ${version}`);
  if (firmware.status !== 'available' || !isSigned(firmware)) {
    throw new FirmwareStateError(version, firmware.status, 'send devices', purpose);
  }
  const { url, expiresAt } = await deps.store.presignDownload(
    version,
    firmware.objectVersion,
    deps.downloadUrlSeconds,
  );
  return { metadata: firmware, url, urlExpiresAt: expiresAt };
}

/**
 * The `firmware` block of a firmware job document, or the `model` block of a model job document
 * (`lib/protocol/jobs.ts`): the signed manifest and where to fetch.
 */
export function jobDocumentFirmware(target: FirmwareForDevice): SignedArtifact {
  return {
    manifest: target.metadata.manifest,
    envelope: target.metadata.envelope,
    url: target.url,
    urlExpiresAt: target.urlExpiresAt,
  };
}
