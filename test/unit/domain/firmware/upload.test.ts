import { describe, expect, it } from 'vitest';
import { FirmwareStateError, SelfApprovalError } from '../../../../lambdas/domain/firmware/errors.ts';
import type { FirmwareMetadata } from '../../../../lambdas/domain/firmware/metadata.ts';
import {
  approvalOf,
  completionStep,
  FIRMWARE_TRANSITIONS,
  markAvailable,
  markVerified,
  planUpload,
  registerFirmware,
  releaseManifest,
  verifyUpload,
  withdrawFirmware,
} from '../../../../lambdas/domain/firmware/upload.ts';
import { SchemaValidationError } from '../../../../lib/protocol/errors.ts';
import type { RegisterFirmwareRequest } from '../../../../lib/protocol/firmware.ts';

const MiB = 1024 * 1024;
const NOW = Date.UTC(2026, 10, 27);
const request: RegisterFirmwareRequest = {
  version: '1.2.0',
  deviceTypes: ['tracker'],
  minVersion: '1.0.0',
  size: 3000,
  sha256: 'c'.repeat(64),
  releaseNotes: 'Fixes GNSS cold start',
};
const pending = registerFirmware(request, { mode: 'single' }, NOW);
const stored = { size: 3000, sha256: 'c'.repeat(64) };
const signed = {
  manifest: releaseManifest(pending, { version: '1.2.0', ...stored, verified: true }, NOW, 60),
  envelope: { payloadType: 't', payload: 'e30=', signatures: [{ keyid: 'k', sig: 'c2ln' }] },
};

describe('planUpload', () => {
  it.each([
    ['one PUT up to 100 MiB', 100 * MiB, {}, { mode: 'single' }],
    [
      'parts of 16 MiB above 100 MiB, the last one shorter',
      100 * MiB + 1,
      {},
      { parts: 7, partSize: 16 * MiB, last: 4 * MiB + 1 },
    ],
    [
      'parts when asked for, even for a small image',
      12 * MiB,
      { upload: 'multipart', partSize: 5 * MiB },
      { parts: 3, partSize: 5 * MiB, last: 2 * MiB },
    ],
    [
      'one part when the image fits in it',
      1000,
      { upload: 'multipart' },
      { parts: 1, partSize: 16 * MiB, last: 1000 },
    ],
    [
      "parts raised to stay within 1000 (6 GiB, beyond today's maximum)",
      6 * 1024 * MiB,
      { upload: 'multipart', partSize: 5 * MiB },
      {
        parts: 1000,
        partSize: Math.ceil((6 * 1024 * MiB) / 1000),
        last: 6 * 1024 * MiB - 999 * Math.ceil((6 * 1024 * MiB) / 1000),
      },
    ],
    ['one PUT when asked for, even above the threshold', 200 * MiB, { upload: 'single' }, { mode: 'single' }],
  ] as const)('plans %s', (_rule, size, options, expected) => {
    // Act
    const plan = planUpload(size, options);
    // Assess
    if (plan.mode === 'single') {
      expect(plan).toEqual(expected);
      return;
    }
    expect({ parts: plan.parts.length, partSize: plan.partSize, last: plan.parts.at(-1)?.size }).toEqual(
      expected,
    );
    expect(plan.parts.reduce((sum, part) => sum + part.size, 0)).toBe(size);
    expect(plan.parts.map((part) => part.partNumber)).toEqual(plan.parts.map((_, i) => i + 1));
  });
});

