import type { AllowListEntry } from '../../../lib/protocol/fleet-provisioning.ts';

/**
 * What device identity needs from the outside world: AWS IoT's registry of things and certificates
 * (`IotThingRegistry`, `@aws-sdk/client-iot` against IoT Core in AWS and against the local IoT
 * control plane in `lib/local/iot/`), and fleetkit's own record of every certificate a device had
 * (`DynamoCertificateStore`), which the audit reads.
 *
 * Identity is kept where IoT Core enforces it: a thing, its thing type, certificates attached to it
 * `EXCLUSIVE_THING`, and the device policy attached to each certificate. fleetkit's records say what
 * fleetkit did and when (provisioned, activated, confirmed, deactivated, revoked, deleted). Every
 * step is idempotent, so a request that failed half-way is finished by repeating it.
 */

/** AWS IoT certificate statuses fleetkit uses (https://docs.aws.amazon.com/iot/latest/apireference/API_CertificateDescription.html). */
export type IotCertificateStatus = 'ACTIVE' | 'INACTIVE' | 'REVOKED' | 'PENDING_ACTIVATION';

/** A thing as the IoT registry describes it. */
export interface ThingDescription {
  readonly thingName: string;
  readonly thingTypeName?: string;
}

/** A certificate as the IoT registry describes it. */
export interface IotCertificate {
  readonly certificateId: string;
  readonly certificateArn: string;
  readonly certificatePem: string;
  readonly status: IotCertificateStatus;
}

/** The parts of AWS IoT's control plane that provisioning, rotation and revocation call. */
export interface ThingRegistry {
  /** @returns undefined when the thing type does not exist */
  describeThingType(thingTypeName: string): Promise<{ readonly thingTypeName: string } | undefined>;
  /** @returns undefined when the thing does not exist */
  describeThing(thingName: string): Promise<ThingDescription | undefined>;
  /** CreateThing: succeeds again for the same name and type (IoT's own idempotence). */
  createThing(thingName: string, thingTypeName: string): Promise<void>;
  /** CreateCertificateFromCsr with `setAsActive`: a new certificate each call, even for the same CSR. */
  createCertificateFromCsr(csrPem: string): Promise<IotCertificate>;
  /** @returns undefined when no such certificate exists (never made, or deleted) */
  describeCertificate(certificateId: string): Promise<IotCertificate | undefined>;
  /** UpdateCertificate; idempotent. */
  updateCertificateStatus(certificateId: string, status: 'ACTIVE' | 'INACTIVE' | 'REVOKED'): Promise<void>;
  /** DeleteCertificate of an INACTIVE or REVOKED, detached certificate; a missing one counts as deleted. */
  deleteCertificate(certificateId: string): Promise<void>;
  /** AttachPolicy of the device policy to the certificate; attaching twice is a no-op. */
  attachDevicePolicy(certificateArn: string): Promise<void>;
  /** DetachPolicy of the device policy; detaching a detached policy is a no-op. */
  detachDevicePolicy(certificateArn: string): Promise<void>;
  /** AttachThingPrincipal with `thingPrincipalType: EXCLUSIVE_THING`; attaching twice is a no-op. */
  attachToThing(thingName: string, certificateArn: string): Promise<void>;
  /** DetachThingPrincipal; detaching a detached certificate is a no-op. */
  detachFromThing(thingName: string, certificateArn: string): Promise<void>;
  /** ListThingPrincipals: the ARNs of the certificates attached to the thing. */
  thingPrincipals(thingName: string): Promise<readonly string[]>;
}

/**
 * Where a certificate came from: `POST /devices`, a rotation, or IoT's registry (made outside fleetkit's
 * API — fleet provisioning by claim, the console — and recorded when the device first asked with it).
 */
export type CertificateOrigin = 'provisioned' | 'rotation' | 'registered';

/** fleetkit's status of a certificate: IoT's, plus DELETED once IoT no longer has it. */
export type CertificateRecordStatus = IotCertificateStatus | 'DELETED';

