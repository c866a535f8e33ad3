import { describe, expect, it } from 'vitest';
import {
  type CertificateFacts,
  planActivation,
  planConfirmation,
  planProvisioning,
  planRevocation,
} from '../../../../lambdas/domain/identity/decisions.ts';
import { IdentityRefusedError } from '../../../../lambdas/domain/identity/errors.ts';
import type { CertificateRecord } from '../../../../lambdas/domain/identity/ports.ts';

const NOW = 1_770_000_000_000;
const id = (c: string) => c.repeat(64);
const key = (c: string) => `k${c}`.padEnd(64, c);

function record(c: string, overrides: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    deviceId: 'A',
    certificateId: id(c),
    certificateArn: `arn:aws:iot:us-east-1:1:cert/${id(c)}`,
    deviceType: 'tracker',
    status: 'ACTIVE',
    origin: 'provisioned',
    publicKeySha256: key(c),
    notBefore: NOW - 1000,
    notAfter: NOW + 1000,
    createdAt: NOW - 1000,
    ...overrides,
  };
}

function facts(c: string, overrides: Partial<CertificateFacts> = {}): CertificateFacts {
  return {
    certificateId: id(c),
    certificateArn: `arn:aws:iot:us-east-1:1:cert/${id(c)}`,
    status: 'ACTIVE',
    publicKeySha256: key(c),
    commonName: 'A',
    notBefore: NOW,
    notAfter: NOW + 10_000,
    ...overrides,
  };
}

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof IdentityRefusedError) return error.code;
    throw error;
  }
  return 'none';
}

describe('planProvisioning', () => {
  const base = {
    thingName: 'A',
    thingType: 'tracker',
    thing: undefined,
    csr: { publicKeySha256: key('a') },
    attached: [],
    records: [],
  };

  it.each<[string, Partial<Parameters<typeof planProvisioning>[0]>, string]>([
    ['a new thing → create', {}, 'create'],
    [
      'the thing exists with the same type, nothing attached → create',
      { thing: { thingName: 'A', thingTypeName: 'tracker' } },
      'create',
    ],
    ['a repeated request after the certificate was made → resume', { records: [record('a')] }, 'resume'],
    [
      'its own key attached already (the retry after everything) → resume',
      { attached: [facts('a')], records: [record('a')] },
      'resume',
    ],
    [
      'an inactive certificate of another key attached (retired, awaiting deletion) → create',
      { attached: [facts('b', { status: 'INACTIVE' })] },
      'create',
    ],
  ])('%s', (_case, input, expected) => {
    expect(planProvisioning({ ...base, ...input }).kind).toBe(expected);
  });

  it.each<[string, Partial<Parameters<typeof planProvisioning>[0]>, string]>([
    [
      'the thing exists with another type',
      { thing: { thingName: 'A', thingTypeName: 'sensor' } },
      'ThingTypeConflict',
    ],
    ['the thing exists without a type', { thing: { thingName: 'A' } }, 'ThingTypeConflict'],
    ['another key is attached and active', { attached: [facts('b')] }, 'ThingHasCertificate'],
    ['the key was revoked', { records: [record('a', { status: 'REVOKED' })] }, 'CertificateState'],
  ])('refuses when %s', (_case, input, code) => {
    expect(refusal(() => planProvisioning({ ...base, ...input }))).toBe(code);
  });
});

describe('planActivation', () => {
  const base = {
    thingName: 'A',
    deviceType: 'tracker',
    principal: id('a'),
    certificate: facts('n', { status: 'PENDING_ACTIVATION' }),
    records: [record('a')],
    now: NOW,
  };

  it('activates a pending certificate for the thing, asked on its active certificate', () => {
    expect(planActivation(base)).toMatchObject({
      certificateId: id('n'),
      status: 'ACTIVE',
      origin: 'rotation',
      activatedAt: NOW,
      notAfter: NOW + 10_000,
    });
  });

  it('answers a repeated request with the record already written', () => {
    const written = record('n', { origin: 'rotation' });
    expect(planActivation({ ...base, records: [record('a'), written] })).toBe(written);
  });

  it.each<[string, Partial<typeof base>, string]>([
    ['asked on an unknown certificate', { principal: id('x') }, 'WrongPrincipal'],
    [
      'asked on an inactive certificate',
      { records: [record('a', { status: 'INACTIVE' })] },
      'WrongPrincipal',
    ],
    ['the certificate does not exist', { certificate: undefined }, 'UnknownCertificate'],
    [
      'the certificate is for another thing',
      { certificate: facts('n', { status: 'PENDING_ACTIVATION', commonName: 'B' }) },
      'CertificateState',
    ],
    [
      'the certificate has no CN',
      { certificate: facts('n', { status: 'PENDING_ACTIVATION', commonName: undefined }) },
      'CertificateState',
    ],
    [
      'the certificate is already active elsewhere',
      { certificate: facts('n', { status: 'ACTIVE' }) },
      'CertificateState',
    ],
    ['the certificate was revoked', { certificate: facts('n', { status: 'REVOKED' }) }, 'CertificateState'],
    [
      'the certificate was retired from this device',
      { records: [record('a'), record('n', { status: 'INACTIVE' })] },
      'CertificateState',
    ],
  ])('refuses when %s', (_case, input, code) => {
    expect(refusal(() => planActivation({ ...base, ...input }))).toBe(code);
  });
});

