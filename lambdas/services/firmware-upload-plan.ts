import type { RegisterFirmwareRequest, UploadPlan } from '../../lib/protocol/firmware.ts';
import type { FirmwareMetadata } from '../domain/firmware/metadata.ts';
import type { FirmwareStore } from '../domain/firmware/ports.ts';
import { planUpload } from '../domain/firmware/upload.ts';

/** What {@link presignUploadPlan} needs: the bucket, the URL lifetime and the clock. */
export interface UploadPlanDeps {
  readonly store: FirmwareStore;
  /** Lifetime of upload URLs (single PUT and parts). */
  readonly uploadUrlSeconds: number;
  readonly now: () => number;
}

/** True when a second registration declares exactly what the first did. */
export function sameDeclaration(stored: FirmwareMetadata, request: RegisterFirmwareRequest): boolean {
  return (
    stored.size === request.size &&
    stored.sha256 === request.sha256 &&
    stored.minVersion === request.minVersion &&
    stored.releaseNotes === request.releaseNotes &&
    stored.deviceTypes.length === request.deviceTypes.length &&
    stored.deviceTypes.every((type, i) => type === request.deviceTypes[i])
  );
}

/**
 * The presigned transfers of a registered version's upload: one PUT, or one URL per part of its
 * multipart upload. Every call presigns afresh, so registering again answers working URLs.
 */
export async function presignUploadPlan(
  deps: UploadPlanDeps,
  firmware: FirmwareMetadata,
): Promise<UploadPlan> {
  const { store, uploadUrlSeconds } = deps;
  if (firmware.upload.mode === 'single') {
    const { url, expiresAt } = await store.presignUpload(firmware.version, firmware.size, uploadUrlSeconds);
    return { method: 'PUT', url, expiresAt };
  }
  const { uploadId, partSize } = firmware.upload;
  const shape = planUpload(firmware.size, { upload: 'multipart', partSize });
  if (shape.mode !== 'multipart') throw new Error('a multipart registration planned a single upload');
  const parts = await Promise.all(
    shape.parts.map(async (part) => {
      const { url } = await store.presignPart(
        firmware.version,
        uploadId,
        part.partNumber,
        part.size,
        uploadUrlSeconds,
      );
      return { ...part, url };
    }),
  );
  return {
    method: 'multipart',
    partSize,
    parts,
    expiresAt: Math.floor(deps.now() / 1000) + uploadUrlSeconds,
  };
}
