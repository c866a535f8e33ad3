import type * as z from 'zod';
import { canonicalJson } from '../../../lib/protocol/canonical-json.ts';
import type { SignedKeySet } from '../../../lib/protocol/jobs.ts';
import {
  type DsseEnvelope,
  type KeyPurpose,
  type KeySetManifest,
  keySetManifest,
  type RollbackAuthorization,
  rollbackManifest,
  STATEMENT_PAYLOAD_TYPE,
  statementDigest,
  type UpdateManifest,
  updateManifest,
  verifyEnvelopeSignature,
} from '../../../lib/protocol/manifest.ts';
import { verifyInclusion } from '../../../lib/protocol/merkle.ts';
import { compareVersions } from '../../../lib/protocol/semver.ts';
import { JobRefusedError } from './errors.ts';
import type { DeviceTrust } from './trust-store.ts';

/**
 * The device's checks of signed statements (see `lib/protocol/manifest.ts`), pure: what a job
 * document says is held to what the service signed, then to what this device may install. Each
 * refusal names the field of the job document at fault ({@link JobRefusedError}).
 */

/** How far a device clock may be behind the service's before a fresh statement looks issued in the future. */
export const CLOCK_SKEW_SECONDS = 300;

type KeySet = DeviceTrust['keySet'];

/**
 * Verifies a statement: a signature by a key `keys` trusts for `purpose`, a payload that parses with
 * `schema`, and a readable `manifest` that is exactly the signed one.
 *
 * @param field where the statement sits in the job document (`firmware`, `rollback`, `keys`)
 * @returns the signed manifest (never the readable copy)
 * @throws JobRefusedError `signature` or `manifest`, naming the field
 */
