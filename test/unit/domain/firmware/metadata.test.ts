import { describe, expect, it } from 'vitest';
import {
  canUpgradeFrom,
  checkInstall,
  type FirmwareMetadata,
  fitsDeviceType,
  type InstallRefusal,
  type InstallTarget,
  isSigned,
  toFirmwareView,
} from '../../../../lambdas/domain/firmware/metadata.ts';

/** 2.0.0 for trackers and gateways, installable from 1.5.0 on, signed and available. */
const available: FirmwareMetadata = {
  version: '2.0.0',
  deviceTypes: ['tracker', 'gateway'],
  minVersion: '1.5.0',
  size: 1024,
  sha256: 'a'.repeat(64),
  status: 'available',
  registeredAt: Date.UTC(2026, 10, 1),
  upload: { mode: 'single' },
  manifest: {
    purpose: 'firmware',
    version: '2.0.0',
    sha256: 'a'.repeat(64),
    size: 1024,
    deviceTypes: ['tracker', 'gateway'],
    minVersion: '1.5.0',
    securityVersion: 0,
    issuedAt: 1_793_491_500,
    expiresAt: 1_825_027_500,
  },
  envelope: {
    payloadType: 'application/vnd.fleetkit.statement+json',
    payload: 'e30=',
    signatures: [{ keyid: 'arn:aws:kms:eu-west-1:111122223333:key/k', sig: 'MEUCIQ==' }],
  },
  uploadedAt: Date.UTC(2026, 10, 1, 0, 5),
};
const withoutMinimum: FirmwareMetadata = { ...available, version: '2.1.0', minVersion: undefined };

describe('checkInstall', () => {
  it.each<[string, FirmwareMetadata, InstallTarget, { rollback?: boolean }, InstallRefusal | 'ok']>([
    [
      'an upgrade from a version at the minimum',
      available,
      { deviceType: 'tracker', firmwareVersion: '1.5.0' },
      {},
      'ok',
    ],
    [
      'an upgrade from a pre-release of the next minor',
      available,
      { deviceType: 'gateway', firmwareVersion: '1.6.0-rc.1' },
      {},
      'ok',
    ],
    [
      'an image that is pending upload',
      { ...available, status: 'pending-upload' },
      { deviceType: 'tracker', firmwareVersion: '1.9.0' },
      {},
      'not-available',
    ],
    [
      'a withdrawn image, even for a rollback',
      { ...available, status: 'withdrawn' },
      { deviceType: 'tracker', firmwareVersion: '3.0.0' },
      { rollback: true },
      'not-available',
    ],
    ['another device type', available, { deviceType: 'lamp', firmwareVersion: '1.9.0' }, {}, 'device-type'],
    [
      'a device below minVersion',
      available,
      { deviceType: 'tracker', firmwareVersion: '1.4.9' },
      {},
      'below-min-version',
    ],
    [
      'a pre-release of the minimum (it ranks below it)',
      available,
      { deviceType: 'tracker', firmwareVersion: '1.5.0-rc.2' },
      {},
      'below-min-version',
    ],
    [
      'the version the device runs',
      available,
      { deviceType: 'tracker', firmwareVersion: '2.0.0' },
      {},
      'already-installed',
    ],
    [
      'the same version with other build metadata',
      available,
      { deviceType: 'tracker', firmwareVersion: '2.0.0+b7' },
      {},
      'already-installed',
    ],
    ['an older image', available, { deviceType: 'tracker', firmwareVersion: '2.0.1' }, {}, 'downgrade'],
    [
      'an older image as a rollback',
      available,
      { deviceType: 'tracker', firmwareVersion: '2.0.1' },
      { rollback: true },
      'ok',
    ],
    [
      'a device that never reported a version, image without minimum',
      withoutMinimum,
      { deviceType: 'tracker' },
      {},
      'ok',
    ],
    [
      'a device that never reported a version, image with a minimum',
      available,
      { deviceType: 'tracker' },
      {},
      'below-min-version',
    ],
  ])('%s', (_rule, firmware, device, options, expected) => {
    // Act
    const result = checkInstall(firmware, device, options);
    // Assess
    expect(result.ok ? 'ok' : result.reason).toBe(expected);
    if (!result.ok) expect(result.message).toContain(firmware.version);
  });
});

describe('the checks on their own', () => {
  it.each([
    ['tracker', true],
    ['gateway', true],
    ['Tracker', false],
  ])('fitsDeviceType(%s) is %s: device types are exact names', (type, fits) => {
    expect(fitsDeviceType(available, type)).toBe(fits);
  });

  it.each([
    ['1.4.99', false],
    ['1.5.0', true],
    ['10.0.0', true],
  ])('canUpgradeFrom(%s) is %s for minVersion 1.5.0', (current, can) => {
    expect(canUpgradeFrom(available, current)).toBe(can);
    expect(canUpgradeFrom(withoutMinimum, current)).toBe(true);
  });

  it('knows an image as signed only with its manifest, envelope and upload time', () => {
    expect(isSigned(available)).toBe(true);
    expect(isSigned({ ...available, envelope: undefined })).toBe(false);
    expect(isSigned({ ...available, manifest: undefined })).toBe(false);
  });
});

describe('toFirmwareView', () => {
  it('shows ISO times, no upload bookkeeping, no absent fields', () => {
    expect(
      toFirmwareView({
        ...withoutMinimum,
        upload: { mode: 'multipart', uploadId: 'u', partSize: 5 },
        manifest: undefined,
      }),
    ).toEqual({
      version: '2.1.0',
      deviceTypes: ['tracker', 'gateway'],
      size: 1024,
      sha256: 'a'.repeat(64),
      securityVersion: 0,
      envelope: available.envelope,
      signature: 'MEUCIQ==',
      signatureAlgorithm: 'ECDSA_SHA_256',
      keyId: 'arn:aws:kms:eu-west-1:111122223333:key/k',
      status: 'available',
      registeredAt: '2026-11-01T00:00:00.000Z',
      uploadedAt: '2026-11-01T00:05:00.000Z',
    });
  });
});
