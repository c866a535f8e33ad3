import type { FirmwareStatus } from '../../../lib/protocol/firmware.ts';
import type { ArtifactPurpose } from '../../../lib/protocol/rollouts.ts';

/**
 * The registry's errors serve the firmware registry and the model registry alike (one code, two
 * catalogs); each message names which artifact it is about (`firmware 1.2.0`, `model 1.2.0`).
 */

/** A version is registered already; versions are never overwritten. Maps to HTTP 409. */
export class FirmwareExistsError extends Error {
  override readonly name = 'FirmwareExistsError';
  constructor(
    readonly version: string,
    artifact: ArtifactPurpose = 'firmware',
  ) {
    super(`${artifact} ${version} is registered already; versions are never overwritten, register a new one`);
  }
}

/** The action does not apply to the image in its current status. Maps to HTTP 409. */
export class FirmwareStateError extends Error {
  override readonly name = 'FirmwareStateError';
  constructor(
    readonly version: string,
    readonly status: FirmwareStatus,
    action: string,
    artifact: ArtifactPurpose = 'firmware',
  ) {
    super(`cannot ${action} ${artifact} ${version}: it is ${status}`);
  }
}

/** `complete` was called before the image (or all its parts) reached the store. Maps to HTTP 409. */
export class UploadIncompleteError extends Error {
  override readonly name = 'UploadIncompleteError';
}

/** Size and SHA-256 of an image. */
export interface ImageDigest {
  readonly size: number;
  readonly sha256: string;
}

/**
 * The stored image is not what the uploader declared: a failed or tampered upload. The object was
 * deleted and the registration dropped, so the version can be registered again. Maps to HTTP 400.
 */
export class UploadMismatchError extends Error {
  override readonly name = 'UploadMismatchError';
  constructor(
    readonly version: string,
    readonly declared: ImageDigest,
    readonly received: ImageDigest,
    artifact: ArtifactPurpose = 'firmware',
  ) {
    const parts = [
      ...(declared.size === received.size ? [] : [`size ${received.size} bytes, declared ${declared.size}`]),
      ...(declared.sha256 === received.sha256
        ? []
        : [`sha256 ${received.sha256}, declared ${declared.sha256}`]),
    ];
    super(
      `the uploaded image of ${artifact} ${version} does not match its registration (${parts.join('; ')}); ` +
        'it was deleted and the registration dropped: register the version again',
    );
  }
}

/** An active rollout uses the version, so it cannot be withdrawn. Maps to HTTP 409. */
export class FirmwareInUseError extends Error {
  override readonly name = 'FirmwareInUseError';
  constructor(
    readonly version: string,
    artifact: ArtifactPurpose = 'firmware',
  ) {
    super(`${artifact} ${version} is used by an active rollout; cancel or finish the rollout first`);
  }
}

/**
 * The uploaded model does not fit what the devices it is registered for feed a model (their feature
 * contract), or is no ONNX model at all: nothing is signed; the object was deleted and the registration
 * dropped. Maps to HTTP 400.
 */
export class ModelContractError extends Error {
  override readonly name = 'ModelContractError';
  constructor(
    readonly version: string,
    readonly problems: readonly string[],
  ) {
    super(
      `model ${version} does not fit the devices it is registered for: ${problems.join('; ')}; ` +
        'it was deleted and the registration dropped: register the version again with a model that fits',
    );
  }
}

/**
 * Release approval (issue 12): the approver is the principal who registered or uploaded the image. Two
 * people must see a release before devices may trust it. Maps to HTTP 403.
 */
export class SelfApprovalError extends Error {
  override readonly name = 'SelfApprovalError';
  constructor(
    readonly version: string,
    readonly principal: string,
    artifact: ArtifactPurpose = 'firmware',
  ) {
    super(
      `${artifact} ${version} was registered or uploaded by ${principal}; another principal must approve it`,
    );
  }
}

/** An approval (or an upload under approval) with no authenticated principal to record. Maps to HTTP 403. */
export class UnknownPrincipalError extends Error {
  override readonly name = 'UnknownPrincipalError';
}
