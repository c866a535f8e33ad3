import { IDENTITY_RULE_FIELDS } from '../protocol/identity.ts';
import { THING_TOPIC_ROOT } from '../protocol/topics.ts';
import type { FunctionSpec, Resource } from './model.ts';

/**
 * Device identity's and the audit's part of `lib/topology.ts`: things, certificates, the claim
 * allow-list, audit findings, and provisioning, rotation, revocation, the claim hook and the audit.
 */

/** What provisioning, rotation and revocation touch: IoT's registry, fleetkit's records, thing topics. */
const identityUses = {
  things: 'readWrite',
  certificates: 'readWrite',
  registry: 'readWrite',
  identityTopics: 'write',
} as const;

/** IoT things, certificate records, audit findings and the claim allow-list. */
export const IDENTITY_RESOURCES = {
  things: {
    kind: 'things',
    description: 'AWS IoT things, thing types, device certificates and the device policy',
  },
  certificates: {
    kind: 'table',
    description:
      'Every certificate of every device: status, validity, when provisioned, activated, confirmed, deactivated, revoked, deleted (what the audit reads)',
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'certificateId', type: 'S' },
    indexes: [
      // Sparse, sharded: certificates retired by a rotation, by when their grace period ends.
      {
        name: 'retiring',
        partitionKey: { name: 'retireShard', type: 'S' },
        sortKey: { name: 'deleteAfter', type: 'N' },
      },
      // Sparse, sharded: ACTIVE certificates by expiry — the audit counts those expiring soon.
      {
        name: 'active',
        partitionKey: { name: 'activeShard', type: 'S' },
        sortKey: { name: 'notAfter', type: 'N' },
      },
    ],
  },
  auditFindings: {
    kind: 'table',
    description:
      "Audit findings per device (check, resource, severity, message, fix), by check; and the scheduled audit's place in its pass",
    partitionKey: { name: 'deviceId', type: 'S' },
    sortKey: { name: 'findingId', type: 'S' },
    indexes: [
      {
        name: 'byCheck',
        partitionKey: { name: 'check', type: 'S' },
        sortKey: { name: 'deviceId', type: 'S' },
      },
    ],
    timeToLiveAttribute: 'expiresAt',
  },
  claimAllowList: {
    kind: 'table',
    description:
      'Serial numbers the claim provisioning template admits, with their thing type; each admits one device unless allowed again',
    partitionKey: { name: 'serialNumber', type: 'S' },
  },
} as const satisfies Readonly<Record<string, Resource>>;

type IdentityResourceName = keyof typeof IDENTITY_RESOURCES | 'registry' | 'identityTopics';

/** The identity API and MQTT function, the claim hook, the certificate sweeper, the audit and presence events. */
export const IDENTITY_FUNCTIONS = {
  apiIdentity: {
    handler: 'api-identity',
    description:
      'HTTP API: provision a device by its CSR, ask devices to rotate certificates, revoke a device',
    routes: ['POST /devices', 'POST /devices/rotate', 'POST /devices/{id}/revoke', 'POST /devices/allow'],
    uses: { ...identityUses, claimAllowList: 'readWrite' },
    timeoutSeconds: 29,
  },
  claimHook: {
    handler: 'claim-hook',
    description:
      'Pre-provisioning hook of the claim template: admits a serial number on the allow-list, once, as its thing type',
    provisioningHooks: [{ template: 'factory' }],
    uses: { claimAllowList: 'readWrite' },
    // IoT waits for the hook a few seconds; one conditional write is all it does.
    timeoutSeconds: 5,
  },
  identityMqtt: {
    handler: 'identity-mqtt',
    description:
      'Device identity over MQTT: certificate status, activation of a rotated certificate, confirmation',
    rules: [{ topic: `${THING_TOPIC_ROOT}/+/identity/+`, payload: 'base64', add: IDENTITY_RULE_FIELDS }],
    uses: identityUses,
    settings: { CERTIFICATE_GRACE_HOURS: '24' },
  },
  certificateSweeper: {
    handler: 'certificate-sweeper',
    description: 'Every hour: deletes certificates retired by a rotation once their grace period has passed',
    schedules: [{ everyMinutes: 60 }],
    uses: { things: 'write', certificates: 'readWrite' },
    timeoutSeconds: 300,
  },
  fleetAudit: {
    handler: 'fleet-audit',
    description:
      'Every 10 minutes: audits the next devices of the registry (Device Defender-style checks), keeps their findings, counts certificates expiring soon',
    schedules: [{ everyMinutes: 10 }],
    // A page of a registry Scan per run, resumed from a cursor: bounded work, the whole fleet per pass.
    uses: {
      registry: ['read', 'scan'],
      certificates: 'read',
      things: 'read',
      auditFindings: ['readWrite', 'delete'],
    },
    settings: {
      AUDIT_DEVICES_PER_RUN: '200',
      AUDIT_EXPIRY_DAYS: '30',
      AUDIT_NEVER_SEEN_HOURS: '24',
      AUDIT_CLIENT_ID_CONFLICT_HOURS: '168',
      AUDIT_UNCONFIRMED_ROTATION_HOURS: '24',
      AUDIT_FINDING_TTL_DAYS: '30',
    },
    timeoutSeconds: 300,
  },
  apiAudit: {
    handler: 'api-audit',
    description: 'HTTP API: the audit findings, by device or by check, and where the audit is',
    routes: ['GET /audit'],
    uses: { auditFindings: 'read' },
  },
  presenceEvents: {
    handler: 'presence-events',
    description:
      "IoT lifecycle events: records on the device's registry item when IoT dropped a connection for a duplicate client id",
    rules: [
      {
        topic: '$aws/events/presence/disconnected/+',
        payload: 'json',
        add: {},
        where: { field: 'disconnectReason', equals: 'DUPLICATE_CLIENTID' },
      },
    ],
    uses: { registry: 'write' },
  },
} as const satisfies Readonly<Record<string, FunctionSpec<IdentityResourceName>>>;
