import {
  type DeltaUploadPlan,
  MAX_DELTA_IMAGE_BYTES,
  MAX_DELTAS_PER_VERSION,
  type RegisterDeltaRequest,
} from '../../lib/protocol/firmware-deltas.ts';
import { NotFoundError } from '../domain/errors.ts';
import {
  DELTA_PREFIX,
  DeltaRefusedError,
  deltaObjectId,
  deltaPairProblem,
  deltaResultProblem,
  type StoredDelta,
} from '../domain/firmware/delta.ts';
import { FirmwareStateError, UploadIncompleteError } from '../domain/firmware/errors.ts';
import { isSigned, type SignedFirmware } from '../domain/firmware/metadata.ts';
import type { FirmwareCatalog, FirmwareStore } from '../domain/firmware/ports.ts';
import type { Logger } from '../shared/logger.ts';

/** Dependencies of the {@link FirmwareDeltaService}. */
export interface FirmwareDeltaServiceDeps {
  readonly catalog: FirmwareCatalog;
  /** The firmware images (the bases are read from here). */
  readonly images: FirmwareStore;
  /** The deltas, under {@link DELTA_PREFIX} in the same bucket, by {@link deltaObjectId}. */
  readonly deltas: FirmwareStore;
  readonly log: Logger;
  readonly now: () => number;
  /** Lifetime of a delta's upload URL. */
  readonly uploadUrlSeconds: number;
}

/**
 * The firmware registry's deltas (issue 12, step 5): hands out a presigned PUT for a delta between two
 * signed versions, then verifies the stored delta by decoding it against the stored base image and
 * holding the result to the new image's signed manifest. A delta that does not make that image is
 * deleted and refused; one that does is recorded on the version, and job documents offer it.
 */
export class FirmwareDeltaService {
  constructor(private readonly deps: FirmwareDeltaServiceDeps) {}

  /** Both versions, refused unless a delta may go from one to the other. */
  private async pair(version: string, fromVersion: string): Promise<[SignedFirmware, SignedFirmware]> {
    const [target, base] = await Promise.all([
      this.deps.catalog.get(version),
      this.deps.catalog.get(fromVersion),
    ]);
    if (target === undefined) throw new NotFoundError(`no firmware ${version}`);
    if (base === undefined) throw new NotFoundError(`no firmware ${fromVersion}`);
    const problem = deltaPairProblem(target, base);
    if (problem !== undefined || !isSigned(target) || !isSigned(base))
      throw new DeltaRefusedError(version, fromVersion, problem ?? 'not signed');
    return [target, base];
  }

  /**
   * Plans a delta's upload: a presigned PUT of exactly `size` bytes. A delta no smaller than the image
   * saves nothing and is refused; so is a second one from the same base, and one more base than a
   * version keeps.
   *
   * @throws DeltaRefusedError, NotFoundError
   */
  async plan(version: string, request: RegisterDeltaRequest): Promise<DeltaUploadPlan> {
    const [target] = await this.pair(version, request.fromVersion);
    if (request.size >= target.size)
      throw new DeltaRefusedError(
        version,
        request.fromVersion,
        `a delta of ${request.size} bytes saves nothing on an image of ${target.size}`,
      );
    // Verified deltas are never overwritten, as versions are not: a second upload to the same key would
    // replace (and, refused, delete) the bytes job documents already point at.
    if (target.deltas?.[request.fromVersion] !== undefined)
      throw new DeltaRefusedError(
        version,
        request.fromVersion,
        `a verified delta from ${request.fromVersion} exists already`,
      );
    if (Object.keys(target.deltas ?? {}).length >= MAX_DELTAS_PER_VERSION)
      throw new DeltaRefusedError(
        version,
        request.fromVersion,
        `firmware ${version} has deltas from ${MAX_DELTAS_PER_VERSION} versions already`,
      );
    const { url, expiresAt } = await this.deps.deltas.presignUpload(
      deltaObjectId(version, request.fromVersion),
      request.size,
      this.deps.uploadUrlSeconds,
    );
    return { method: 'PUT', url, expiresAt };
  }

  /**
   * Verifies an uploaded delta and records it: decodes it against the stored base image (itself checked
   * against the base's signed SHA-256) and compares the result with the new image's signed size and
   * SHA-256. Anything else deletes the delta and refuses it. Completing a recorded delta answers it.
   *
   * @throws DeltaRefusedError when it does not make the signed image; UploadIncompleteError when nothing
   *   was uploaded; FirmwareStateError when the version stopped being available meanwhile
   */
  async complete(version: string, fromVersion: string): Promise<StoredDelta> {
    const { deltas, images, catalog, log, now } = this.deps;
    const [target, base] = await this.pair(version, fromVersion);
    // Completing again answers what was verified, and never measures (or deletes) the object again.
    const recorded = target.deltas?.[fromVersion];
    if (recorded !== undefined) return recorded;
    const id = deltaObjectId(version, fromVersion);
    const keep = { maxBytes: MAX_DELTA_IMAGE_BYTES };
    const [delta, baseImage] = await Promise.all([deltas.digest(id, keep), images.digest(fromVersion, keep)]);
    if (delta?.bytes === undefined)
      throw new UploadIncompleteError(
        `no delta from firmware ${fromVersion} to ${version} is uploaded yet: upload it with its plan, then complete`,
      );
    const problem =
      baseImage?.bytes === undefined || baseImage.sha256 !== base.manifest.sha256
        ? `the stored image of ${fromVersion} is not the one its manifest signed`
        : deltaResultProblem(delta.bytes, baseImage.bytes, target.manifest);
    if (problem !== undefined) {
      await this.discard(id);
      log.warn('firmware delta refused', { version, fromVersion, problem });
      throw new DeltaRefusedError(version, fromVersion, problem);
    }
    const record: StoredDelta = {
      format: 'vcdiff',
      fromVersion,
      fromSha256: base.manifest.sha256,
      size: delta.size,
      sha256: delta.sha256,
      key: `${DELTA_PREFIX}${id}`,
      ...(delta.objectVersion === undefined ? {} : { objectVersion: delta.objectVersion }),
      verifiedAt: now(),
    };
    if ((await catalog.recordDelta(version, record)) === 'conflict') {
      const current = await catalog.get(version);
      throw new FirmwareStateError(version, current?.status ?? 'withdrawn', 'record a delta for', 'firmware');
    }
    log.info('firmware delta verified', { version, fromVersion, size: delta.size, imageSize: target.size });
    return record;
  }

  /** Best effort, as for a refused image: an unrecorded delta is never offered to a device. */
  private async discard(id: string): Promise<void> {
    try {
      await this.deps.deltas.discard(id);
    } catch (error) {
      this.deps.log.warn('could not delete a refused delta', {
        id,
        errorType: error instanceof Error ? error.name : typeof error,
      });
    }
  }
}
