import { describe, expect, it } from 'vitest';
import { decideClaim, planAllow } from '../../../../lambdas/domain/identity/claims.ts';
import type { AllowListEntry } from '../../../../lib/protocol/fleet-provisioning.ts';

const NOW = 1_770_000_000_000;
const CERT = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

const allowed: AllowListEntry = {
  serialNumber: 'SN-1',
  deviceType: 'tracker',
  status: 'allowed',
  allowedAt: NOW - 1000,
};
const claimedBy = (certificateId: string): AllowListEntry => ({
  ...allowed,
  status: 'claimed',
  claimedBy: certificateId,
  claimedAt: NOW - 500,
});

describe('decideClaim', () => {
  it.each([
    ['a missing or malformed serial', undefined, allowed, CERT, false],
    ['a serial not on the list', 'SN-1', undefined, CERT, false],
    ['an allowed serial', 'SN-1', allowed, CERT, true],
    ['a serial used by this very certificate (a retried RegisterThing)', 'SN-1', claimedBy(CERT), CERT, true],
    [
      'a serial used by another certificate (a copied claim certificate)',
      'SN-1',
      claimedBy(OTHER),
      CERT,
      false,
    ],
  ] as const)('%s → allowed: %s', (_rule, serialNumber, entry, certificateId, allow) => {
    // Act
    const decision = decideClaim({
      serialNumber,
      entry,
      certificateId,
      typeParameter: 'DeviceType',
      now: NOW,
    });

    // Assess
    expect(decision.allow).toBe(allow);
  });

  it.each([
    ['the serial it registered (a retried RegisterThing)', 'SN-1', true],
    ['another serial (its ownership token used again)', 'SN-2', false],
  ] as const)(
    'admits a certificate that registered a serial for %s → allowed: %s',
    (_rule, boundSerial, allow) => {
      // Act
      const decision = decideClaim({
        serialNumber: 'SN-1',
        entry: allowed,
        certificateId: CERT,
        typeParameter: 'DeviceType',
        boundSerial,
        now: NOW,
      });

      // Assess
      expect(decision.allow).toBe(allow);
    },
  );

  it('marks an allowed serial claimed by the certificate, and sets the thing type from the list', () => {
    // Act
    const decision = decideClaim({
      serialNumber: 'SN-1',
      entry: { ...allowed, deviceType: 'env-sensor' },
      certificateId: CERT,
      typeParameter: 'DeviceType',
      now: NOW,
    });

    // Assess
    expect(decision).toEqual({
      allow: true,
      entry: { ...allowed, deviceType: 'env-sensor', status: 'claimed', claimedBy: CERT, claimedAt: NOW },
      overrides: { DeviceType: 'env-sensor' },
    });
  });

  it('keeps the first claim time when the same certificate asks again', () => {
    const decision = decideClaim({
      serialNumber: 'SN-1',
      entry: claimedBy(CERT),
      certificateId: CERT,
      typeParameter: 'DeviceType',
      now: NOW,
    });
    expect(decision.allow && decision.entry.claimedAt).toBe(NOW - 500);
  });
});

describe('planAllow', () => {
  it.each([
    ['a new serial is written', undefined, false, 'write'],
    ['an unused serial is rewritten (its type may be corrected)', allowed, false, 'write'],
    ['a used serial stays used', claimedBy(CERT), false, 'alreadyClaimed'],
    ['a used serial is allowed again when asked', claimedBy(CERT), true, 'write'],
  ] as const)('%s', (_rule, current, again, kind) => {
    const outcome = planAllow({ serialNumber: 'SN-1', deviceType: 'tracker', current, again, now: NOW });
    expect(outcome.kind).toBe(kind);
    if (outcome.kind === 'write') {
      expect(outcome.entry).toEqual({
        serialNumber: 'SN-1',
        deviceType: 'tracker',
        status: 'allowed',
        allowedAt: NOW,
      });
    }
  });
});
