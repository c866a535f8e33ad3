import { createHash, createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import { canonicalJsonBytes } from './canonical-json.ts';
import { inclusionProof } from './merkle.ts';
import { deviceType, version } from './messages.ts';
import { JOB_ID_PATTERN } from './topics.ts';

/**
 * Signed statements: what the service vouches for, and how a device checks it (issue 12; the shape
 * follows The Update Framework's signed metadata — version, target, expiry bound together — and
 * Uptane's threats: rollback, freeze, mix-and-match).
 *
 * A statement is a manifest (one of the schemas below) serialized with RFC 8785 (see
 * `canonical-json.ts`) and signed in a DSSE envelope (Dead Simple Signing Envelope v1, the envelope
 * in-toto and Sigstore use: https://github.com/secure-systems-lab/dsse/blob/master/envelope.md). The
 * signature is ECDSA P-256 over SHA-256 of DSSE's pre-authentication encoding (PAE) of the payload:
 * KMS signs that digest (`MessageType: DIGEST`), a device verifies it as ordinary ECDSA-with-SHA-256
 * of the PAE bytes. PAE binds the payload type, so a manifest cannot be replayed as another kind of
 * document, and the manifest's `purpose` binds what it is for.
 *
 * A job document carries each statement twice: `manifest`, the readable fields the operator and the
 * device see, and `envelope`, the exact signed bytes. The device acts only on the signed bytes; the
 * readable copy must be their exact canonical form, and where it is not, the field that differs is the
 * one the device names when it refuses the job.
 */

/** DSSE `payloadType` of every fleetkit statement. */
export const STATEMENT_PAYLOAD_TYPE = 'application/vnd.fleetkit.statement+json';

/** What a key may sign, and what a manifest is for. */
export const KEY_PURPOSES = ['firmware', 'model', 'rollback', 'keyset'] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

const epochSeconds = z.number().int().min(0).max(4_102_444_800);
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');
const jobId = z.string().regex(JOB_ID_PATTERN, 'must be 1-64 characters of [a-zA-Z0-9_-]');

/**
 * An image (firmware) or an anomaly model, as released: the signature covers everything a device
 * decides on before it downloads a byte, and the digest it holds the bytes to afterwards.
 */
export const updateManifest = z.strictObject({
  purpose: z.enum(['firmware', 'model']),
  version,
  sha256: sha256Hex,
  size: z.number().int().min(1),
  /** Device types it is built for. */
  deviceTypes: z.array(deviceType).min(1).max(32),
  /** A device must run at least this version of the same artifact to install it. */
  minVersion: version.optional(),
  /**
   * Anti-rollback counter: a device never installs anything below the highest it has committed,
   * except by a rollback authorization for it. Raise it when a release fixes a vulnerability.
   */
  securityVersion: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
  issuedAt: epochSeconds,
  /** After this the manifest is refused (a freeze attack replays a stale one). */
  expiresAt: epochSeconds,
});
export type UpdateManifest = z.output<typeof updateManifest>;

/**
 * Permission for the devices of one rollback batch to install `version` although it may be below
 * their anti-rollback floor: for this rollout, this job, this image, these devices (a Merkle root over
 * their names, see `merkle.ts`), until `expiresAt`.
 */
export const rollbackManifest = z.strictObject({
  purpose: z.literal('rollback'),
  /** What is rolled back: firmware or the anomaly model. */
  target: z.enum(['firmware', 'model']),
  /** The rollout that is rolled back. */
  rolloutId: jobId,
  /** The rollback job the devices run. */
  jobId,
  version,
  sha256: sha256Hex,
  devices: z.strictObject({
    count: z.number().int().min(1),
    /** RFC 9162 Merkle tree hash over the thing names. */
    root: sha256Hex,
  }),
  issuedAt: epochSeconds,
  expiresAt: epochSeconds,
});
export type RollbackManifest = z.output<typeof rollbackManifest>;

/** One key a device trusts, for what. */
export const trustedKey = z.strictObject({
  /** The id signatures name it by (a KMS key ARN). */
  keyid: z.string().min(1).max(2048),
  purposes: z.array(z.enum(KEY_PURPOSES)).min(1).max(KEY_PURPOSES.length),
  /** SubjectPublicKeyInfo (DER), base64: a P-256 public key. */
  publicKey: z.base64(),
});
export type TrustedKey = z.output<typeof trustedKey>;

/**
 * The keys devices trust, numbered. A device moves to version n+1 only when a key it trusts for
 * `keyset` signed it (the rollover document); a set may name a new `keyset` key, which is how the root
 * itself rotates.
 */
export const keySetManifest = z.strictObject({
  purpose: z.literal('keyset'),
  version: z.number().int().min(1),
  keys: z.array(trustedKey).min(1).max(32),
  issuedAt: epochSeconds,
});
export type KeySetManifest = z.output<typeof keySetManifest>;

/** Every signed manifest, told apart by `purpose`. */
export type Manifest = UpdateManifest | RollbackManifest | KeySetManifest;

/** A DSSE envelope (JSON form). */
export const dsseEnvelope = z.strictObject({
  payloadType: z.string().min(1).max(128),
  /** The canonical manifest bytes, base64. */
  payload: z.base64().max(16_384),
  signatures: z
    .array(z.strictObject({ keyid: z.string().min(1).max(2048), sig: z.base64().max(256) }))
    .min(1)
    .max(4),
});
export type DsseEnvelope = z.output<typeof dsseEnvelope>;

/** A manifest as a job document carries it: readable, and signed. */
export function signedStatement<S extends z.ZodType>(manifest: S) {
  return z.strictObject({ manifest, envelope: dsseEnvelope });
}

/** DSSE v1 pre-authentication encoding: `DSSEv1 SP len(type) SP type SP len(body) SP body`. */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, 'utf8'),
    type,
    Buffer.from(` ${payload.length} `, 'utf8'),
    payload,
  ]);
}

