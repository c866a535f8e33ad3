import type { AuditCheck, AuditSettings, DeviceAuditFacts, Finding } from './model.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

const iso = (ms: number) => new Date(ms).toISOString();
const cli = (command: string) => `npm run cli -- ${command}`;

/** Evaluates every check on one device's facts. */
export function auditDevice(
  checks: readonly AuditCheck[],
  facts: DeviceAuditFacts,
  settings: AuditSettings,
): Finding[] {
  return checks.flatMap((check) =>
    check.evaluate(facts, settings).map((found) => ({ ...found, check: check.id, severity: check.severity })),
  );
}

/** Certificates that stop working soon (or already have), still ACTIVE: the device must rotate. */
export const certificateExpiring: AuditCheck = {
  id: 'DEVICE_CERTIFICATE_EXPIRING',
  severity: 'medium',
  description: 'An active device certificate expires within the audit window, or has expired',
  needs: ['certificates'],
  evaluate({ device, certificates = [] }, { now, expiryDays }) {
    return certificates
      .filter((cert) => cert.status === 'ACTIVE' && cert.notAfter - now <= expiryDays * DAY_MS)
      .map((cert) => ({
        deviceId: device.deviceId,
        resource: cert.certificateId,
        message:
          cert.notAfter <= now
            ? `certificate ${cert.certificateId} expired at ${iso(cert.notAfter)}`
            : `certificate ${cert.certificateId} expires at ${iso(cert.notAfter)}, within ${expiryDays} days`,
        fix: `ask the device to rotate: ${cli(`devices rotate ${device.deviceId}`)} (it rotates on its next connection; one that cannot must be provisioned again)`,
      }));
  },
};

/** A certificate attached to more than one thing: whoever holds it can connect as each of them. */
export const certificateOnSeveralThings: AuditCheck = {
  id: 'DEVICE_CERTIFICATE_SHARED',
  severity: 'critical',
  description: 'A certificate of the device is attached to several things',
  needs: ['iot'],
  evaluate({ device, attached = [] }) {
    return attached
      .filter((cert) => cert.things.length > 1)
      .map((cert) => ({
        deviceId: device.deviceId,
        resource: cert.certificateId,
        message: `certificate ${cert.certificateId} is attached to ${cert.things.length} things: ${cert.things.join(', ')}`,
        fix: `give each device its own certificate: detach it from the others (aws iot detach-thing-principal --thing-name <other> --principal ${cert.certificateArn}), or revoke it (${cli(`devices revoke ${device.deviceId} --certificate ${cert.certificateId}`)}) and provision the devices again`,
      }));
  },
};

/** IoT dropped a connection because another used the same client id: a cloned identity or a misconfiguration. */
export const conflictingClientIds: AuditCheck = {
  id: 'CONFLICTING_CLIENT_IDS',
  severity: 'high',
  description: 'Two connections used the device’s client id, and IoT dropped one (DUPLICATE_CLIENTID)',
  needs: [],
  evaluate({ device }, { now, conflictWindowHours }) {
    const at = device.lastClientIdConflictAt;
    if (at === undefined || now - at > conflictWindowHours * HOUR_MS) return [];
    return [
      {
        deviceId: device.deviceId,
        resource: device.deviceId,
        message: `client id ${device.deviceId} was used by two connections at once (last at ${iso(at)}, ${device.clientIdConflicts ?? 1} time(s) recorded)`,
        fix: `find the second connection (IoT logs: DUPLICATE_CLIENTID); if the certificate was copied, revoke it (${cli(`devices revoke ${device.deviceId} --reason cloned`)}) and provision the device again`,
      },
    ];
  },
};

/**
 * Certificates that can no longer connect but are still attached to the thing. A certificate retired by a
 * rotation stays INACTIVE and attached during its grace period on purpose; after it, the sweeper should
 * have deleted it.
 */
export const revokedOrInactiveAttached: AuditCheck = {
  id: 'REVOKED_OR_INACTIVE_CERTIFICATE_ATTACHED',
  severity: 'low',
  description: 'A revoked or inactive certificate is still attached to the thing',
  needs: ['iot', 'certificates'],
  evaluate({ device, attached = [], certificates = [] }, { now }) {
    const inGrace = new Set(
      certificates
        .filter((r) => r.status === 'INACTIVE' && r.deleteAfter !== undefined && r.deleteAfter > now)
        .map((r) => r.certificateId),
    );
    return attached
      .filter(
        (cert) =>
          cert.status === 'REVOKED' || (cert.status === 'INACTIVE' && !inGrace.has(cert.certificateId)),
      )
      .map((cert) => ({
        deviceId: device.deviceId,
        resource: cert.certificateId,
        message: `certificate ${cert.certificateId} is ${cert.status} but still attached to ${device.deviceId}`,
        fix:
          cert.status === 'REVOKED'
            ? `detach it: aws iot detach-thing-principal --thing-name ${device.deviceId} --principal ${cert.certificateArn}`
            : `revoke it, which also detaches it: ${cli(`devices revoke ${device.deviceId} --certificate ${cert.certificateId}`)}`,
      }));
  },
};

