import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

/**
 * The device's keys: it makes its own ECDSA P-256 key pair and a PKCS #10 CSR for it, so the private
 * key is born on the device and never leaves it; only the CSR and the certificate cross a wire.
 */

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A fresh key pair (PKCS #8 PEM) and a CSR for it with subject `CN=<thingName>`. */
export async function makeKeyAndCsr(thingName: string): Promise<{ keyPem: string; csrPem: string }> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    // The platform activates a rotated certificate only for the thing its CN names.
    name: [{ CN: [thingName] }],
    keys,
    signingAlgorithm: ALGORITHM,
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const body = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return {
    keyPem: `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`,
    csrPem: csr.toString('pem'),
  };
}

/** What the device needs to know of its certificate. */
export interface CertificateFacts {
  /** AWS IoT's id: SHA-256 of the DER, lower-case hex. */
  readonly certificateId: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** Reads a PEM certificate's id and validity. */
export function certificateFacts(certPem: string): CertificateFacts {
  const cert = new X509Certificate(certPem);
  return {
    certificateId: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
  };
}

/** Whether a certificate is for this private key (so a wrong file is caught before it is used). */
export function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  const fromCert = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  return Buffer.compare(fromCert, fromKey) === 0;
}
