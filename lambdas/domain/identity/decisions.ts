import { IdentityRefusedError } from './errors.ts';
import type { CertificateRecord, IotCertificateStatus, ThingDescription } from './ports.ts';

/**
 * The decisions of device identity, pure: each takes what the IoT registry and fleetkit's records say
 * now and returns what to do, or refuses. The service carries the plan out with idempotent steps, so a
 * request that failed half-way is finished by repeating it: every plan recognises its own half-done
 * work (a certificate already made for this key, already activated, already retired).
 */

/** What a CSR or certificate says of its key and subject. */
export interface KeyFacts {
  /** SHA-256 (hex) of the SubjectPublicKeyInfo. */
  readonly publicKeySha256: string;
  readonly commonName?: string;
}

/** A certificate as IoT holds it, with what its PEM says. */
export interface CertificateFacts extends KeyFacts {
  readonly certificateId: string;
  readonly certificateArn: string;
  readonly status: IotCertificateStatus;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** What provisioning one device does. */
export type ProvisionPlan =
  /** Make a new certificate from the CSR. */
  | { readonly kind: 'create' }
  /** Finish with the certificate an earlier attempt made for this key (attach, record, answer). */
  | { readonly kind: 'resume'; readonly record: CertificateRecord };

/**
 * Decides how to provision `thingName` with the key of a CSR.
 *
 * @param attached the thing's attached certificates (IoT), with their keys
 * @param records fleetkit's records of the device's certificates
 * @throws IdentityRefusedError ThingTypeConflict, ThingHasCertificate, CertificateState
 */
export function planProvisioning(input: {
  readonly thingName: string;
  readonly thingType: string;
  readonly thing: ThingDescription | undefined;
  readonly csr: KeyFacts;
  readonly attached: readonly CertificateFacts[];
  readonly records: readonly CertificateRecord[];
}): ProvisionPlan {
  const { thingName, thingType, thing, csr } = input;
  if (thing !== undefined && thing.thingTypeName !== thingType) {
    throw new IdentityRefusedError(
      'ThingTypeConflict',
      `thing '${thingName}' exists with thing type '${thing.thingTypeName ?? '(none)'}', not '${thingType}'`,
    );
  }
  const other = input.attached.find(
    (cert) => cert.status === 'ACTIVE' && cert.publicKeySha256 !== csr.publicKeySha256,
  );
  if (other !== undefined) {
    throw new IdentityRefusedError(
      'ThingHasCertificate',
      `thing '${thingName}' already has active certificate ${other.certificateId} for another key; ` +
        'rotate it from the device, or revoke it first (POST /devices/{id}/revoke)',
    );
  }
  const sameKey = input.records.filter((r) => r.publicKeySha256 === csr.publicKeySha256);
  // A revoked key stays revoked: a device that lost its key to someone makes a new one.
  if (sameKey.some((r) => r.status === 'REVOKED')) {
    throw new IdentityRefusedError(
      'CertificateState',
      `the CSR's key belonged to a revoked certificate of '${thingName}'; make a new key pair`,
    );
  }
  const resumable = sameKey.find((r) => r.status === 'ACTIVE');
  return resumable === undefined ? { kind: 'create' } : { kind: 'resume', record: resumable };
}

/**
 * Decides whether the certificate a device got from CreateCertificateFromCsr may become its next one.
 * The request comes in on the device's current certificate (`principal`); the new certificate's subject
 * CN must be the thing name (the device wrote it in its CSR), so a device can activate only a
 * certificate meant for itself.
 *
 * @returns the record to write (ACTIVE, origin rotation); the same record again on a repeated request
 * @throws IdentityRefusedError WrongPrincipal, UnknownCertificate, CertificateState
 */
export function planActivation(input: {
  readonly thingName: string;
  readonly deviceType: string;
  readonly principal: string;
  readonly certificate: CertificateFacts | undefined;
  readonly records: readonly CertificateRecord[];
  readonly now: number;
}): CertificateRecord {
  const { thingName, principal, certificate, records, now } = input;
  const current = records.find((r) => r.certificateId === principal);
  if (current === undefined || current.status !== 'ACTIVE') {
    throw new IdentityRefusedError(
      'WrongPrincipal',
      `the request came on certificate ${principal}, which is not an active certificate of '${thingName}'`,
    );
  }
  if (certificate === undefined) {
    throw new IdentityRefusedError(
      'UnknownCertificate',
      'no such certificate; ask CreateCertificateFromCsr for one',
    );
  }
  const known = records.find((r) => r.certificateId === certificate.certificateId);
  if (known !== undefined) {
    if (known.status === 'ACTIVE') return known;
    throw new IdentityRefusedError(
      'CertificateState',
      `certificate ${known.certificateId} is ${known.status}`,
    );
  }
  if (certificate.status !== 'PENDING_ACTIVATION') {
    throw new IdentityRefusedError(
      'CertificateState',
      `certificate ${certificate.certificateId} is ${certificate.status}; only a new certificate from ` +
        'CreateCertificateFromCsr (PENDING_ACTIVATION) can be activated',
    );
  }
  if (certificate.commonName !== thingName) {
    throw new IdentityRefusedError(
      'CertificateState',
      `certificate ${certificate.certificateId} is for '${certificate.commonName ?? '(no CN)'}'; the CSR's ` +
        `subject CN must be the thing name '${thingName}'`,
    );
  }
  return {
    deviceId: thingName,
    certificateId: certificate.certificateId,
    certificateArn: certificate.certificateArn,
    deviceType: input.deviceType,
    status: 'ACTIVE',
    origin: 'rotation',
    publicKeySha256: certificate.publicKeySha256,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    createdAt: now,
    activatedAt: now,
  };
}

/** What confirming a certificate changes. */
export interface ConfirmationPlan {
  readonly confirmed: CertificateRecord;
  /** The device's other active certificates, to deactivate and delete after the grace period. */
  readonly retire: readonly CertificateRecord[];
}

/**
 * Confirms a certificate the device is connected with. Only then are its older certificates
 * deactivated: a device that never confirms keeps working on the old one until it expires.
 *
 * @param principal the certificate the confirmation came in on; it must be the one confirmed
 * @throws IdentityRefusedError WrongPrincipal, UnknownCertificate, CertificateState
 */
export function planConfirmation(input: {
  readonly principal: string;
  readonly certificateId: string;
  readonly records: readonly CertificateRecord[];
  readonly now: number;
  readonly graceMs: number;
}): ConfirmationPlan {
  const { principal, certificateId, records, now } = input;
  if (principal !== certificateId) {
    throw new IdentityRefusedError(
      'WrongPrincipal',
      `confirm certificate ${certificateId} on a connection made with it; this one uses ${principal}`,
    );
  }
  const record = records.find((r) => r.certificateId === certificateId);
  if (record === undefined) {
    throw new IdentityRefusedError('UnknownCertificate', `certificate ${certificateId} was never activated`);
  }
  if (record.status !== 'ACTIVE') {
    throw new IdentityRefusedError('CertificateState', `certificate ${certificateId} is ${record.status}`);
  }
  const confirmed = record.confirmedAt === undefined ? { ...record, confirmedAt: now } : record;
  const retire = records
    .filter((r) => r.certificateId !== certificateId && r.status === 'ACTIVE')
    .map((r) => ({
      ...r,
      status: 'INACTIVE' as const,
      deactivatedAt: now,
      deleteAfter: now + input.graceMs,
    }));
  return { confirmed, retire };
}

/**
 * The certificates revoking a device changes: all it has that are not revoked or deleted yet, or the
 * one named. Repeating a revocation revokes nothing new.
 *
 * @throws IdentityRefusedError UnknownDevice, UnknownCertificate, CertificateState
 */
export function planRevocation(input: {
  readonly deviceId: string;
  readonly records: readonly CertificateRecord[];
  readonly certificateId?: string;
  readonly reason?: string;
  readonly now: number;
}): readonly CertificateRecord[] {
  const { records, certificateId, now } = input;
  if (records.length === 0) {
    throw new IdentityRefusedError('UnknownDevice', `device '${input.deviceId}' has no certificates`);
  }
  const chosen =
    certificateId === undefined ? records : records.filter((r) => r.certificateId === certificateId);
  if (chosen.length === 0) {
    throw new IdentityRefusedError(
      'UnknownCertificate',
      `certificate ${certificateId} is not one of '${input.deviceId}'s certificates`,
    );
  }
  if (certificateId !== undefined && chosen.every((r) => r.status === 'DELETED')) {
    throw new IdentityRefusedError('CertificateState', `certificate ${certificateId} was deleted`);
  }
  return chosen
    .filter((r) => r.status !== 'REVOKED' && r.status !== 'DELETED')
    .map((r) => {
      const { deleteAfter: _dropped, ...kept } = r;
      return {
        ...kept,
        status: 'REVOKED' as const,
        revokedAt: now,
        ...(input.reason === undefined ? {} : { revokedReason: input.reason }),
      };
    });
}

/**
 * Adopts a certificate fleetkit has no record of, made by IoT for this thing outside fleetkit's API:
 * fleet provisioning by claim (the template activates it and attaches it), the console, the local
 * platform's factory path. The device connected with it, so IoT let it in; the record is written only if
 * IoT still says the certificate is ACTIVE and attached to the thing, and the thing has a type.
 *
 * @param attached the ARNs of the certificates attached to the thing (IoT)
 * @returns the record to write (origin `registered`, confirmed now), or undefined when IoT does not
 *   back the certificate
 */
export function planAdoption(input: {
  readonly thingName: string;
  readonly thing: ThingDescription | undefined;
  readonly certificate: CertificateFacts | undefined;
  readonly attached: readonly string[];
  readonly now: number;
}): CertificateRecord | undefined {
  const { thing, certificate, now } = input;
  if (thing?.thingTypeName === undefined || certificate === undefined) return undefined;
  if (certificate.status !== 'ACTIVE' || !input.attached.includes(certificate.certificateArn))
    return undefined;
  return {
    deviceId: input.thingName,
    certificateId: certificate.certificateId,
    certificateArn: certificate.certificateArn,
    deviceType: thing.thingTypeName,
    status: 'ACTIVE',
    origin: 'registered',
    publicKeySha256: certificate.publicKeySha256,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    createdAt: now,
    activatedAt: now,
    confirmedAt: now,
  };
}