describe('planConfirmation', () => {
  const records = [record('a', { confirmedAt: NOW - 1000 }), record('n', { origin: 'rotation' })];

  it('confirms the new certificate and retires the other active ones after a grace period', () => {
    const plan = planConfirmation({
      principal: id('n'),
      certificateId: id('n'),
      records,
      now: NOW,
      graceMs: 500,
    });
    expect(plan.confirmed).toMatchObject({ certificateId: id('n'), confirmedAt: NOW });
    expect(plan.retire).toEqual([
      { ...records[0], status: 'INACTIVE', deactivatedAt: NOW, deleteAfter: NOW + 500 },
    ]);
  });

  it('retires nothing more when repeated', () => {
    const after: CertificateRecord[] = [
      record('a', { confirmedAt: NOW - 1000, status: 'INACTIVE' }),
      record('n', { origin: 'rotation', confirmedAt: NOW }),
    ];
    const plan = planConfirmation({
      principal: id('n'),
      certificateId: id('n'),
      records: after,
      now: NOW + 5,
      graceMs: 500,
    });
    expect(plan.retire).toEqual([]);
    expect(plan.confirmed.confirmedAt).toBe(NOW);
  });

  it.each<[string, string, string, readonly CertificateRecord[], string]>([
    ['sent on the old certificate', id('a'), id('n'), records, 'WrongPrincipal'],
    ['for a certificate never activated', id('x'), id('x'), records, 'UnknownCertificate'],
    ['for a revoked certificate', id('n'), id('n'), [record('n', { status: 'REVOKED' })], 'CertificateState'],
  ])('refuses a confirmation %s', (_case, principal, certificateId, recs, code) => {
    expect(
      refusal(() => planConfirmation({ principal, certificateId, records: recs, now: NOW, graceMs: 1 })),
    ).toBe(code);
  });
});

describe('planRevocation', () => {
  const records = [
    record('a', { status: 'INACTIVE', deleteAfter: NOW + 5 }),
    record('b'),
    record('c', { status: 'REVOKED' }),
    record('d', { status: 'DELETED' }),
  ];

  it('revokes every certificate not revoked or deleted yet, and cancels pending deletions', () => {
    const revoked = planRevocation({ deviceId: 'A', records, now: NOW, reason: 'stolen' });
    expect(
      revoked.map((r) => [r.certificateId, r.status, r.revokedAt, r.revokedReason, r.deleteAfter]),
    ).toEqual([
      [id('a'), 'REVOKED', NOW, 'stolen', undefined],
      [id('b'), 'REVOKED', NOW, 'stolen', undefined],
    ]);
  });

  it('revokes only the certificate named', () => {
    expect(
      planRevocation({ deviceId: 'A', records, certificateId: id('b'), now: NOW }).map(
        (r) => r.certificateId,
      ),
    ).toEqual([id('b')]);
  });

  it('revokes nothing new when repeated', () => {
    expect(
      planRevocation({ deviceId: 'A', records: [record('c', { status: 'REVOKED' })], now: NOW }),
    ).toEqual([]);
  });

  it.each<[string, readonly CertificateRecord[], string | undefined, string]>([
    ['a device without certificates', [], undefined, 'UnknownDevice'],
    ['a certificate of another device', records, id('z'), 'UnknownCertificate'],
    ['a deleted certificate', records, id('d'), 'CertificateState'],
  ])('refuses %s', (_case, recs, certificateId, code) => {
    expect(
      refusal(() =>
        planRevocation({
          deviceId: 'A',
          records: recs,
          now: NOW,
          ...(certificateId === undefined ? {} : { certificateId }),
        }),
      ),
    ).toBe(code);
  });
});
