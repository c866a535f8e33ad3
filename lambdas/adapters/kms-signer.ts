import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { SIGNATURE_ALGORITHM } from '../../lib/protocol/firmware.ts';
import type { SignatureResult, Signer } from '../domain/firmware/ports.ts';

export interface KmsSignerProps {
  readonly client: KMSClient;
  /** Key id, key ARN, alias name (`alias/...`) or alias ARN: the function's `<NAME>_KEY_ID`. */
  readonly keyId: string;
}

/** SHA-256 digests are 32 bytes; KMS refuses a DIGEST of another length for ECDSA_SHA_256. */
const DIGEST_BYTES = 32;

/** DER SubjectPublicKeyInfo → PEM. */
export function spkiToPem(der: Uint8Array): string {
  const body = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
}

/**
 * A {@link Signer} on an asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`): KMS `Sign` with
 * `MessageType: DIGEST`, so only the 32-byte digest crosses the network, never the image
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html). The key id returned is the one
 * KMS reports, the key ARN, whatever alias the function was given: a signature names the key that
 * made it even after the alias moves to another key.
 */
export class KmsSigner implements Signer {
  private readonly client: KMSClient;
  private readonly keyId: string;
  private publicKeyPromise?: Promise<{ pem: string; keyId: string }>;

  constructor(props: KmsSignerProps) {
    this.client = props.client;
    this.keyId = props.keyId;
  }

  async sign(digest: Uint8Array): Promise<SignatureResult> {
    if (digest.length !== DIGEST_BYTES) {
      throw new Error(`a SHA-256 digest is ${DIGEST_BYTES} bytes, got ${digest.length}`);
    }
    const result = await this.client.send(
      new SignCommand({
        KeyId: this.keyId,
        Message: digest,
        MessageType: 'DIGEST',
        SigningAlgorithm: SIGNATURE_ALGORITHM,
      }),
    );
    if (result.Signature === undefined || result.KeyId === undefined) {
      throw new Error('KMS Sign answered without a signature or key id');
    }
    return { signature: result.Signature, keyId: result.KeyId };
  }

  /** The public key, asked for once per instance: a KMS key's key pair never changes. */
  publicKey(): Promise<{ pem: string; keyId: string }> {
    this.publicKeyPromise ??= this.client
      .send(new GetPublicKeyCommand({ KeyId: this.keyId }))
      .then((result) => {
        if (result.PublicKey === undefined || result.KeyId === undefined) {
          throw new Error('KMS GetPublicKey answered without a public key or key id');
        }
        if (!result.SigningAlgorithms?.includes(SIGNATURE_ALGORITHM)) {
          throw new Error(
            `KMS key ${result.KeyId} does not sign with ${SIGNATURE_ALGORITHM} (key spec ${result.KeySpec})`,
          );
        }
        return { pem: spkiToPem(result.PublicKey), keyId: result.KeyId };
      });
    // A failed lookup is not cached: the next call asks again.
    this.publicKeyPromise.catch(() => {
      this.publicKeyPromise = undefined;
    });
    return this.publicKeyPromise;
  }
}
