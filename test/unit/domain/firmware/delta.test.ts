import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  deltaObjectId,
  deltaPairProblem,
  deltaResultProblem,
  deltasOf,
  type StoredDelta,
} from '../../../../lambdas/domain/firmware/delta.ts';
import type { FirmwareMetadata } from '../../../../lambdas/domain/firmware/metadata.ts';
import { MAX_DELTA_IMAGE_BYTES } from '../../../../lib/protocol/firmware-deltas.ts';
import { deltaImages } from '../../edge/ota/delta-images.ts';

/**
 * The registry's side of delta images (issue 12, step 5): which pairs of versions may have a delta, and
 * the verification that keeps a delta only if it decodes, against the base, to the signed image.
 */

const { base, next } = deltaImages();
const delta = readFileSync(new URL('../../../fixtures/ota/delta-1.0.0-2.0.0.vcdiff', import.meta.url));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const signedNext = { size: next.length, sha256: sha256(next) };
/** One byte of the delta's instructions changed (it still parses, and decodes to other bytes). */
const corrupted = Buffer.from(delta);
corrupted[delta.length - 40] = (corrupted[delta.length - 40] ?? 0) ^ 0x5a;

describe('deltaResultProblem', () => {
  it.each<[string, Uint8Array, Uint8Array, { size: number; sha256: string }, RegExp | undefined]>([
    ['the delta made by xdelta3 decodes to the signed image', delta, base, signedNext, undefined],
    ['a corrupted delta', corrupted, base, signedNext, /SHA-256|decode/],
    ['a delta applied to another base', delta, next, signedNext, /SHA-256|decode/],
    ['not VCDIFF at all', Buffer.from('not a delta'), base, signedNext, /does not decode/],
    ['the manifest signs another size', delta, base, { ...signedNext, size: next.length + 1 }, /bytes/],
    ['the manifest signs another SHA-256', delta, base, { ...signedNext, sha256: 'f'.repeat(64) }, /SHA-256/],
  ])('%s', (_name, bytes, from, expected, problem) => {
    // Act
    const found = deltaResultProblem(bytes, from, expected);
    // Assess
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

const signed = (version: string, overrides: Partial<FirmwareMetadata> = {}): FirmwareMetadata => ({
  version,
  deviceTypes: ['tracker'],
  size: 1024,
  sha256: 'a'.repeat(64),
  status: 'available',
  registeredAt: 0,
  upload: { mode: 'single' },
  manifest: {
    purpose: 'firmware',
    version,
    sha256: 'a'.repeat(64),
    size: 1024,
    deviceTypes: ['tracker'],
    securityVersion: 0,
    issuedAt: 0,
    expiresAt: 1,
  },
  envelope: { payloadType: 'x', payload: 'e30=', signatures: [{ keyid: 'k', sig: 's' }] },
  uploadedAt: 1,
  ...overrides,
});

describe('deltaPairProblem', () => {
  const target = signed('1.1.0');
  it.each<[string, FirmwareMetadata, FirmwareMetadata, RegExp | undefined]>([
    ['an older signed base of the same device type', target, signed('1.0.0'), undefined],
    ['a withdrawn base (devices still run it)', target, signed('1.0.0', { status: 'withdrawn' }), undefined],
    [
      'a target waiting for approval',
      { ...target, status: 'pending-approval' },
      signed('1.0.0'),
      /available/,
    ],
    [
      'a base never signed',
      target,
      { ...signed('1.0.0'), status: 'pending-upload', manifest: undefined, envelope: undefined },
      /never signed/,
    ],
    ['a newer base', target, signed('1.2.0'), /not older/],
    ['the same version', target, signed('1.1.0'), /not older/],
    ['a base of another device type', target, signed('1.0.0', { deviceTypes: ['gateway'] }), /device type/],
    [
      'an image too large to patch in memory',
      { ...target, size: MAX_DELTA_IMAGE_BYTES + 1 },
      signed('1.0.0'),
      /above/,
    ],
  ])('%s', (_name, to, from, problem) => {
    // Act
    const found = deltaPairProblem(to, from);
    // Assess
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe('deltasOf and deltaObjectId', () => {
  it('lists the recorded deltas newest base first, keyed apart by base version', () => {
    // Prepare
    const stored = (fromVersion: string): StoredDelta => ({
      format: 'vcdiff',
      fromVersion,
      fromSha256: 'b'.repeat(64),
      size: 10,
      sha256: 'c'.repeat(64),
      key: `deltas/${deltaObjectId('1.10.0', fromVersion)}`,
      verifiedAt: 0,
    });
    const firmware = signed('1.10.0', {
      deltas: { '1.2.0': stored('1.2.0'), '1.9.0': stored('1.9.0'), '1.10.0-rc.1': stored('1.10.0-rc.1') },
    });
    // Act
    const listed = deltasOf(firmware).map((d) => d.fromVersion);
    // Assess
    expect(listed).toEqual(['1.10.0-rc.1', '1.9.0', '1.2.0']);
    expect(deltaObjectId('1.10.0', '1.9.0')).toBe('1.10.0/from-1.9.0');
    expect(deltasOf(signed('1.0.0'))).toEqual([]);
  });
});