/** One certificate a device had: what the audit reads. Times are epoch ms. */
export interface CertificateRecord {
  readonly deviceId: string;
  readonly certificateId: string;
  readonly certificateArn: string;
  readonly deviceType: string;
  readonly status: CertificateRecordStatus;
  readonly origin: CertificateOrigin;
  /** SHA-256 (hex) of the certificate's SubjectPublicKeyInfo: finds the certificate a repeated CSR made. */
  readonly publicKeySha256: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly createdAt: number;
  /** When it was attached to the thing and made ACTIVE. */
  readonly activatedAt?: number;
  /** When the device proved it connects with it (provisioning counts as a confirmation). */
  readonly confirmedAt?: number;
  readonly deactivatedAt?: number;
  readonly revokedAt?: number;
  readonly revokedReason?: string;
  /** When the retired certificate is detached and deleted (grace period after deactivation). */
  readonly deleteAfter?: number;
  readonly deletedAt?: number;
}

/** The certificates table. */
export interface CertificateStore {
  /** Every certificate the device had, oldest first. */
  forDevice(deviceId: string): Promise<readonly CertificateRecord[]>;
  /** Writes the record as given (create or replace): each caller has read it first. */
  put(record: CertificateRecord): Promise<void>;
  /** Retired certificates whose grace period ended before `now`, from one shard of the retiring index. */
  dueForDeletion(shard: number, now: number, limit: number): Promise<readonly CertificateRecord[]>;
  /** How many ACTIVE certificates of the fleet expire before `at` (an index query per shard, counts only). */
  countActiveExpiringBefore(at: number): Promise<number>;
}

/** What the registry item of a device says of its identity (the rest is what the device reports). */
export interface DeviceIdentityFields {
  readonly deviceType: string;
  /** The certificate the device last confirmed. */
  readonly certificateId?: string;
  readonly provisionedAt?: number;
  readonly lastRotatedAt?: number;
  /** Set by an operator's rotation request, cleared by the device's confirmation. */
  readonly rotationRequestedAt?: number;
}

/** The identity attributes of registry items. */
export interface DeviceIdentityRecords {
  /** @returns undefined when the device is not in the registry */
  get(deviceId: string): Promise<(DeviceIdentityFields & { readonly deviceId: string }) | undefined>;
  /** Creates the registry item if needed, and records the provisioning (first provisioning time kept). */
  recordProvisioned(
    deviceId: string,
    fields: Required<Pick<DeviceIdentityFields, 'deviceType' | 'certificateId' | 'provisionedAt'>>,
  ): Promise<void>;
  /** Records a confirmed rotation and clears a rotation request. */
  recordRotated(deviceId: string, certificateId: string, at: number): Promise<void>;
  /** Marks an operator's rotation request on a registered device; false when the device is not registered. */
  requestRotation(deviceId: string, at: number): Promise<boolean>;
  /**
   * Records that IoT dropped a connection of the device because another came with its client id; an
   * unregistered client id records nothing. @returns false when the device is not registered
   */
  recordClientIdConflict(deviceId: string, at: number): Promise<boolean>;
  /** Registered device ids of a type (a page at a time). */
  idsOfType(deviceType: string, nextToken?: string): Promise<{ ids: readonly string[]; nextToken?: string }>;
}

/** The serial numbers the claim template admits (`claimAllowList` table). */
export interface ClaimAllowList {
  get(serialNumber: string): Promise<AllowListEntry | undefined>;
  /**
   * Writes an entry the operator allowed, unless the serial was claimed since `current` was read.
   * @returns false when it was (nothing written)
   */
  allow(entry: AllowListEntry, current: AllowListEntry | undefined): Promise<boolean>;
  /**
   * Marks the serial claimed by `entry.claimedBy`, only while it is still allowed or already claimed by
   * that certificate: two devices presenting one serial at once cannot both be admitted.
   * @returns false when the condition failed (nothing written)
   */
  claim(entry: AllowListEntry): Promise<boolean>;
  /** The serial number a certificate registered (or is registering), if any. */
  certificateSerial(certificateId: string): Promise<string | undefined>;
  /**
   * Binds a certificate to the serial it registers, unless it is bound to another: one certificate is
   * one device, so its ownership token cannot register a second serial.
   * @returns false when it is bound to another serial (nothing written)
   */
  bindCertificate(certificateId: string, serialNumber: string): Promise<boolean>;
}
