import { SchemaValidationError } from '../../lib/protocol/errors.ts';
import type {
  CompleteFirmwareRequest,
  FirmwareStatus,
  RegisterFirmwareRequest,
  UploadPlan,
} from '../../lib/protocol/firmware.ts';
import type { ArtifactPurpose } from '../../lib/protocol/rollouts.ts';
import { NotFoundError } from '../domain/errors.ts';
import {
  FirmwareExistsError,
  FirmwareInUseError,
  FirmwareStateError,
  ModelContractError,
  UnknownPrincipalError,
  UploadIncompleteError,
  UploadMismatchError,
} from '../domain/firmware/errors.ts';
import {
  type FirmwareMetadata,
  isSigned,
  type SignedFirmware,
  type UploadRecord,
} from '../domain/firmware/metadata.ts';
import type { FirmwareUsage, Signer } from '../domain/firmware/ports.ts';
import {
  approvalOf,
  completionStep,
  markAvailable,
  markVerified,
  planUpload,
  registerFirmware,
  releaseManifest,
  type VerifiedUpload,
  verifyUpload,
  withdrawFirmware,
} from '../domain/firmware/upload.ts';
import type { Page } from '../ports.ts';
import type { Logger } from '../shared/logger.ts';
import { type FirmwareDownloads, type FirmwareForDevice, firmwareForDevice } from './firmware-downloads.ts';
import { type FirmwareListQuery, listFirmware } from './firmware-listing.ts';
import { presignUploadPlan, sameDeclaration } from './firmware-upload-plan.ts';
import { signStatement } from './statement-signer.ts';

export type { FirmwareListQuery } from './firmware-listing.ts';

/** Dependencies of the {@link FirmwareService}. */
export interface FirmwareServiceDeps extends FirmwareDownloads {
  readonly signer: Signer;
  readonly usage: FirmwareUsage;
  readonly log: Logger;
  readonly now: () => number;
  /** Lifetime of upload URLs (single PUT and parts). */
  readonly uploadUrlSeconds: number;
  /** How long a signed release manifest is valid: devices refuse it after (a freeze attack replays stale ones). */
  readonly manifestValiditySeconds: number;
  /**
   * Release approval (`-c fleetkit:requireApproval=true`): a verified upload waits in
   * `pending-approval` and is signed only when another principal approves it.
   */
  readonly requireApproval: boolean;
  /**
   * What this registry holds: firmware images, or anomaly models (the model registry: `/models`, its own
   * catalog, key prefix and signing key). It names the manifest's purpose. @default 'firmware'
   */
  readonly purpose?: ArtifactPurpose;
  /**
   * Looks inside a verified upload before it is signed: the problems that make it unfit for the device
   * types it is registered for (a model against their feature contract). Any problem refuses the upload
   * like a digest mismatch.
   */
  readonly inspect?: {
    /** Largest upload it reads (the registration refuses larger ones already). */
    readonly maxBytes: number;
    readonly problems: (artifact: FirmwareMetadata, bytes: Uint8Array) => readonly string[];
  };
}

/**
 * The firmware registry: registers images, hands out presigned transfers, verifies and signs uploads,
 * lists, withdraws. Signing happens only after the stored bytes were measured and found to be what the
 * uploader declared; what is signed is the SHA-256 the registry computed itself. The model registry is
 * the same service with `purpose: 'model'` and an inspection of the model against the device types'
 * feature contract.
 */
export class FirmwareService {
  private readonly purpose: ArtifactPurpose;

  constructor(private readonly deps: FirmwareServiceDeps) {
    this.purpose = deps.purpose ?? 'firmware';
  }

  /**
   * Registers a version and plans its upload. Registering a pending version again with the same
   * declaration answers a fresh plan (expired URLs, a lost response); anything else that exists is a
   * {@link FirmwareExistsError}.
   */
  async register(
    request: RegisterFirmwareRequest,
    principal?: string,
  ): Promise<{
    readonly firmware: FirmwareMetadata;
    readonly upload: UploadPlan;
    readonly created: boolean;
  }> {
    const { catalog, store, now } = this.deps;
    const existing = await catalog.get(request.version);
    if (existing !== undefined) {
      if (existing.status !== 'pending-upload' || !sameDeclaration(existing, request)) {
        throw new FirmwareExistsError(request.version, this.purpose);
      }
      return { firmware: existing, upload: await this.plan(existing), created: false };
    }
    const shape = planUpload(request.size, request);
    const upload: UploadRecord =
      shape.mode === 'single'
        ? { mode: 'single' }
        : {
            mode: 'multipart',
            uploadId: await store.startMultipartUpload(request.version),
            partSize: shape.partSize,
          };
    const firmware = {
      ...registerFirmware(request, upload, now()),
      ...(principal === undefined ? {} : { registeredBy: principal }),
    };
    if ((await catalog.create(firmware)) === 'exists') {
      // Another registration won the race: its upload is the one that counts.
      if (upload.mode === 'multipart') await this.abandon(request.version, upload.uploadId);
      throw new FirmwareExistsError(request.version, this.purpose);
    }
    this.deps.log.info(`${this.purpose} registered`, {
      version: firmware.version,
      size: firmware.size,
      upload: upload.mode,
    });
    return { firmware, upload: await this.plan(firmware), created: true };
  }