/** The canonical bytes of a manifest: what the envelope's payload holds. */
export function manifestPayload(manifest: Manifest): Uint8Array {
  return canonicalJsonBytes(manifest);
}

/** SHA-256 of the PAE of `payload`: the digest a KMS key signs (`MessageType: DIGEST`). */
export function statementDigest(payload: Uint8Array, payloadType = STATEMENT_PAYLOAD_TYPE): Buffer {
  return createHash('sha256').update(preAuthEncoding(payloadType, payload)).digest();
}

/**
 * True when `sig` (base64 DER ECDSA P-256) signs `envelope`'s payload: ECDSA-with-SHA-256 over its PAE,
 * which is what a KMS `DIGEST` signature of {@link statementDigest} is.
 *
 * @param publicKey a KeyObject, SPKI PEM, or SPKI DER as base64 (as a key set carries it)
 */
export function verifyEnvelopeSignature(
  envelope: Pick<DsseEnvelope, 'payloadType' | 'payload'>,
  sig: string,
  publicKey: KeyObject | string,
): boolean {
  try {
    const key =
      typeof publicKey !== 'string'
        ? publicKey
        : publicKey.startsWith('-----BEGIN')
          ? createPublicKey(publicKey)
          : createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    return createVerify('sha256')
      .update(preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload, 'base64')))
      .verify({ key, dsaEncoding: 'der' }, Buffer.from(sig, 'base64'));
  } catch {
    // A malformed key or DER signature is simply not a valid signature.
    return false;
  }
}

/** A signed manifest: the envelope around its canonical bytes with one signature. */
export function envelopeOf(
  manifest: Manifest,
  signature: { readonly keyid: string; readonly sig: Uint8Array | string },
): DsseEnvelope {
  return {
    payloadType: STATEMENT_PAYLOAD_TYPE,
    payload: Buffer.from(manifestPayload(manifest)).toString('base64'),
    signatures: [
      {
        keyid: signature.keyid,
        sig:
          typeof signature.sig === 'string' ? signature.sig : Buffer.from(signature.sig).toString('base64'),
      },
    ],
  };
}

/** The part of a job document that authorizes a rollback for one device. */
export const rollbackAuthorization = signedStatement(rollbackManifest).extend({
  /** This device's place in the manifest's `devices` tree. */
  proof: inclusionProof,
});
export type RollbackAuthorization = z.output<typeof rollbackAuthorization>;
