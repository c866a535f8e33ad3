import type { SignedArtifact } from '../../../lib/protocol/jobs.ts';
import { UpdateFailedError } from './errors.ts';
import type { SlotName, SlotStore } from './ports.ts';
import { checkImage, p256PublicKey, verifyDigestSignature } from './signature.ts';

/** Trusted firmware signing keys: keyId → SPKI PEM of a P-256 public key. */
export type TrustedKeys = Readonly<Record<string, string>>;

/**
 * Checks the image in `slot` before anything is applied, in this order: size, SHA-256 against the
 * job document, then the ECDSA P-256 signature over the image's SHA-256 digest with the trusted key
 * named by `keyId`. Size and hash come first so the reason names the cheapest thing that is wrong;
 * the signature is checked over the bytes in the slot, so a document whose `sha256` was changed
 * together with the image still fails (`signature`).
 *
 * @returns the image's SHA-256 digest
 * @throws UpdateFailedError with reason `size`, `sha256` or `signature`
 */
export async function verifySlotImage(
  slots: SlotStore,
  slot: SlotName,
  firmware: SignedArtifact,
  trustedKeys: TrustedKeys,
): Promise<Buffer> {
  return verifyFile({ size: () => slots.size(slot), read: () => slots.read(slot) }, firmware, trustedKeys);
}

/** A file to verify: its size and its bytes. */
export interface VerifiableFile {
  size(): Promise<number>;
  read(): AsyncIterable<Uint8Array>;
}

/**
 * {@link verifySlotImage} for any file (an anomaly model's staging file): size, SHA-256, then the
 * signature, with the same reasons.
 *
 * @returns the file's SHA-256 digest
 * @throws UpdateFailedError with reason `size`, `sha256` or `signature`
 */
export async function verifyFile(
  file: VerifiableFile,
  firmware: SignedArtifact,
  trustedKeys: TrustedKeys,
): Promise<Buffer> {
  const size = await file.size();
  if (size !== firmware.size) {
    throw new UpdateFailedError(
      'size',
      'verifying',
      `slot holds ${size} bytes, job document declares ${firmware.size}`,
    );
  }
  const key = trustedKeyFor(firmware, trustedKeys);
  const check = await checkImage(file.read(), Buffer.from(firmware.signature, 'base64'), key);
  if (check.size !== firmware.size) {
    throw new UpdateFailedError(
      'size',
      'verifying',
      `slot read back ${check.size} bytes, expected ${firmware.size}`,
    );
  }
  const actual = check.sha256.toString('hex');
  if (actual !== firmware.sha256) {
    throw new UpdateFailedError(
      'sha256',
      'verifying',
      `image SHA-256 is ${actual}, job document says ${firmware.sha256}`,
    );
  }
  if (!check.signatureValid) {
    throw new UpdateFailedError(
      'signature',
      'verifying',
      `signature does not verify with key '${firmware.keyId}'`,
    );
  }
  return check.sha256;
}

/**
 * The trusted key named by `keyId`, parsed.
 * @throws UpdateFailedError `signature` when the device does not trust the key or cannot use it
 */
function trustedKeyFor(artifact: SignedArtifact, trustedKeys: TrustedKeys): string {
  const key = Object.hasOwn(trustedKeys, artifact.keyId) ? trustedKeys[artifact.keyId] : undefined;
  if (key === undefined) {
    throw new UpdateFailedError(
      'signature',
      'verifying',
      `key '${artifact.keyId}' is not trusted by this device`,
    );
  }
  try {
    p256PublicKey(key);
  } catch (error) {
    throw new UpdateFailedError(
      'signature',
      'verifying',
      `trusted key '${artifact.keyId}' is unusable: ${(error as Error).message}`,
    );
  }
  return key;
}

/**
 * Checks, before anything is downloaded, that the signature is one of a trusted key over the digest
 * the job document declares. The bytes are later held to that digest ({@link verifyFile}), so a file
 * that passes both is the one the key's owner signed; a bad signature or an unknown key costs no
 * download.
 *
 * @throws UpdateFailedError `signature` for an untrusted key or a signature that does not verify
 */
export function verifyDeclaredSignature(artifact: SignedArtifact, trustedKeys: TrustedKeys): void {
  const key = trustedKeyFor(artifact, trustedKeys);
  if (
    !verifyDigestSignature(
      Buffer.from(artifact.sha256, 'hex'),
      Buffer.from(artifact.signature, 'base64'),
      key,
    )
  ) {
    throw new UpdateFailedError(
      'signature',
      'verifying',
      `signature over the declared SHA-256 does not verify with key '${artifact.keyId}'`,
    );
  }
}