describe('the upload state machine', () => {
  it('registers as pending-upload with what was declared, unsigned', () => {
    expect(pending).toEqual({
      version: '1.2.0',
      deviceTypes: ['tracker'],
      minVersion: '1.0.0',
      size: 3000,
      sha256: 'c'.repeat(64),
      releaseNotes: 'Fixes GNSS cold start',
      securityVersion: 0,
      status: 'pending-upload',
      registeredAt: NOW,
      upload: { mode: 'single' },
    });
  });

  it('refuses a minVersion above the version, naming the field', () => {
    const register = () => registerFirmware({ ...request, minVersion: '1.2.1' }, { mode: 'single' }, NOW);
    expect(register).toThrow(SchemaValidationError);
    expect(register).toThrow('minVersion: must not be above version 1.2.0, got 1.2.1');
  });

  it.each<[string, { size: number; sha256: string }, boolean]>([
    ['the declared size and SHA-256', stored, true],
    ['one byte more', { ...stored, size: 3001 }, false],
    ['another SHA-256', { ...stored, sha256: 'd'.repeat(64) }, false],
  ])('verifies an upload of %s: %s', (_rule, measured, ok) => {
    expect(verifyUpload(pending, measured).ok).toBe(ok);
  });

  it('builds the release manifest from what was verified, valid from now for the given time', () => {
    // Prepare
    const verified = verifyUpload({ ...pending, securityVersion: 3 }, stored);
    if (!verified.ok) throw new Error('fixture does not verify');
    // Act
    const manifest = releaseManifest({ ...pending, securityVersion: 3 }, verified.upload, NOW + 999, 86_400);
    // Assess
    expect(manifest).toEqual({
      purpose: 'firmware',
      version: '1.2.0',
      sha256: 'c'.repeat(64),
      size: 3000,
      deviceTypes: ['tracker'],
      minVersion: '1.0.0',
      securityVersion: 3,
      issuedAt: NOW / 1000,
      expiresAt: NOW / 1000 + 86_400,
    });
    expect(pending.securityVersion).toBe(0);
  });

  it('makes a verified, signed upload available, recording the object version it measured', () => {
    // Prepare
    const verified = verifyUpload(pending, { ...stored, objectVersion: 'v-1' });
    if (!verified.ok) throw new Error('fixture does not verify');
    // Act
    const available = markAvailable(pending, verified.upload, signed, NOW + 5);
    // Assess
    expect(available).toEqual({
      ...pending,
      status: 'available',
      ...signed,
      uploadedAt: NOW + 5,
      objectVersion: 'v-1',
    });
    expect(completionStep(pending)).toBe('verify');
    expect(completionStep(available)).toBe('done');
  });

  it('signs only what was verified for this very image', () => {
    const verified = verifyUpload(pending, stored);
    if (!verified.ok) throw new Error('fixture does not verify');
    const other = { ...pending, version: '9.9.9' };
    expect(() => markAvailable(other, verified.upload, signed, NOW)).toThrow(
      'does not belong to firmware 9.9.9',
    );
    const withdrawn: FirmwareMetadata = withdrawFirmware(pending, NOW);
    expect(() => markAvailable(withdrawn, verified.upload, signed, NOW)).toThrow(FirmwareStateError);
  });

  it('withdraws from pending or available, once; a withdrawn image cannot be completed', () => {
    // Act
    const withdrawn = withdrawFirmware(pending, NOW + 9);
    // Assess
    expect(withdrawn).toEqual({ ...pending, status: 'withdrawn', withdrawnAt: NOW + 9 });
    expect(withdrawFirmware(withdrawn, NOW + 99)).toBe(withdrawn);
    expect(() => completionStep(withdrawn)).toThrow(
      'cannot complete the upload of firmware 1.2.0: it is withdrawn',
    );
  });

  it.each([
    ['pending-upload', ['available', 'pending-approval', 'withdrawn']],
    ['pending-approval', ['available', 'withdrawn']],
    ['available', ['withdrawn']],
    ['withdrawn', []],
  ] as const)('lets %s become only %j', (from, to) => {
    expect(FIRMWARE_TRANSITIONS[from]).toEqual(to);
  });
});

describe('release approval', () => {
  const uploaded = { ...pending, registeredBy: 'arn:user/alice', uploadedBy: 'arn:user/bob' };
  const verified = verifyUpload(uploaded, { ...stored, objectVersion: 'v-7' });
  if (!verified.ok) throw new Error('fixture does not verify');
  const waiting = markVerified(uploaded, verified.upload, NOW + 1);

  it('leaves a verified upload unsigned, waiting for approval, with the object version it measured', () => {
    expect(waiting).toMatchObject({ status: 'pending-approval', uploadedAt: NOW + 1, objectVersion: 'v-7' });
    expect(waiting.manifest).toBeUndefined();
    expect(completionStep(waiting)).toBe('done');
  });

  it.each([
    ['the registrant', 'arn:user/alice'],
    ['the uploader', 'arn:user/bob'],
  ])('refuses approval by %s', (_who, principal) => {
    expect(() => approvalOf(waiting, principal)).toThrow(SelfApprovalError);
  });

  it('lets another principal approve exactly what was verified, and records who', () => {
    // Act
    const upload = approvalOf(waiting, 'arn:user/carol');
    const available = markAvailable(waiting, upload, signed, NOW + 9, { approvedBy: 'arn:user/carol' });
    // Assess
    expect(upload).toEqual({ version: '1.2.0', ...stored, objectVersion: 'v-7', verified: true });
    expect(available).toMatchObject({
      status: 'available',
      uploadedBy: 'arn:user/bob',
      approvedBy: 'arn:user/carol',
      approvedAt: NOW + 9,
      uploadedAt: NOW + 1,
    });
    expect(() => approvalOf(pending, 'arn:user/carol')).toThrow(FirmwareStateError);
  });
});
