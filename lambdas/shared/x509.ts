import 'reflect-metadata';
import { createHash, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

/**
 * What fleetkit reads from CSRs and certificates: ids, keys, subjects, validity. No private key ever
 * passes through here; only public material that crossed a wire.
 */

/** The facts of a certificate that identity decisions use. */
export interface CertificateInfo {
  /** AWS IoT's certificate id: SHA-256 of the DER, lower-case hex. */
  readonly certificateId: string;
  /** SHA-256 (hex) of the SubjectPublicKeyInfo: the same for a CSR and the certificate issued for it. */
  readonly publicKeySha256: string;
  readonly commonName?: string;
  /** Epoch ms. */
  readonly notBefore: number;
  readonly notAfter: number;
}

/** A CSR that cannot be signed: malformed, badly self-signed, or for a key AWS IoT does not take. */
export class InvalidCsrError extends Error {
  override readonly name = 'InvalidCsrError';
}

/** The curves AWS IoT accepts for device certificates (ECDSA P-256, P-384, P-521). */
const EC_CURVES = new Set(['P-256', 'P-384', 'P-521']);

function sha256Hex(bytes: ArrayBuffer | Uint8Array): string {
  return createHash('sha256').update(new Uint8Array(bytes)).digest('hex');
}

function commonNameOf(name: x509.Name): string | undefined {
  const cn = name.getField('CN')[0];
  return cn === undefined || cn === '' ? undefined : cn;
}

/** The certificate id of a DER or PEM certificate, as AWS IoT computes it. */
export function certificateIdOf(certificate: string | Uint8Array): string {
  const der = typeof certificate === 'string' ? new x509.X509Certificate(certificate).rawData : certificate;
  return sha256Hex(der);
}

/** Reads the facts of a PEM certificate. @throws Error when it is not a certificate */
export function inspectCertificate(pem: string): CertificateInfo {
  const cert = new x509.X509Certificate(pem);
  const commonName = commonNameOf(cert.subjectName);
  return {
    certificateId: sha256Hex(cert.rawData),
    publicKeySha256: sha256Hex(cert.publicKey.rawData),
    ...(commonName === undefined ? {} : { commonName }),
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
  };
}

/**
 * Parses a PEM CSR and checks it: the signature must verify with the CSR's own key (proof that whoever
 * sent it holds the private key), and the key must be one AWS IoT takes.
 *
 * @throws InvalidCsrError naming what is wrong
 */
export async function inspectCsr(pem: string): Promise<{
  readonly publicKeySha256: string;
  readonly commonName?: string;
  readonly request: x509.Pkcs10CertificateRequest;
}> {
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(pem);
  } catch (error) {
    throw new InvalidCsrError(`not a PKCS #10 certificate signing request (${(error as Error).message})`);
  }
  const algorithm = request.publicKey.algorithm as {
    name: string;
    namedCurve?: string;
    modulusLength?: number;
  };
  const ecOk = algorithm.name === 'ECDSA' && EC_CURVES.has(algorithm.namedCurve ?? '');
  const rsaOk = algorithm.name.startsWith('RSA') && (algorithm.modulusLength ?? 2048) >= 2048;
  if (!ecOk && !rsaOk) {
    throw new InvalidCsrError(
      `the CSR's key (${algorithm.name} ${algorithm.namedCurve ?? algorithm.modulusLength ?? ''}) is not ` +
        'ECDSA P-256/P-384/P-521 or RSA of 2048 bits or more',
    );
  }
  let valid = false;
  try {
    valid = await request.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw new InvalidCsrError("the CSR's signature does not verify with its own public key");
  const commonName = commonNameOf(request.subjectName);
  return {
    publicKeySha256: sha256Hex(request.publicKey.rawData),
    ...(commonName === undefined ? {} : { commonName }),
    request,
  };
}
