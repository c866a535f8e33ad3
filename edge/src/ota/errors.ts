import type { JobExecutionStatus } from '../../../lib/protocol/jobs.ts';

/** The steps an update goes through, as reported in `statusDetails.step`. */
export const OTA_STEPS = ['downloading', 'verifying', 'installing', 'rebooting', 'committed'] as const;
export type OtaStep = (typeof OTA_STEPS)[number];

/** Why an update failed or was rejected, as reported in `statusDetails.reason`. */
export const OTA_FAILURE_REASONS = [
  /** The job document did not parse as a firmware job document (→ REJECTED). */
  'invalid-job-document',
  /** The image could not be fetched (HTTP error, too many failed attempts, URL not renewable). */
  'download',
  /** The image is not as large as the job document says. */
  'size',
  /** The image's SHA-256 is not the one in the job document. */
  'sha256',
  /** The signature does not verify, or its key is not trusted. */
  'signature',
  /** The install hook failed. */
  'install',
  /** The new firmware did not prove healthy on its trial boot; the device went back. */
  'health-check',
] as const;
export type OtaFailureReason = (typeof OTA_FAILURE_REASONS)[number];

/**
 * Why a device refused a job document before downloading anything, as reported in `statusDetails.reason`
 * (the job ends REJECTED, with the offending field in `statusDetails.field`).
 */
export const JOB_REFUSAL_REASONS = [
  /** No valid signature by a key this device trusts for the purpose. */
  'signature',
  /** The readable manifest is not what was signed, or the signed payload does not parse. */
  'manifest',
  /** Past its `expiresAt`, or issued in the future (a replayed or forged statement). */
  'expired',
  /** Not built for this device's type. */
  'device-type',
  /** The device runs something older than the manifest's `minVersion`. */
  'min-version',
  /** Below the device's anti-rollback floor, and no rollback authorization for it. */
  'anti-rollback',
  /** A rollback authorization that is not for this rollout, job, image or device, expired or used. */
  'rollback-authorization',
  /** A newer key set that its current keys did not sign. */
  'key-set',
] as const;
export type JobRefusalReason = (typeof JOB_REFUSAL_REASONS)[number];

/** The device refuses a job document: REJECTED, nothing downloaded, with the field at fault. */
export class JobRefusedError extends Error {
  override readonly name = 'JobRefusedError';

  constructor(
    readonly reason: JobRefusalReason,
    /** Dotted path in the job document (`firmware.manifest.version`). */
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${reason}: ${detail}`);
  }
}

/** An update failed for a reason the device reports: the job ends FAILED with `reason` and `step`. */
export class UpdateFailedError extends Error {
  override readonly name = 'UpdateFailedError';

  constructor(
    readonly reason: OtaFailureReason,
    readonly step: OtaStep,
    readonly detail: string,
  ) {
    super(`${step}: ${reason}: ${detail}`);
  }
}

/**
 * The downloader will not fetch from this URL: not `https:`, or `http:` to a host that is not a loopback
 * development endpoint. Permanent: retrying the same URL cannot help.
 */
export class RefusedUrlError extends Error {
  override readonly name = 'RefusedUrlError';

  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`refused to download ${url}: ${reason}`);
  }
}

/** The Jobs service refused a request (`.../rejected`), with AWS IoT Jobs' error code. */
export class JobsRequestRejectedError extends Error {
  override readonly name = 'JobsRequestRejectedError';

  constructor(
    readonly code: string,
    message: string,
    /** Present for VersionMismatch and InvalidStateTransition, as AWS IoT Jobs sends it. */
    readonly executionState?: { readonly status: JobExecutionStatus; readonly versionNumber?: number },
  ) {
    super(`${code}: ${message}`);
  }
}

/** No answer to a Jobs request in time (offline, or the broker dropped it). */
export class JobsRequestTimeoutError extends Error {
  override readonly name = 'JobsRequestTimeoutError';

  constructor(readonly topic: string) {
    super(`no response to ${topic}`);
  }
}

/**
 * The job execution ended elsewhere (canceled, timed out, removed) while the device worked on it.
 * `status` is the execution's when the service said it; `TERMINAL` when it said only that the
 * execution is in a terminal state (TerminalStateReached carries no `executionState` in AWS IoT Jobs);
 * `NOT_FOUND` when the execution is gone.
 */
export class JobEndedError extends Error {
  override readonly name = 'JobEndedError';

  constructor(
    readonly jobId: string,
    readonly status: JobExecutionStatus | 'TERMINAL' | 'NOT_FOUND',
  ) {
    super(`job ${jobId} is ${status}`);
  }
}

/** The status a refusal that ends the job stands for when it names none (see {@link JobEndedError}). */
export function endedStatus(code: string): 'TERMINAL' | 'NOT_FOUND' {
  return code === 'TerminalStateReached' ? 'TERMINAL' : 'NOT_FOUND';
}

/** Why a model update failed, as reported in `statusDetails.reason` (`model-rejected: <why>` for a refusal). */
export const MODEL_UPDATE_FAILURE_REASONS = [
  /** The file could not be fetched (HTTP error, too many failed attempts, URL not renewable). */
  'download',
  /** Size, SHA-256 or signature is not what the job document says, or the key is not trusted. */
  'verification',
  /** The detector refused the verified file (its reason follows: `model-rejected: incompatible`). */
  'model-rejected',
  /** Installing the verified file failed for another reason (the file system). */
  'install',
] as const;
export type ModelUpdateFailureReason = (typeof MODEL_UPDATE_FAILURE_REASONS)[number];

/** A model update failed: the job ends FAILED, the model that was serving keeps serving. */
export class ModelUpdateFailedError extends Error {
  override readonly name = 'ModelUpdateFailedError';

  constructor(
    readonly reason: ModelUpdateFailureReason,
    readonly step: 'downloading' | 'verifying' | 'installing',
    readonly detail: string,
    /** For `model-rejected`: the detector's reason (`incompatible`, `version-mismatch`, ...). */
    readonly rejection?: string,
  ) {
    super(`${step}: ${reason}${rejection === undefined ? '' : `: ${rejection}`}: ${detail}`);
  }

  /** `statusDetails.reason`: the reason, with the detector's own after a refusal. */
  get reported(): string {
    return this.rejection === undefined ? this.reason : `${this.reason}: ${this.rejection}`;
  }
}
