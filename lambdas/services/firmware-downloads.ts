import type { FirmwareDelta, SignedArtifact } from '../../lib/protocol/jobs.ts';
import type { ArtifactPurpose } from '../../lib/protocol/rollouts.ts';
import { NotFoundError } from '../domain/errors.ts';
import { deltaObjectId } from '../domain/firmware/delta.ts';
import { FirmwareStateError } from '../domain/firmware/errors.ts';
import { isSigned, type SignedFirmware } from '../domain/firmware/metadata.ts';
import type { FirmwareCatalog, FirmwareStore } from '../domain/firmware/ports.ts';

/** What a device (through its job document) is sent: the signed metadata and a fresh presigned GET. */
export interface FirmwareForDevice {
  readonly metadata: SignedFirmware;
  readonly url: string;
  /** Epoch seconds. */
  readonly urlExpiresAt: number;
  /** Verified deltas to the image from the version the device runs, each with a fresh presigned GET. */
  readonly deltas: readonly FirmwareDelta[];
}

/** What {@link firmwareForDevice} needs: read access to the catalog and the bucket, nothing else. */
export interface FirmwareDownloads {
  readonly catalog: FirmwareCatalog;
  readonly store: FirmwareStore;
  /** Lifetime of a device download URL. */
  readonly downloadUrlSeconds: number;
  /** The firmware deltas (`deltas/` in the bucket); without it job documents offer none. */
  readonly deltas?: FirmwareStore;
}

/**
 * The firmware a device is to install, with a presigned GET made for this call (every call a fresh URL,
 * so a device that asks again after `urlExpiresAt` gets a working one). The rollout / jobs service calls
 * this when it builds or renews a job document.
 *
 * With `fromVersion` (what the device runs, as the execution recorded it), the verified delta from that
 * version comes too, if there is one; a device that runs something else by then ignores it (the edge
 * agent picks a delta by the version it runs) and downloads the full image.
 *
 * @throws NotFoundError when the version is not registered
 * @throws FirmwareStateError when it is not available (pending upload, or withdrawn)
 */
export async function firmwareForDevice(
  deps: FirmwareDownloads,
  version: string,
  purpose: ArtifactPurpose = 'firmware',
  fromVersion?: string,
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
  const stored = fromVersion === undefined ? undefined : firmware.deltas?.[fromVersion];
  if (stored === undefined || deps.deltas === undefined || purpose !== 'firmware')
    return { metadata: firmware, url, urlExpiresAt: expiresAt, deltas: [] };
  const delta = await deps.deltas.presignDownload(
    deltaObjectId(version, stored.fromVersion),
    stored.objectVersion,
    deps.downloadUrlSeconds,
  );
  const { format, fromSha256, size, sha256 } = stored;
  return {
    metadata: firmware,
    url,
    urlExpiresAt: expiresAt,
    deltas: [
      {
        format,
        fromVersion: stored.fromVersion,
        fromSha256,
        size,
        sha256,
        url: delta.url,
        urlExpiresAt: delta.expiresAt,
      },
    ],
  };
}

/**
 * The `firmware` block of a firmware job document, or the `model` block of a model job document
 * (`lib/protocol/jobs.ts`): the signed manifest and where to fetch, and the deltas a device may patch
 * from instead (firmware only).
 */
export function jobDocumentFirmware(
  target: FirmwareForDevice,
): SignedArtifact & { deltas?: FirmwareDelta[] } {
  return {
    manifest: target.metadata.manifest,
    envelope: target.metadata.envelope,
    url: target.url,
    urlExpiresAt: target.urlExpiresAt,
    ...(target.deltas.length === 0 ? {} : { deltas: [...target.deltas] }),
  };
}
