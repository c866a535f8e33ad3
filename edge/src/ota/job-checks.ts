import type { DeviceJobDocument } from '../../../lib/protocol/jobs.ts';
import { updateManifest } from '../../../lib/protocol/manifest.ts';
import { JobRefusedError } from './errors.ts';
import { adoptKeySet, checkRollbackAuthorization, checkUpdate, verifyStatement } from './statements.ts';
import type { DeviceTrust, TrustStore } from './trust-store.ts';

/** What a job document was found to be, once every check before the download passed. */
export interface CheckedJob {
  /** The signed manifest's anti-rollback counter, to raise the floor to once the update commits. */
  readonly securityVersion: number;
  /** The rollback authorization it used, to remember once the rollback commits. */
  readonly grant?: { readonly digest: string; readonly expiresAt: number };
}

/** Who is checking: the device, its clock and what it runs. */
export interface JobCheckContext {
  readonly thingName: string;
  readonly deviceType: string;
  /** The execution's job id, from the Jobs API. */
  readonly jobId: string;
  /** The version running now of the artifact the job replaces. */
  readonly running?: string;
  /** Epoch seconds. */
  readonly now: number;
}

/**
 * Every check of a job document before a byte is downloaded, in the order an attacker's effort would
 * meet them: the key set (adopting a newer signed one first, saved at once), the artifact's signed
 * manifest (signature, then each readable field against the signed one), what the manifest allows
 * (purpose, validity, device type, minimum version), then the anti-rollback floor, which only a rollback
 * authorization for this device, rollout and job lets a lower image through.
 *
 * @throws JobRefusedError naming the field at fault
 */
export async function checkJobDocument(
  document: DeviceJobDocument,
  store: TrustStore,
  context: JobCheckContext,
): Promise<CheckedJob> {
  let trust: DeviceTrust = await store.load();
  const { keys, adopted } = adoptKeySet(trust.keySet, document.keys);
  if (adopted) {
    trust = { ...trust, keySet: keys };
    await store.save(trust);
  }
  const purpose = document.operation === 'model-update' ? 'model' : 'firmware';
  const section = document.operation === 'model-update' ? document.model : document.firmware;
  const field = document.operation === 'model-update' ? 'model' : 'firmware';
  const signed = verifyStatement(section, updateManifest, trust.keySet, purpose, field);
  const verdict = checkUpdate(
    signed,
    {
      purpose,
      deviceType: context.deviceType,
      ...(context.running === undefined ? {} : { running: context.running }),
      now: context.now,
      floor: trust.floors[purpose],
    },
    field,
  );
  const grant =
    document.rollback === undefined
      ? undefined
      : checkRollbackAuthorization(document.rollback, trust.keySet, {
          thingName: context.thingName,
          jobId: context.jobId,
          rolloutId: document.rolloutId,
          target: purpose,
          update: signed,
          now: context.now,
          used: trust.usedRollbacks,
        });
  if (verdict === 'rollback' && grant === undefined) {
    throw new JobRefusedError(
      'anti-rollback',
      `${field}.manifest.securityVersion`,
      `is ${signed.securityVersion}, below this device's floor ${trust.floors[purpose]}; only a rollback job signed for this device may go back`,
    );
  }
  return { securityVersion: signed.securityVersion, ...(grant === undefined ? {} : { grant }) };
}
