import 'reflect-metadata';
import { type KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { THING_NAME_PATTERN, THING_TYPE_PATTERN } from '../protocol/topics.ts';

x509.cryptoProvider.set(webcrypto);

/**
 * The local platform's certificate authority: a CA, the broker's server certificate and one client
 * certificate per device, kept under `<dataDir>/pki/` so devices keep their identity across restarts.
 *
 * Devices are identified as in AWS IoT: the certificate maps to a thing (CN = thing name) of a thing
 * type (OU = thing type). Keys are ECDSA P-256, which AWS IoT accepts for device certificates.
 */

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, PEM-encoded. */
export interface CertifiedKey {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A device's credentials: its certificate and key, and the CA that issued the broker's certificate. */
export interface DeviceCredentials extends CertifiedKey {
  readonly thingName: string;
  readonly thingType: string;
  readonly caPem: string;
}

function pem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
}

async function importKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, true, ['sign']);
}

function serial(): string {
  // A positive 16-byte serial: the top bit cleared so DER does not read it as negative.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

async function readPair(dir: string, name: string): Promise<CertifiedKey | undefined> {
  try {
    const [certPem, keyPem] = await Promise.all([
      readFile(join(dir, `${name}.crt`), 'utf8'),
      readFile(join(dir, `${name}.key`), 'utf8'),
    ]);
    return { certPem, keyPem };
  } catch {
    return undefined;
  }
}

async function writePair(dir: string, name: string, pair: CertifiedKey): Promise<void> {
  await mkdir(dirname(join(dir, name)), { recursive: true, mode: 0o700 });
  await writeFile(join(dir, `${name}.key`), pair.keyPem, { mode: 0o600 });
  await writeFile(join(dir, `${name}.crt`), pair.certPem);
}

/**
 * True when a stored certificate was issued by the CA (its signature verifies with `caKey`) and is
 * valid for at least another week. Node's own X.509 parser does this in a tenth of a millisecond;
 * a thousand simulated devices check theirs at every start.
 */
function stillGood(pair: CertifiedKey, caKey: KeyObject, now: number): boolean {
  try {
    const cert = new X509Certificate(pair.certPem);
    if (Date.parse(cert.validTo) - now < 7 * DAY_MS) return false;
    return cert.verify(caKey);
  } catch {
    return false;
  }
}

/** The local CA. Create with {@link LocalPki.open}. */
export class LocalPki {
  /** The CA's public key, for checking stored certificates. */
  private readonly caPublicKey: KeyObject;

  private constructor(
    private readonly dir: string,
    private readonly ca: x509.X509Certificate,
    private readonly caKey: webcrypto.CryptoKey,
  ) {
    this.caPublicKey = new X509Certificate(ca.toString('pem')).publicKey;
  }

  /** The CA certificate, PEM: what clients trust to verify the broker, and the broker to verify devices. */
  get caPem(): string {
    return this.ca.toString('pem');
  }

  /** Loads the CA from `<dataDir>/pki`, creating it (valid 10 years) on first start. */
  static async open(dataDir: string, now = Date.now()): Promise<LocalPki> {
    const dir = join(dataDir, 'pki');
    const stored = await readPair(dir, 'ca');
    if (stored !== undefined) {
      const ca = new x509.X509Certificate(stored.certPem);
      if (ca.notAfter.getTime() - now > 30 * DAY_MS)
        return new LocalPki(dir, ca, await importKey(stored.keyPem));
    }
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=fleetkit local CA, O=fleetkit',
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + 3650 * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    await writePair(dir, 'ca', { certPem: ca.toString('pem'), keyPem: await exportKey(keys.privateKey) });
    return new LocalPki(dir, ca, keys.privateKey);
  }

  private async certify(
    subject: string,
    publicKey: webcrypto.CryptoKey | x509.PublicKey,
    extensions: x509.Extension[],
    notBefore: number,
    notAfter: number,
  ): Promise<string> {
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: this.ca.subject,
      notBefore: new Date(notBefore),
      notAfter: new Date(notAfter),
      publicKey,
      signingKey: this.caKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.ca),
        ...extensions,
      ],
    });
    return cert.toString('pem');
  }

  private async issue(subject: string, extensions: x509.Extension[], now: number): Promise<CertifiedKey> {
    const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const certPem = await this.certify(subject, keys.publicKey, extensions, now - DAY_MS, now + 365 * DAY_MS);
    return { certPem, keyPem: await exportKey(keys.privateKey) };
  }

  /**
   * Signs a device's CSR (checked by the caller) as a client certificate for its key and subject, as
   * AWS IoT's CreateCertificateFromCsr does: the device's private key is never seen here.
   *
   * @param validityMs how long from `now` the certificate is valid
   */
  async signCsr(request: x509.Pkcs10CertificateRequest, now: number, validityMs: number): Promise<string> {
    return this.certify(
      request.subject,
      request.publicKey,
      [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
      now - 60_000,
      now + validityMs,
    );
  }

  private async stored(name: string, make: () => Promise<CertifiedKey>, now: number): Promise<CertifiedKey> {
    const existing = await readPair(this.dir, name);
    if (existing !== undefined && stillGood(existing, this.caPublicKey, now)) return existing;
    const fresh = await make();
    await writePair(this.dir, name, fresh);
    return fresh;
  }

  /** The broker's server certificate for `localhost` / `127.0.0.1` / `::1`. */
  async serverCertificate(now = Date.now()): Promise<CertifiedKey> {
    return this.stored(
      'server',
      () =>
        this.issue(
          'CN=localhost, O=fleetkit',
          [
            new x509.SubjectAlternativeNameExtension([
              { type: 'dns', value: 'localhost' },
              { type: 'ip', value: '127.0.0.1' },
              { type: 'ip', value: '::1' },
            ]),
            new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          ],
          now,
        ),
      now,
    );
  }

  /**
   * The claim certificate of a provisioning template, as a factory would put on every device it builds:
   * issued on first use and reused afterwards (`<dataDir>/pki/claims/<template>.{crt,key}`).
   */
  async claimCredentials(template: string, now = Date.now()): Promise<CertifiedKey & { caPem: string }> {
    if (!/^[a-z0-9-]{1,64}$/.test(template)) throw new Error(`'${template}' is not a template name`);
    const pair = await this.stored(
      join('claims', template),
      () =>
        this.issue(
          `CN=fleetkit claim ${template}, O=fleetkit`,
          [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
          now,
        ),
      now,
    );
    return { ...pair, caPem: this.caPem };
  }

  /**
   * A device's credentials, issued on first use and reused afterwards.
   *
   * @throws Error when the thing name or type could not be a thing in AWS IoT
   */
  async deviceCredentials(
    thingName: string,
    thingType: string,
    now = Date.now(),
  ): Promise<DeviceCredentials> {
    if (!THING_NAME_PATTERN.test(thingName)) throw new Error(`'${thingName}' is not a valid thing name`);
    if (!THING_TYPE_PATTERN.test(thingType)) throw new Error(`'${thingType}' is not a valid thing type`);
    const pair = await this.stored(
      join('devices', `${thingType}.${thingName}`),
      () =>
        this.issue(
          `CN=${thingName}, OU=${thingType}, O=fleetkit`,
          [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
          now,
        ),
      now,
    );
    return { ...pair, thingName, thingType, caPem: this.caPem };
  }
}
