import type { FirmwareJobDocument } from '../../../lib/protocol/jobs.ts';
import { UpdateFailedError } from './errors.ts';
import type { SlotName, SlotStore } from './ports.ts';
import { checkImage, p256PublicKey } from './signature.ts';

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
  firmware: FirmwareJobDocument['firmware'],
  trustedKeys: TrustedKeys,
): Promise<Buffer> {
  const size = await slots.size(slot);
  if (size !== firmware.size) {
    throw new UpdateFailedError(
      'size',
      'verifying',
      `slot holds ${size} bytes, job document declares ${firmware.size}`,
    );
  }
  const key = Object.hasOwn(trustedKeys, firmware.keyId) ? trustedKeys[firmware.keyId] : undefined;
  if (key === undefined) {
    throw new UpdateFailedError(
      'signature',
      'verifying',
      `key '${firmware.keyId}' is not trusted by this device`,
    );
  }
  try {
    p256PublicKey(key);
  } catch (error) {
    throw new UpdateFailedError(
      'signature',
      'verifying',
      `trusted key '${firmware.keyId}' is unusable: ${(error as Error).message}`,
    );
  }
  const check = await checkImage(slots.read(slot), Buffer.from(firmware.signature, 'base64'), key);
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
