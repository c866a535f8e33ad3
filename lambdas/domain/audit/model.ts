import type { CertificateRecord, IotCertificateStatus } from '../identity/ports.ts';

/**
 * The audit's vocabulary, after AWS IoT Device Defender's audit
 * (https://docs.aws.amazon.com/iot-device-defender/latest/devguide/device-defender-audit-checks.html):
 * checks run over what is known of each device, and each finding names the device, what is wrong and
 * the fix. Checks are pure and pluggable: a check declares the facts it needs, and the audit loads only
 * those (IoT's registry costs API calls; the records are already read).
 */

/** How much a finding matters, as Device Defender grades its checks. */
export type Severity = 'critical' | 'high' | 'medium' | 'low';

/** What fleetkit's registry item says of a device that the audit reads. */
export interface AuditedDevice {
  readonly deviceId: string;
  readonly deviceType?: string;
  readonly lastSeen?: number;
  readonly provisionedAt?: number;
  /** The TLS version the device reported negotiating (`TLSv1.3`). */
  readonly tlsVersion?: string;
  /** Its CoAP gateway listens beyond loopback without DTLS or OSCORE, as its last status said. */
  readonly coapExposure?: {
    readonly interface: string;
    readonly address: string;
    readonly allow: readonly string[];
  } | null;
  /** When IoT last dropped one of two connections with the device's client id (`DUPLICATE_CLIENTID`). */
  readonly lastClientIdConflictAt?: number;
  readonly clientIdConflicts?: number;
}

/** A certificate attached to the device's thing, as IoT's registry holds it. */
export interface AttachedCertificate {
  readonly certificateId: string;
  readonly certificateArn: string;
  readonly status: IotCertificateStatus | string;
  /** Every thing it is attached to (ListPrincipalThings). */
  readonly things: readonly string[];
  /** Every IoT policy attached to it (ListAttachedPolicies). */
  readonly policies: readonly string[];
}

/** The kinds of facts a check may need beyond the registry item. */
export type AuditFactKind = 'certificates' | 'iot';

/** Everything known of one device for the audit; the kinds no check asked for are absent. */
export interface DeviceAuditFacts {
  readonly device: AuditedDevice;
  /** fleetkit's records of the device's certificates. */
  readonly certificates?: readonly CertificateRecord[];
  /** The certificates IoT has attached to the thing. */
  readonly attached?: readonly AttachedCertificate[];
}

/** What the checks are told of the run. */
export interface AuditSettings {
  readonly now: number;
  /** Certificates expiring within this many days are findings. */
  readonly expiryDays: number;
  /** A provisioned device silent for longer than this is a finding. */
  readonly neverSeenHours: number;
  /** A client id conflict within this window is a finding. */
  readonly conflictWindowHours: number;
  /** A rotated certificate activated longer ago than this and never confirmed is a finding. */
  readonly unconfirmedRotationHours: number;
  /** The one IoT policy a device certificate should have. */
  readonly devicePolicyName: string;
}

/** One thing wrong with one device. */
export interface Finding {
  readonly deviceId: string;
  readonly check: string;
  /** What in the device is wrong: a certificate id, or the device id itself. */
  readonly resource: string;
  readonly severity: Severity;
  readonly message: string;
  /** What to do about it, with the command where there is one. */
  readonly fix: string;
}

/** One audit check. Add one by writing it and listing it in `AUDIT_CHECKS`. */
export interface AuditCheck {
  /** Upper snake case, as Device Defender names its checks. */
  readonly id: string;
  readonly severity: Severity;
  readonly description: string;
  /** The facts it reads beyond the registry item; the audit loads the union of all checks' needs. */
  readonly needs: readonly AuditFactKind[];
  evaluate(facts: DeviceAuditFacts, settings: AuditSettings): readonly Omit<Finding, 'check' | 'severity'>[];
}
