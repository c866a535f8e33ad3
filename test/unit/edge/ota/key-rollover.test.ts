import { describe, expect, it } from 'vitest';
import { publicKeyBase64 } from '../../../../edge/src/ota/trust-store.ts';
import type { FirmwareJobDocument } from '../../../../lib/protocol/jobs.ts';
import type { KeySetManifest } from '../../../../lib/protocol/manifest.ts';
import {
  BASE_TIME,
  DeviceHarness,
  FakeDownloader,
  FakeJobsService,
  firmwareDocument,
  makeImage,
  makeKey,
  signManifest,
  type TestKey,
} from './support.ts';

/**
 * Issue 12: a device trusts a key set that rotates by a signed key-rollover document. Every job
 * document may carry the service's current set; the device adopts a newer one that a key it trusts
 * for `keyset` signed, before it checks anything else.
 */

const root = makeKey('root-1');
const oldFirmware = makeKey('firmware-1');
const newFirmware = makeKey('firmware-2');
const image = makeImage(2048);

const entry = (key: TestKey, purposes: KeySetManifest['keys'][number]['purposes']) => ({
  keyid: key.keyId,
  purposes,
  publicKey: publicKeyBase64(key.publicKeyPem),
});

/** The set a device starts with: the root and the first firmware key. */
const provisioned = {
  purpose: 'keyset' as const,
  version: 0,
  keys: [entry(root, ['keyset']), entry(oldFirmware, ['firmware'])],
  issuedAt: 0,
};

const keySet = (version: number, keys: KeySetManifest['keys'], signer: TestKey) =>
  signManifest<KeySetManifest>(
    { purpose: 'keyset', version, keys, issuedAt: Math.floor(BASE_TIME / 1000) },
    signer,
  );

async function run(document: FirmwareJobDocument) {
  const service = new FakeJobsService();
  const device = new DeviceHarness({
    service,
    downloader: new FakeDownloader(image),
    key: oldFirmware,
    trust: { keySet: provisioned, floors: { firmware: 0, model: 0 }, usedRollbacks: [] },
  });
  await device.powerOn();
  service.addJob('job-1', document);
  await device.finish('job-1');
  return { service, device };
}

describe('key rollover', () => {
  it('adopts a newer set signed by its root, then verifies a manifest signed by the new key', async () => {
    // Prepare: the firmware key rotated; the set keeps the old one too.
    const rollover = keySet(
      1,
      [entry(root, ['keyset']), entry(oldFirmware, ['firmware']), entry(newFirmware, ['firmware'])],
      root,
    );
    // Act
    const { service, device } = await run({ ...firmwareDocument(image, newFirmware), keys: rollover });
    // Assess
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
    expect(device.trustStore.peek().keySet.version).toBe(1);
  });

  it('without the rollover, a manifest signed by the new key is refused', async () => {
    const { service } = await run(firmwareDocument(image, newFirmware));
    expect(service.statusOf('job-1')).toBe('REJECTED');
    expect(service.detailsOf('job-1')).toMatchObject({
      reason: 'signature',
      field: 'firmware.envelope.signatures',
    });
  });

  it('refuses a newer set not signed by a key it trusts for keyset (a firmware key cannot re-key the device)', async () => {
    // Prepare
    const forged = keySet(
      1,
      [entry(oldFirmware, ['keyset', 'firmware']), entry(newFirmware, ['firmware'])],
      oldFirmware,
    );
    // Act
    const { service, device } = await run({ ...firmwareDocument(image, newFirmware), keys: forged });
    // Assess
    expect(service.statusOf('job-1')).toBe('REJECTED');
    expect(service.detailsOf('job-1')).toMatchObject({
      reason: 'key-set',
      field: 'keys.envelope.signatures',
    });
    expect(device.trustStore.peek().keySet.version).toBe(0);
  });

  it('ignores a set no newer than its own (a replayed old rollover cannot undo a retirement)', async () => {
    // Prepare: a set of the same version, signed by the root, that would add the new key.
    const stale = keySet(0, [entry(root, ['keyset']), entry(newFirmware, ['firmware'])], root);
    // Act
    const { service, device } = await run({ ...firmwareDocument(image, newFirmware), keys: stale });
    // Assess
    expect(service.statusOf('job-1')).toBe('REJECTED');
    expect(device.trustStore.peek().keySet).toEqual(provisioned);
  });

  it('moves to a new root when the current root signed the set that names it', async () => {
    // Prepare
    const newRoot = makeKey('root-2');
    const toNewRoot = keySet(1, [entry(newRoot, ['keyset']), entry(oldFirmware, ['firmware'])], root);
    const byNewRoot = keySet(2, [entry(newRoot, ['keyset']), entry(newFirmware, ['firmware'])], newRoot);
    // Act: two jobs, each carrying the next rollover.
    const { service, device } = await run({ ...firmwareDocument(image, oldFirmware), keys: toNewRoot });
    service.addJob('job-2', {
      ...firmwareDocument(image, newFirmware, { version: '2.1.0' }),
      keys: byNewRoot,
    });
    await device.finish('job-2');
    // Assess: the old root and the old firmware key are no longer trusted.
    expect([service.statusOf('job-1'), service.statusOf('job-2')]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(device.trustStore.peek().keySet.keys.map((k) => k.keyid)).toEqual(['root-2', 'firmware-2']);
  });
});