  private plan(firmware: FirmwareMetadata): Promise<UploadPlan> {
    return presignUploadPlan(this.deps, firmware);
  }

  /**
   * Finishes an upload: assembles the parts (multipart), measures the stored image, refuses it unless
   * size and SHA-256 are as declared (deleting it and dropping the registration), signs its release
   * manifest, and makes the version available — or, under release approval, leaves it verified and
   * unsigned in `pending-approval`. Completing again answers what is stored, unchanged.
   *
   * @param principal who completes it (the API Gateway IAM authorizer's principal), recorded as uploader
   */
  async complete(
    version: string,
    request: CompleteFirmwareRequest,
    principal?: string,
  ): Promise<FirmwareMetadata> {
    const { catalog, store, log, now } = this.deps;
    const firmware = await this.get(version);
    if (completionStep(firmware, this.purpose) === 'done') return firmware;
    if (this.deps.requireApproval && principal === undefined) {
      throw new UnknownPrincipalError(
        'release approval needs to know who uploads: call the API with IAM credentials',
      );
    }
    if (firmware.upload.mode === 'multipart') {
      if (request.parts === undefined) {
        throw new SchemaValidationError('complete request', [
          { field: 'parts', reason: 'a multipart upload needs the partNumber and ETag of every part' },
        ]);
      }
      // `missing` may also mean a retry after S3 assembled the parts: the measurement below decides.
      await store.completeMultipartUpload(version, firmware.upload.uploadId, request.parts);
    }
    const inspect = this.deps.inspect;
    const stored = await store.digest(
      version,
      inspect === undefined ? undefined : { maxBytes: inspect.maxBytes },
    );
    if (stored === undefined) {
      throw new UploadIncompleteError(
        `nothing is uploaded for ${this.purpose} ${version} yet: upload it with its upload plan, then complete`,
      );
    }
    const verified = verifyUpload(firmware, stored);
    if (!verified.ok) {
      await this.refuse(firmware);
      log.warn(`${this.purpose} upload refused`, {
        version,
        declared: { size: firmware.size, sha256: firmware.sha256 },
        received: { size: stored.size, sha256: stored.sha256 },
      });
      throw new UploadMismatchError(
        version,
        { size: firmware.size, sha256: firmware.sha256 },
        { size: stored.size, sha256: stored.sha256 },
        this.purpose,
      );
    }
    // The very bytes that were measured: what is signed is what was looked at.
    const problems =
      inspect === undefined ? [] : inspect.problems(firmware, stored.bytes ?? new Uint8Array());
    if (problems.length > 0) {
      await this.refuse(firmware);
      log.warn(`${this.purpose} upload refused`, { version, problems });
      throw new ModelContractError(version, problems);
    }
    const uploaded = { ...firmware, ...(principal === undefined ? {} : { uploadedBy: principal }) };
    if (this.deps.requireApproval) {
      const waiting = markVerified(uploaded, verified.upload, now());
      if ((await catalog.replace(waiting, 'pending-upload')) === 'conflict') return this.get(version);
      log.info(`${this.purpose} verified, waiting for approval`, { version, uploadedBy: principal });
      return waiting;
    }
    return this.sign(uploaded, verified.upload, 'pending-upload');
  }

  /**
   * Release approval: another principal than the one who registered or uploaded the image approves it,
   * and only then is its manifest signed and the image available.
   *
   * @throws SelfApprovalError when the approver registered or uploaded it
   * @throws FirmwareStateError unless it waits for approval (approving an available image answers it)
   */
  async approve(version: string, principal: string | undefined): Promise<FirmwareMetadata> {
    if (principal === undefined) {
      throw new UnknownPrincipalError(
        'an approval needs to know who approves: call the API with IAM credentials',
      );
    }
    const firmware = await this.get(version);
    if (firmware.status === 'available' && firmware.approvedBy !== undefined) return firmware;
    return this.sign(firmware, approvalOf(firmware, principal, this.purpose), 'pending-approval', principal);
  }

