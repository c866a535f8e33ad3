import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import * as z from 'zod';
import {
  KEY_PURPOSES,
  type KeyPurpose,
  type KeySetManifest,
  keySetManifest,
} from '../../../lib/protocol/manifest.ts';
import { readFileIfExists, writeFileAtomic } from './atomic-file.ts';

/**
 * What a device trusts, kept across restarts and updates (issue 12): the key set it verifies signed
 * manifests with, the highest `securityVersion` it has committed per artifact (its anti-rollback
 * floor, as Android Verified Boot's rollback index), and the rollback authorizations it has already
 * used, so a replayed one is refused until it expires.
 */
export const deviceTrust = z.object({
  /** Version 0 is the set the device was provisioned with; a signed rollover moves it to 1, 2, ... */
  keySet: keySetManifest.extend({ version: z.number().int().min(0) }),
  floors: z.object({ firmware: z.number().int().min(0), model: z.number().int().min(0) }),
  usedRollbacks: z
    .array(z.object({ digest: z.string().regex(/^[0-9a-f]{64}$/), expiresAt: z.number().int() }))
    .max(256),
});
export type DeviceTrust = z.output<typeof deviceTrust>;

/** The trust state's durable home. Implementations save atomically: a power cut keeps the old or the new. */
export interface TrustStore {
  load(): Promise<DeviceTrust>;
  save(trust: DeviceTrust): Promise<void>;
}

/** The trust file exists but does not parse: the device refuses to guess what it trusts. */
export class TrustStateCorruptError extends Error {
  override readonly name = 'TrustStateCorruptError';
}

/** SPKI PEM → the base64 DER a key set carries. */
export function publicKeyBase64(pem: string): string {
  return createPublicKey(pem).export({ format: 'der', type: 'spki' }).toString('base64');
}

/**
 * The trust a device starts with: the key set it was provisioned with (taken as given: provisioning is
 * the trusted channel), floors at 0, nothing used.
 */
export function provisionedTrust(keySet: KeySetManifest | DeviceTrust['keySet']): DeviceTrust {
  return { keySet, floors: { firmware: 0, model: 0 }, usedRollbacks: [] };
}

/**
 * A provisioned key set from bare keys (`keyId → SPKI PEM`), each trusted for `purposes`: for a device
 * provisioned with `GET /firmware/keys` output that has no signed key set, and for tests.
 */
export function keySetFromKeys(
  keys: Readonly<Record<string, string>>,
  purposes: readonly KeyPurpose[] = KEY_PURPOSES,
): DeviceTrust['keySet'] {
  return {
    purpose: 'keyset',
    version: 0,
    keys: Object.entries(keys).map(([keyid, pem]) => ({
      keyid,
      purposes: [...purposes],
      publicKey: publicKeyBase64(pem),
    })),
    issuedAt: 0,
  };
}

/**
 * The key set a device is provisioned with, from its keys file: `GET /firmware/keys` output (its signed
 * `keySet`, adopted as given), or a bare map `keyId → SPKI PEM` (every key trusted for every purpose).
 *
 * @throws Error when the file holds neither
 */
export function provisionedKeySet(file: unknown): DeviceTrust['keySet'] {
  const response = z.object({ keySet: z.object({ manifest: keySetManifest }) }).safeParse(file);
  if (response.success) return response.data.keySet.manifest;
  const bare = z
    .record(z.string().min(1), z.string().startsWith('-----BEGIN PUBLIC KEY-----'))
    .safeParse(file);
  if (bare.success && Object.keys(bare.data).length > 0) return keySetFromKeys(bare.data);
  throw new Error('not GET /firmware/keys output (with keySet) nor a map of key id to public key PEM');
}

/** The trust state in a JSON file, replaced atomically; the provisioned trust until the first save. */
export class FileTrustStore implements TrustStore {
  readonly path: string;

  constructor(
    directory: string,
    private readonly provisioned: DeviceTrust,
  ) {
    this.path = join(directory, 'trust.json');
  }

  async load(): Promise<DeviceTrust> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return this.provisioned;
    const parsed = deviceTrust.safeParse(JSON.parse(text));
    if (!parsed.success)
      throw new TrustStateCorruptError(`${this.path} does not parse: ${parsed.error.message}`);
    // A key set provisioned later than the saved one (a re-provisioned device) wins.
    return this.provisioned.keySet.version > parsed.data.keySet.version
      ? { ...parsed.data, keySet: this.provisioned.keySet }
      : parsed.data;
  }

  async save(trust: DeviceTrust): Promise<void> {
    await writeFileAtomic(this.path, `${JSON.stringify(deviceTrust.parse(trust), null, 2)}\n`);
  }
}

/** The trust state in memory (survives agent restarts within one test). */
export class MemoryTrustStore implements TrustStore {
  constructor(private trust: DeviceTrust) {}

  async load(): Promise<DeviceTrust> {
    return this.trust;
  }

  async save(trust: DeviceTrust): Promise<void> {
    this.trust = deviceTrust.parse(trust);
  }

  /** What is stored, for assertions. */
  peek(): DeviceTrust {
    return this.trust;
  }
}
