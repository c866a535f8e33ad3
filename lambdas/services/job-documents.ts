import type { DeviceJobDocument, SignedKeySet } from '../../lib/protocol/jobs.ts';
import { type RollbackAuthorization, rollbackManifest } from '../../lib/protocol/manifest.ts';
import type { JobExecution, StoredRollbackAuthorization } from '../domain/jobs/execution.ts';
import { type FirmwareDownloads, firmwareForDevice, jobDocumentFirmware } from './firmware-downloads.ts';

/**
 * The rollback authorization a job document carries: the stored envelope, its manifest in readable form
 * (decoded from the very bytes that were signed), and the device's proof.
 */
export function rollbackAuthorizationOf(stored: StoredRollbackAuthorization): RollbackAuthorization {
  const manifest = rollbackManifest.parse(
    JSON.parse(Buffer.from(stored.envelope.payload, 'base64').toString('utf8')),
  );
  return { manifest, envelope: stored.envelope, proof: stored.proof };
}

/** Where job documents come from: the firmware or model to send, and the key set devices should trust. */
export interface JobDocumentSources {
  readonly firmware: FirmwareDownloads;
  /** The model registry, for `model-update` executions; without it they cannot be sent. */
  readonly models?: FirmwareDownloads;
  /** The service's current signed key set, if one was issued (`GET /firmware/keys`). */
  readonly keySet?: () => Promise<SignedKeySet | undefined>;
}

/**
 * An execution's job document, built for each request (its download URL is short-lived): the signed
 * release manifest of its image (a `firmware-update`) or of its model (a `model-update`, for an execution
 * with `purpose: 'model'`), the rollback authorization of a rollback execution, and the current key set,
 * so a device rolls its keys over before it checks anything else.
 */
export async function jobDocumentFor(
  sources: JobDocumentSources,
  execution: JobExecution,
): Promise<DeviceJobDocument> {
  const model = execution.purpose === 'model';
  const registry = model ? sources.models : sources.firmware;
  if (registry === undefined) throw new Error('this function has no model registry to send models from');
  const [target, keys] = await Promise.all([
    firmwareForDevice(
      registry,
      execution.firmwareVersion,
      model ? 'model' : 'firmware',
      execution.previousVersion,
    ),
    sources.keySet?.(),
  ]);
  const rollback =
    execution.authorization === undefined ? undefined : rollbackAuthorizationOf(execution.authorization);
  const common = {
    // A rollback job belongs to the rollout it rolls back: its authorization names that rollout.
    rolloutId: rollback?.manifest.rolloutId ?? execution.jobId,
    ...(rollback === undefined ? {} : { rollback }),
    ...(keys === undefined ? {} : { keys }),
  };
  return model
    ? { operation: 'model-update', model: jobDocumentFirmware(target), ...common }
    : { operation: 'firmware-update', firmware: jobDocumentFirmware(target), ...common };
}
