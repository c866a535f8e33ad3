import { describe, expect, it } from 'vitest';
import type { StoredDelta } from '../../../lambdas/domain/firmware/delta.ts';
import type { FirmwareMetadata } from '../../../lambdas/domain/firmware/metadata.ts';
import type { FirmwareCatalog, FirmwareStore } from '../../../lambdas/domain/firmware/ports.ts';
import { firmwareForDevice, jobDocumentFirmware } from '../../../lambdas/services/firmware-downloads.ts';

/**
 * Which deltas a job document offers (issue 12, step 5): the verified one from the version the
 * execution found the device on, with its own presigned URL; none for another version, none for a
 * model. In-memory catalog and a store that names what it presigns (the S3 adapters are tested against
 * the local platform elsewhere).
 */

const delta = (fromVersion: string): StoredDelta => ({
  format: 'vcdiff',
  fromVersion,
  fromSha256: 'b'.repeat(64),
  size: 40,
  sha256: 'c'.repeat(64),
  key: `deltas/1.2.0/from-${fromVersion}`,
  objectVersion: `v-${fromVersion}`,
  verifiedAt: 0,
});
const image: FirmwareMetadata = {
  version: '1.2.0',
  deviceTypes: ['tracker'],
  size: 4096,
  sha256: 'a'.repeat(64),
  status: 'available',
  registeredAt: 0,
  upload: { mode: 'single' },
  manifest: {
    purpose: 'firmware',
    version: '1.2.0',
    sha256: 'a'.repeat(64),
    size: 4096,
    deviceTypes: ['tracker'],
    securityVersion: 0,
    issuedAt: 0,
    expiresAt: 1,
  },
  envelope: { payloadType: 'x', payload: 'e30=', signatures: [{ keyid: 'k', sig: 's' }] },
  uploadedAt: 1,
  deltas: { '1.0.0': delta('1.0.0'), '1.1.0': delta('1.1.0') },
};
const catalog = {
  get: async (version: string) => (version === '1.2.0' ? image : undefined),
} as unknown as FirmwareCatalog;
const presigning = (prefix: string) =>
  ({
    presignDownload: async (id: string, objectVersion: string | undefined) => ({
      url: `https://s3.example/${prefix}${id}?versionId=${objectVersion}`,
      expiresAt: 900,
    }),
  }) as unknown as FirmwareStore;
const deps = {
  catalog,
  store: presigning('images/'),
  deltas: presigning('deltas/'),
  downloadUrlSeconds: 900,
};

describe('firmwareForDevice and jobDocumentFirmware', () => {
  it.each<[string, string | undefined, string[]]>([
    ['a device on 1.1.0 is offered the delta from 1.1.0 only', '1.1.0', ['1.1.0']],
    ['a device on 1.0.0 the one from 1.0.0', '1.0.0', ['1.0.0']],
    ['a device on a version without a delta none', '0.9.0', []],
    ['an execution that does not say none', undefined, []],
  ])('%s', async (_name, previousVersion, offered) => {
    // Act
    const block = jobDocumentFirmware(await firmwareForDevice(deps, '1.2.0', 'firmware', previousVersion));
    // Assess
    expect((block.deltas ?? []).map((d) => d.fromVersion)).toEqual(offered);
    for (const d of block.deltas ?? [])
      expect(d).toEqual({
        format: 'vcdiff',
        fromVersion: d.fromVersion,
        fromSha256: 'b'.repeat(64),
        size: 40,
        sha256: 'c'.repeat(64),
        url: `https://s3.example/deltas/1.2.0/from-${d.fromVersion}?versionId=v-${d.fromVersion}`,
        urlExpiresAt: 900,
      });
    expect(block.url).toBe('https://s3.example/images/1.2.0?versionId=undefined');
  });

  it('offers no delta in a model job document, nor where the function has no delta store', async () => {
    // Act
    const model = await firmwareForDevice(deps, '1.2.0', 'model', '1.1.0');
    const withoutStore = await firmwareForDevice(
      { ...deps, deltas: undefined },
      '1.2.0',
      'firmware',
      '1.1.0',
    );
    // Assess
    expect(model.deltas).toEqual([]);
    expect(jobDocumentFirmware(withoutStore)).not.toHaveProperty('deltas');
  });
});
