import {
  type DsseEnvelope,
  envelopeOf,
  type Manifest,
  manifestPayload,
  statementDigest,
} from '../../lib/protocol/manifest.ts';
import type { Signer } from '../domain/firmware/ports.ts';

/** A manifest and the envelope that signs it, as the catalog keeps them and job documents carry them. */
export interface SignedStatement<M extends Manifest> {
  readonly manifest: M;
  readonly envelope: DsseEnvelope;
}

/**
 * Signs a manifest (issue 12): its RFC 8785 bytes in a DSSE envelope, the signer (a KMS key for the
 * manifest's purpose) signing SHA-256 of the envelope's pre-authentication encoding as a digest. Only 32
 * bytes reach KMS; the envelope names the key by the id KMS reports (its ARN).
 */
export async function signStatement<M extends Manifest>(
  signer: Signer,
  manifest: M,
): Promise<SignedStatement<M>> {
  const { signature, keyId } = await signer.sign(statementDigest(manifestPayload(manifest)));
  return { manifest, envelope: envelopeOf(manifest, { keyid: keyId, sig: signature }) };
}