/** Provisioned, and never heard from since: a device that never shipped, or one that cannot connect. */
export const neverSeen: AuditCheck = {
  id: 'DEVICE_NEVER_SEEN',
  severity: 'low',
  description: 'The device was provisioned and has never been heard from since',
  needs: [],
  evaluate({ device }, { now, neverSeenHours }) {
    const since = device.provisionedAt;
    if (since === undefined || device.lastSeen !== undefined || now - since <= neverSeenHours * HOUR_MS)
      return [];
    return [
      {
        deviceId: device.deviceId,
        resource: device.deviceId,
        message: `provisioned at ${iso(since)} and never heard from since`,
        fix: `check the device's endpoint, CA and clock; if it was never deployed, revoke it: ${cli(`devices revoke ${device.deviceId} --reason never-deployed`)}`,
      },
    ];
  },
};

/** Devices whose connection runs on TLS 1.2 (`FLEETKIT_TLS_MIN_VERSION=TLSv1.2` for a modem's TLS offload). */
export const tls12: AuditCheck = {
  id: 'DEVICE_USES_TLS_1_2',
  severity: 'medium',
  description: 'The device connects with TLS 1.2 rather than 1.3',
  needs: [],
  evaluate({ device }) {
    if (device.tlsVersion !== 'TLSv1.2') return [];
    return [
      {
        deviceId: device.deviceId,
        resource: device.deviceId,
        message: 'the device reported a TLS 1.2 connection',
        fix: 'update its modem firmware to one whose TLS offload has 1.3, then set FLEETKIT_TLS_MIN_VERSION=TLSv1.3 (or unset it)',
      },
    ];
  },
};

/**
 * A CoAP gateway serving sensors beyond loopback: no DTLS or OSCORE (no Node library serves either), only
 * an allow-list of source addresses, which anyone on that network can spoof for a UDP write.
 */
export const coapUnauthenticated: AuditCheck = {
  id: 'COAP_GATEWAY_UNAUTHENTICATED',
  severity: 'high',
  description: "The device's CoAP gateway takes sensor writes beyond loopback without authentication",
  needs: [],
  evaluate({ device }) {
    const exposure = device.coapExposure;
    if (exposure === undefined || exposure === null) return [];
    return [
      {
        deviceId: device.deviceId,
        resource: `${device.deviceId}/coap/${exposure.interface}`,
        message: `the CoAP gateway listens on ${exposure.address} (${exposure.interface}) without DTLS or OSCORE, allowing ${exposure.allow.join(', ') || 'no address'}`,
        fix: 'keep the sensors on a network only they can reach (a dedicated interface or VLAN), or unset FLEETKIT_COAP_INTERFACE so the gateway binds to loopback',
      },
    ];
  },
};

/** Any policy beside fleetkit's device policy on a device certificate may grant more than the per-device rule. */
export const broaderPolicy: AuditCheck = {
  id: 'POLICY_BROADER_THAN_DEVICE_RULE',
  severity: 'high',
  description: 'A certificate of the device has an IoT policy other than the device policy',
  needs: ['iot'],
  evaluate({ device, attached = [] }, { devicePolicyName }) {
    return attached.flatMap((cert) =>
      cert.policies
        .filter((policy) => policy !== devicePolicyName)
        .map((policy) => ({
          deviceId: device.deviceId,
          resource: cert.certificateId,
          message: `certificate ${cert.certificateId} has policy ${policy} besides ${devicePolicyName}`,
          fix: `detach it: aws iot detach-policy --policy-name ${policy} --target ${cert.certificateArn} (the device policy is all a device needs)`,
        })),
    );
  },
};

/** A rotation the device never finished: it got and activated a certificate, but never connected with it. */
export const rotationNotConfirmed: AuditCheck = {
  id: 'ROTATION_NOT_CONFIRMED',
  severity: 'medium',
  description: 'A rotated certificate was activated and never confirmed by the device',
  needs: ['certificates'],
  evaluate({ device, certificates = [] }, { now, unconfirmedRotationHours }) {
    return certificates
      .filter(
        (r) =>
          r.status === 'ACTIVE' &&
          r.origin === 'rotation' &&
          r.confirmedAt === undefined &&
          now - (r.activatedAt ?? r.createdAt) > unconfirmedRotationHours * HOUR_MS,
      )
      .map((r) => ({
        deviceId: device.deviceId,
        resource: r.certificateId,
        message: `certificate ${r.certificateId} was activated at ${iso(r.activatedAt ?? r.createdAt)} and the device never confirmed it; it still uses its old one`,
        fix: `see the device's log (rotation-rolled-back names why the new certificate could not connect), then ask again: ${cli(`devices rotate ${device.deviceId}`)}; revoke the unused certificate: ${cli(`devices revoke ${device.deviceId} --certificate ${r.certificateId}`)}`,
      }));
  },
};

/** The audit's checks, in the order findings are listed. */
export const AUDIT_CHECKS: readonly AuditCheck[] = [
  certificateOnSeveralThings,
  conflictingClientIds,
  broaderPolicy,
  certificateExpiring,
  tls12,
  coapUnauthenticated,
  rotationNotConfirmed,
  revokedOrInactiveAttached,
  neverSeen,
];
