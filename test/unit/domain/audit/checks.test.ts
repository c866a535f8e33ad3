import { describe, expect, it } from 'vitest';
import {
  AUDIT_CHECKS,
  auditDevice,
  broaderPolicy,
  certificateExpiring,
  certificateOnSeveralThings,
  coapUnauthenticated,
  conflictingClientIds,
  neverSeen,
  revokedOrInactiveAttached,
  rotationNotConfirmed,
  tls12,
} from '../../../../lambdas/domain/audit/checks.ts';
import { planFindings } from '../../../../lambdas/domain/audit/findings.ts';
import type {
  AttachedCertificate,
  AuditCheck,
  AuditSettings,
  DeviceAuditFacts,
} from '../../../../lambdas/domain/audit/model.ts';
import type { CertificateRecord } from '../../../../lambdas/domain/identity/ports.ts';

const NOW = 1_770_000_000_000;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const id = (c: string) => c.repeat(64);
const arn = (c: string) => `arn:aws:iot:eu-west-1:1:cert/${id(c)}`;

const settings: AuditSettings = {
  now: NOW,
  expiryDays: 30,
  neverSeenHours: 24,
  conflictWindowHours: 168,
  unconfirmedRotationHours: 24,
  devicePolicyName: 'fleetkit-dev-device',
};

function record(c: string, overrides: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    deviceId: 'D',
    certificateId: id(c),
    certificateArn: arn(c),
    deviceType: 'tracker',
    status: 'ACTIVE',
    origin: 'provisioned',
    publicKeySha256: 'k'.repeat(64),
    notBefore: NOW - 100 * DAY,
    notAfter: NOW + 200 * DAY,
    createdAt: NOW - 100 * DAY,
    activatedAt: NOW - 100 * DAY,
    confirmedAt: NOW - 100 * DAY,
    ...overrides,
  };
}

function attached(c: string, overrides: Partial<AttachedCertificate> = {}): AttachedCertificate {
  return {
    certificateId: id(c),
    certificateArn: arn(c),
    status: 'ACTIVE',
    things: ['D'],
    policies: ['fleetkit-dev-device'],
    ...overrides,
  };
}

const healthy: DeviceAuditFacts = {
  device: {
    deviceId: 'D',
    deviceType: 'tracker',
    lastSeen: NOW - HOUR,
    provisionedAt: NOW - 100 * DAY,
    tlsVersion: 'TLSv1.3',
  },
  certificates: [record('a')],
  attached: [attached('a')],
};

/** Findings of one check on the healthy device changed by `change`. */
function findings(check: AuditCheck, change: (facts: DeviceAuditFacts) => DeviceAuditFacts) {
  return check.evaluate(change(healthy), settings).map((f) => f.resource);
}

