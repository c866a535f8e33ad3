import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { signingKeyAlias } from '../topology/env.ts';
import { LOCAL_REGION, LOCAL_STAGE } from './names.ts';

/** The account id the local KMS reports in key ARNs: not an AWS account, nothing leaves the machine. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** One local signing key: what the loopback KMS knows of it. */
export interface LocalSigningKey {
  /** Topology resource name, e.g. `firmwareSigning`. */
  readonly name: string;
  /** `alias/fleetkit-local-<kebab name>`: the functions' `<NAME>_KEY_ID`. */
  readonly alias: string;
  /** A KMS-shaped key id (UUID form), derived from the public key, so it is stable across restarts. */
  readonly keyId: string;
  /** `arn:aws:kms:<region>:000000000000:key/<keyId>`: what Sign and GetPublicKey report, as KMS does. */
  readonly arn: string;
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKeyDer: Uint8Array;
  readonly createdAt: number;
  /** ECDSA P-256 over a 32-byte digest, DER; the digest is used as is (KMS `MessageType: DIGEST`). */
  signDigest(digest: Uint8Array): Uint8Array;
  /** Checks a DER signature over a 32-byte digest. */
  verifyDigest(digest: Uint8Array, signature: Uint8Array): boolean;
}

/** A UUID-shaped id from the first 16 bytes of the SPKI's SHA-256. */
function keyIdOf(spki: Uint8Array): string {
  const hex = createHash('sha256').update(spki).digest('hex').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function toKey(name: string, privateKey: KeyObject, createdAt: number): LocalSigningKey {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.crv !== 'P-256' || jwk.d === undefined) {
    throw new Error(`signing key '${name}' is not a P-256 private key`);
  }
  // node:crypto signs only messages it hashes itself; signing a given digest needs ECDSA without the hash
  // step, which @noble/curves (audited) offers as `prehash: false`.
  const secret = Buffer.from(jwk.d, 'base64url');
  const publicKeyDer = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicPoint = p256.getPublicKey(secret, false);
  const keyId = keyIdOf(publicKeyDer);
  return {
    name,
    alias: signingKeyAlias(LOCAL_STAGE, name),
    keyId,
    arn: `arn:aws:kms:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:key/${keyId}`,
    publicKeyDer,
    createdAt,
    signDigest: (digest) => p256.sign(digest, secret, { prehash: false, format: 'der' }),
    verifyDigest: (digest, signature) =>
      p256.verify(signature, digest, publicPoint, { prehash: false, format: 'der', lowS: false }),
  };
}

/**
 * The local platform's signing keys: one P-256 key per `signingKey` resource, generated on first start
 * and kept as `<dataDir>/keys/<name>.pem` (PKCS #8, mode 0600), so signatures made before a restart still
 * verify after it. This is the offline stand-in for a KMS key; its private key is on disk, which is fine
 * for a laptop and the reason it never goes to AWS.
 */
export async function openSigningKeys(
  dataDir: string,
  names: readonly string[],
  now = Date.now(),
): Promise<ReadonlyMap<string, LocalSigningKey>> {
  const dir = join(dataDir, 'keys');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keys = new Map<string, LocalSigningKey>();
  for (const name of names) {
    const file = join(dir, `${name}.pem`);
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
      // `wx`: two platforms starting on one data directory never overwrite each other's key.
      await writeFile(file, pem, { mode: 0o600, flag: 'wx' }).catch(async (writeError) => {
        if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
        pem = await readFile(file, 'utf8');
      });
    }
    keys.set(name, toKey(name, createPrivateKey(pem), now));
  }
  return keys;
}
