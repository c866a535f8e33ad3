import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import type { Signer } from '../../lambdas/domain/firmware/ports.ts';

/**
 * A {@link Signer} on an in-memory P-256 key, for tests that need the service to sign without a KMS
 * endpoint: it signs the given digest as is, as KMS does with `MessageType: DIGEST`.
 */
export function testSigner(keyId = 'arn:aws:kms:us-east-1:000000000000:key/test'): Signer & {
  readonly publicKeyPem: string;
  readonly signed: Uint8Array[];
} {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const secret = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const publicKeyPem = createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
  const signed: Uint8Array[] = [];
  return {
    publicKeyPem,
    signed,
    async sign(digest) {
      signed.push(digest);
      return { signature: p256.sign(digest, secret, { prehash: false, format: 'der' }), keyId };
    },
    async publicKey() {
      return { pem: publicKeyPem, keyId };
    },
  };
}
