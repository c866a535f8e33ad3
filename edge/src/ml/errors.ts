/** Why a model file was refused; the model that was serving keeps serving. */
export type ModelRejectionReason =
  /** The file could not be read (missing, permissions). */
  | 'unreadable'
  /** Its size differs from the delivered metadata. */
  | 'size-mismatch'
  /** Its SHA-256 differs from the delivered metadata: corrupted, truncated or not the file meant. */
  | 'digest-mismatch'
  /** Not an ONNX ModelProto. */
  | 'malformed'
  /** The file says it is a different version than the one delivered. */
  | 'version-mismatch'
  /** A valid model, but not one this agent can feed: other features, window, inputs or outputs. */
  | 'incompatible'
  /** onnxruntime could not create a session from it. */
  | 'load-failed'
  /** The session runs, but a probe batch gave no score or a score outside [0, 1]. */
  | 'self-test-failed';

/** A model file that was refused, with the reason and the version it claimed to be. */
export class ModelRejectedError extends Error {
  override readonly name = 'ModelRejectedError';
  constructor(
    readonly reason: ModelRejectionReason,
    readonly version: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`model ${version} refused (${reason}): ${message}`, options);
  }
}

/** A feature batch that does not fit the model's input (wrong size, NaN or infinite values). */
export class InvalidFeaturesError extends Error {
  override readonly name = 'InvalidFeaturesError';
}

/** The detector was closed; it scores nothing more. */
export class DetectorClosedError extends Error {
  override readonly name = 'DetectorClosedError';
  constructor() {
    super('anomaly detector is closed');
  }
}