  /** Signs the release manifest of a verified upload and makes the image available. */
  private async sign(
    firmware: FirmwareMetadata,
    upload: VerifiedUpload,
    from: FirmwareStatus,
    approvedBy?: string,
  ): Promise<SignedFirmware> {
    const { catalog, signer, log, now } = this.deps;
    const signed = await signStatement(
      signer,
      releaseManifest(firmware, upload, now(), this.deps.manifestValiditySeconds, this.purpose),
    );
    const available = markAvailable(
      firmware,
      upload,
      signed,
      now(),
      approvedBy === undefined ? undefined : { approvedBy },
    );
    if ((await catalog.replace(available, from)) === 'conflict') {
      // A concurrent complete (or a withdraw) got there first: answer what is stored now.
      const current = await this.get(firmware.version);
      if (current.status === 'available' && isSigned(current)) return current;
      throw new FirmwareStateError(firmware.version, current.status, 'sign', this.purpose);
    }
    log.info(`${this.purpose} available`, {
      version: firmware.version,
      sha256: available.sha256,
      securityVersion: available.manifest.securityVersion,
      keyId: available.envelope.signatures[0]?.keyid,
      ...(approvedBy === undefined ? {} : { approvedBy, uploadedBy: firmware.uploadedBy }),
    });
    return available;
  }

  /**
   * Deletes a refused image and drops its registration. Deleting is best effort: an image that stays
   * behind is never signed or handed out, and the next upload of the version replaces it.
   */
  private async refuse(firmware: FirmwareMetadata): Promise<void> {
    try {
      await this.deps.store.discard(firmware.version);
    } catch (error) {
      this.deps.log.warn(`could not delete a refused ${this.purpose} upload`, {
        version: firmware.version,
        errorType: error instanceof Error ? error.name : typeof error,
      });
    }
    await this.deps.catalog.remove(firmware.version, 'pending-upload');
  }

  /**
   * Aborts a multipart upload nobody will complete, so its parts stop costing storage. Best effort: the
   * answer does not depend on it (s3rver, locally, does not implement AbortMultipartUpload at all).
   */
  private async abandon(version: string, uploadId: string): Promise<void> {
    try {
      await this.deps.store.abortMultipartUpload(version, uploadId);
    } catch (error) {
      this.deps.log.warn('could not abort a multipart upload', {
        version,
        uploadId,
        errorType: error instanceof Error ? error.name : typeof error,
      });
    }
  }

  /** @throws NotFoundError when the version is not registered */
  async get(version: string): Promise<FirmwareMetadata> {
    const firmware = await this.deps.catalog.get(version);
    if (firmware === undefined) throw new NotFoundError(`no ${this.purpose} ${version}`);
    return firmware;
  }

  /** Versions newest first (semantic version precedence), filtered, a page at a time. */
  list(query: FirmwareListQuery): Promise<Page<FirmwareMetadata>> {
    return listFirmware(this.deps.catalog, query);
  }

  /** A short-lived presigned GET for an operator: any signed image, withdrawn ones included. */
  async downloadUrl(version: string): Promise<{ readonly url: string; readonly expiresAt: number }> {
    const firmware = await this.get(version);
    if (!isSigned(firmware)) throw new FirmwareStateError(version, firmware.status, 'download', this.purpose);
    return this.deps.store.presignDownload(version, firmware.objectVersion, this.deps.downloadUrlSeconds);
  }

  /** See {@link firmwareForDevice}. */
  forDevice(version: string): Promise<FirmwareForDevice> {
    return firmwareForDevice(this.deps, version, this.purpose);
  }

  /**
   * Withdraws a version so no new rollout uses it; a pending multipart upload is aborted. Withdrawing
   * twice answers the same.
   *
   * @throws FirmwareInUseError when an active rollout uses the version
   */
  async withdraw(version: string): Promise<FirmwareMetadata> {
    const { catalog, usage, log, now } = this.deps;
    for (let attempt = 0; ; attempt++) {
      const firmware = await this.get(version);
      if (firmware.status === 'withdrawn') return firmware;
      if (await usage.isInUse(version, this.purpose)) throw new FirmwareInUseError(version, this.purpose);
      const next = withdrawFirmware(firmware, now());
      if ((await catalog.replace(next, firmware.status)) === 'saved') {
        if (firmware.status === 'pending-upload' && firmware.upload.mode === 'multipart') {
          await this.abandon(version, firmware.upload.uploadId);
        }
        log.info(`${this.purpose} withdrawn`, { version, was: firmware.status });
        return next;
      }
      // The status moved under us (an upload completed): read it again, a few times at most.
      if (attempt >= 2) throw new FirmwareStateError(version, firmware.status, 'withdraw', this.purpose);
    }
  }
}