export function verifyStatement<S extends z.ZodType>(
  statement: { readonly manifest: unknown; readonly envelope: DsseEnvelope },
  schema: S,
  keys: KeySet,
  purpose: KeyPurpose,
  field: string,
): z.output<S> {
  const { envelope } = statement;
  if (envelope.payloadType !== STATEMENT_PAYLOAD_TYPE) {
    throw new JobRefusedError(
      'signature',
      `${field}.envelope.payloadType`,
      `is '${envelope.payloadType}', a fleetkit statement is '${STATEMENT_PAYLOAD_TYPE}'`,
    );
  }
  const candidates = envelope.signatures.flatMap((s) => {
    const key = keys.keys.find((k) => k.keyid === s.keyid && k.purposes.includes(purpose));
    return key === undefined ? [] : [{ key, sig: s.sig }];
  });
  if (candidates.length === 0) {
    throw new JobRefusedError(
      'signature',
      `${field}.envelope.signatures`,
      `no signature by a key this device trusts for ${purpose} (key set ${keys.version}); signed by ${envelope.signatures.map((s) => `'${s.keyid}'`).join(', ')}`,
    );
  }
  if (!candidates.some(({ key, sig }) => verifyEnvelopeSignature(envelope, sig, key.publicKey))) {
    throw new JobRefusedError(
      'signature',
      `${field}.envelope`,
      `the signature by '${candidates[0]?.key.keyid}' does not verify over the payload`,
    );
  }
  let signed: z.output<S>;
  try {
    signed = schema.parse(JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')));
  } catch (error) {
    throw new JobRefusedError(
      'manifest',
      `${field}.envelope.payload`,
      `signed, but not a ${purpose} manifest: ${(error as Error).message.slice(0, 300)}`,
    );
  }
  const readable = (statement.manifest ?? {}) as Record<string, unknown>;
  const names = new Set([...Object.keys(readable), ...Object.keys(signed as object)]);
  for (const name of [...names].sort()) {
    const mine = readable[name];
    const theirs = (signed as Record<string, unknown>)[name];
    const same =
      mine === undefined || theirs === undefined
        ? mine === theirs
        : canonicalJson(mine as never) === canonicalJson(theirs as never);
    if (!same) {
      throw new JobRefusedError(
        'manifest',
        `${field}.manifest.${name}`,
        `is ${JSON.stringify(mine) ?? 'absent'}, the signed manifest says ${JSON.stringify(theirs) ?? 'absent'}`,
      );
    }
  }
  return signed;
}

/** What an update manifest is checked against on this device. */
export interface UpdateContext {
  readonly purpose: 'firmware' | 'model';
  readonly deviceType: string;
  /** The version of the artifact running now (firmware, or the serving model). */
  readonly running?: string;
  /** Epoch seconds, the device's clock. */
  readonly now: number;
  /** The device's anti-rollback floor for this artifact. */
  readonly floor: number;
}

/** Validity window: issued no later than now (with skew), not yet expired. */
function checkValidity(manifest: { issuedAt: number; expiresAt: number }, now: number, field: string): void {
  if (manifest.issuedAt > now + CLOCK_SKEW_SECONDS) {
    throw new JobRefusedError(
      'expired',
      `${field}.manifest.issuedAt`,
      `issued at ${manifest.issuedAt}, after the device's clock ${now}: not valid yet`,
    );
  }
  if (manifest.expiresAt <= now) {
    throw new JobRefusedError(
      'expired',
      `${field}.manifest.expiresAt`,
      `expired at ${manifest.expiresAt}; the device's clock is ${now}`,
    );
  }
}

/**
 * Whether this device may install what `manifest` describes.
 *
 * @returns `rollback` when it lies below the anti-rollback floor: only a valid rollback authorization
 *   for this device lets it through ({@link checkRollbackAuthorization})
 * @throws JobRefusedError `manifest` (wrong purpose), `expired`, `device-type`, `min-version`
 */
export function checkUpdate(
  manifest: UpdateManifest,
  context: UpdateContext,
  field: string,
): 'ok' | 'rollback' {
  if (manifest.purpose !== context.purpose) {
    throw new JobRefusedError(
      'manifest',
      `${field}.manifest.purpose`,
      `is '${manifest.purpose}', this is a ${context.purpose} job`,
    );
  }
  checkValidity(manifest, context.now, field);
  if (!manifest.deviceTypes.includes(context.deviceType)) {
    throw new JobRefusedError(
      'device-type',
      `${field}.manifest.deviceTypes`,
      `is for ${manifest.deviceTypes.join(', ')}, this device is a ${context.deviceType}`,
    );
  }
  if (manifest.minVersion !== undefined && context.running !== undefined) {
    const order = compareVersions(context.running, manifest.minVersion);
    if (order === undefined || order < 0) {
      throw new JobRefusedError(
        'min-version',
        `${field}.manifest.minVersion`,
        `needs ${manifest.minVersion} or later; the device runs ${context.running}`,
      );
    }
  }
  return manifest.securityVersion < context.floor ? 'rollback' : 'ok';
}

/** What a rollback authorization must match. */
export interface RollbackContext {
  readonly thingName: string;
  /** The job the device is executing (from the Jobs API, not from the document). */
  readonly jobId: string;
  /** The document's `rolloutId`. */
  readonly rolloutId: string;
  readonly target: 'firmware' | 'model';
  /** The signed manifest of what the job installs. */
  readonly update: UpdateManifest;
  readonly now: number;
  readonly used: DeviceTrust['usedRollbacks'];
}

/**
 * Checks a rollback authorization: signed by a key trusted for `rollback`, for this rollout, this job,
 * this image, this device (its name in the signed tree), still valid, and not used before.
 *
 * @returns the authorization's digest, to remember once the rollback has committed
 * @throws JobRefusedError `signature`, `manifest`, `expired` or `rollback-authorization`
 */
export function checkRollbackAuthorization(
  authorization: RollbackAuthorization,
  keys: KeySet,
  context: RollbackContext,
): { readonly digest: string; readonly expiresAt: number } {
  const signed = verifyStatement(authorization, rollbackManifest, keys, 'rollback', 'rollback');
  const refuse = (name: string, detail: string): never => {
    throw new JobRefusedError('rollback-authorization', `rollback.${name}`, detail);
  };
  if (signed.target !== context.target)
    refuse('manifest.target', `is for ${signed.target}, not ${context.target}`);
  if (signed.jobId !== context.jobId)
    refuse('manifest.jobId', `is for job ${signed.jobId}, not ${context.jobId}`);
  if (signed.rolloutId !== context.rolloutId) {
    refuse('manifest.rolloutId', `is for rollout ${signed.rolloutId}, the job says ${context.rolloutId}`);
  }
  if (signed.version !== context.update.version || signed.sha256 !== context.update.sha256) {
    refuse('manifest.version', `is for ${signed.version} (${signed.sha256.slice(0, 12)}), not this image`);
  }
  checkValidity(signed, context.now, 'rollback');
  if (!verifyInclusion(context.thingName, authorization.proof, signed.devices.count, signed.devices.root)) {
    refuse(
      'proof',
      `does not prove '${context.thingName}' is one of the ${signed.devices.count} devices it was signed for`,
    );
  }
  const digest = statementDigest(Buffer.from(authorization.envelope.payload, 'base64')).toString('hex');
  if (context.used.some((u) => u.digest === digest))
    refuse('envelope', 'this authorization was used already');
  return { digest, expiresAt: signed.expiresAt };
}

/**
 * The key set to verify with: the document's, when it is newer than the device's and signed by a key
 * the device trusts for `keyset` (a key-rollover document); the device's own otherwise.
 *
 * @returns the set to use and whether it is new (to save before anything else)
 * @throws JobRefusedError `key-set` for a newer set its current keys did not sign
 */
export function adoptKeySet(
  current: KeySet,
  offered: SignedKeySet | undefined,
): { keys: KeySet; adopted: boolean } {
  if (offered === undefined || offered.manifest.version <= current.version)
    return { keys: current, adopted: false };
  let signed: KeySetManifest;
  try {
    signed = verifyStatement(offered, keySetManifest, current, 'keyset', 'keys');
  } catch (error) {
    if (!(error instanceof JobRefusedError)) throw error;
    throw new JobRefusedError('key-set', error.field, error.detail);
  }
  return { keys: signed, adopted: true };
}

/** Raises a floor and records a used authorization (dropping expired ones): after a commit. */
export function afterCommit(
  trust: DeviceTrust,
  purpose: 'firmware' | 'model',
  securityVersion: number,
  used: { readonly digest: string; readonly expiresAt: number } | undefined,
  now: number,
): DeviceTrust {
  const kept = trust.usedRollbacks.filter((u) => u.expiresAt > now);
  return {
    ...trust,
    floors: { ...trust.floors, [purpose]: Math.max(trust.floors[purpose], securityVersion) },
    usedRollbacks: used === undefined ? kept : [...kept, used].slice(-256),
  };
}

/** The signed update manifest of an artifact section, for callers that re-read it after a restart. */
export function signedUpdateManifest(envelope: DsseEnvelope): UpdateManifest {
  return updateManifest.parse(JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')));
}