describe('audit checks', () => {
  it('find nothing on a healthy device (control)', () => {
    expect(auditDevice(AUDIT_CHECKS, healthy, settings)).toEqual([]);
  });

  it.each([
    [
      'expiring in 29 days',
      certificateExpiring,
      (f: DeviceAuditFacts) => ({ ...f, certificates: [record('a', { notAfter: NOW + 29 * DAY })] }),
      [id('a')],
    ],
    [
      'expiring in 31 days',
      certificateExpiring,
      (f: DeviceAuditFacts) => ({ ...f, certificates: [record('a', { notAfter: NOW + 31 * DAY })] }),
      [],
    ],
    [
      'expired',
      certificateExpiring,
      (f: DeviceAuditFacts) => ({ ...f, certificates: [record('a', { notAfter: NOW - DAY })] }),
      [id('a')],
    ],
    [
      'expiring but revoked',
      certificateExpiring,
      (f: DeviceAuditFacts) => ({
        ...f,
        certificates: [record('a', { notAfter: NOW + DAY, status: 'REVOKED' })],
      }),
      [],
    ],
    [
      'attached to two things',
      certificateOnSeveralThings,
      (f: DeviceAuditFacts) => ({ ...f, attached: [attached('a', { things: ['D', 'E'] })] }),
      [id('a')],
    ],
    [
      'client id conflict a day ago',
      conflictingClientIds,
      (f: DeviceAuditFacts) => ({ ...f, device: { ...f.device, lastClientIdConflictAt: NOW - DAY } }),
      ['D'],
    ],
    [
      'client id conflict 8 days ago',
      conflictingClientIds,
      (f: DeviceAuditFacts) => ({ ...f, device: { ...f.device, lastClientIdConflictAt: NOW - 8 * DAY } }),
      [],
    ],
    [
      'revoked and attached',
      revokedOrInactiveAttached,
      (f: DeviceAuditFacts) => ({ ...f, attached: [attached('a'), attached('b', { status: 'REVOKED' })] }),
      [id('b')],
    ],
    [
      'inactive and attached past its grace',
      revokedOrInactiveAttached,
      (f: DeviceAuditFacts) => ({
        ...f,
        certificates: [record('a'), record('b', { status: 'INACTIVE', deleteAfter: NOW - HOUR })],
        attached: [attached('a'), attached('b', { status: 'INACTIVE' })],
      }),
      [id('b')],
    ],
    [
      'inactive and attached within its grace (a rotation)',
      revokedOrInactiveAttached,
      (f: DeviceAuditFacts) => ({
        ...f,
        certificates: [record('a'), record('b', { status: 'INACTIVE', deleteAfter: NOW + HOUR })],
        attached: [attached('a'), attached('b', { status: 'INACTIVE' })],
      }),
      [],
    ],
    [
      'provisioned 2 days ago, never seen',
      neverSeen,
      (f: DeviceAuditFacts) => ({ ...f, device: { deviceId: 'D', provisionedAt: NOW - 2 * DAY } }),
      ['D'],
    ],
    [
      'provisioned an hour ago, not seen yet',
      neverSeen,
      (f: DeviceAuditFacts) => ({ ...f, device: { deviceId: 'D', provisionedAt: NOW - HOUR } }),
      [],
    ],
    [
      'on TLS 1.2',
      tls12,
      (f: DeviceAuditFacts) => ({ ...f, device: { ...f.device, tlsVersion: 'TLSv1.2' } }),
      ['D'],
    ],
    [
      'with a CoAP gateway beyond loopback without authentication',
      coapUnauthenticated,
      (f: DeviceAuditFacts) => ({
        ...f,
        device: {
          ...f.device,
          coapExposure: { interface: 'eth1', address: '10.0.0.2', allow: ['10.0.0.7'] },
        },
      }),
      ['D/coap/eth1'],
    ],
    ['with a CoAP gateway on loopback only', coapUnauthenticated, (f: DeviceAuditFacts) => f, []],
    [
      'with a second policy',
      broaderPolicy,
      (f: DeviceAuditFacts) => ({
        ...f,
        attached: [attached('a', { policies: ['fleetkit-dev-device', 'all-access'] })],
      }),
      [id('a')],
    ],
    [
      'rotated, never confirmed, activated 2 days ago',
      rotationNotConfirmed,
      (f: DeviceAuditFacts) => ({
        ...f,
        certificates: [
          record('a'),
          record('b', { origin: 'rotation', activatedAt: NOW - 2 * DAY, confirmedAt: undefined }),
        ],
      }),
      [id('b')],
    ],
    [
      'rotated an hour ago, not confirmed yet',
      rotationNotConfirmed,
      (f: DeviceAuditFacts) => ({
        ...f,
        certificates: [
          record('a'),
          record('b', { origin: 'rotation', activatedAt: NOW - HOUR, confirmedAt: undefined }),
        ],
      }),
      [],
    ],
  ] as const)('%s → %j', (_case, check, change, expected) => {
    expect(findings(check, change)).toEqual(expected);
  });

  it('name the device and give a fix on every finding', () => {
    // Prepare: a device wrong in every way the checks know
    const broken: DeviceAuditFacts = {
      device: {
        deviceId: 'D',
        provisionedAt: NOW - 2 * DAY,
        tlsVersion: 'TLSv1.2',
        coapExposure: { interface: 'eth1', address: '10.0.0.2', allow: [] },
        lastClientIdConflictAt: NOW,
      },
      certificates: [
        record('a', { notAfter: NOW + DAY }),
        record('b', { origin: 'rotation', activatedAt: NOW - 2 * DAY, confirmedAt: undefined }),
      ],
      attached: [
        attached('a', { things: ['D', 'E'], policies: ['x'] }),
        attached('c', { status: 'REVOKED' }),
      ],
    };

    // Act
    const found = auditDevice(AUDIT_CHECKS, broken, settings);

    // Assess
    expect(new Set(found.map((f) => f.check))).toEqual(new Set(AUDIT_CHECKS.map((c) => c.id)));
    for (const finding of found) {
      expect(finding.deviceId).toBe('D');
      expect(finding.fix.length).toBeGreaterThan(20);
    }
  });
});

describe('planFindings', () => {
  const finding = (resource: string) => ({
    deviceId: 'D',
    check: 'X',
    resource,
    severity: 'low' as const,
    message: 'm',
    fix: 'f',
  });

  it('keeps the first-found time, refreshes the rest, and removes what is no longer found', () => {
    // Prepare
    const stored = planFindings([], [finding('1'), finding('2')], NOW - DAY, 30 * DAY).put;

    // Act
    const plan = planFindings(stored, [finding('1'), finding('3')], NOW, 30 * DAY);

    // Assess
    expect(plan.put.map((f) => [f.findingId, f.firstFoundAt, f.checkedAt])).toEqual([
      ['X#1', NOW - DAY, NOW],
      ['X#3', NOW, NOW],
    ]);
    expect(plan.remove).toEqual(['X#2']);
    expect(plan.put[0]?.expiresAt).toBe(Math.floor((NOW + 30 * DAY) / 1000));
  });
});
