import { describe, expect, it } from 'vitest';
import { rollbackGrant } from '../../../../lambdas/domain/rollout/rollback-grant.ts';
import type { FirmwareJobDocument } from '../../../../lib/protocol/jobs.ts';
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
  THING,
  trustOf,
} from './support.ts';

/**
 * Issue 12, anti-rollback: the device keeps the highest securityVersion it committed and refuses
 * anything lower — an old signed job document, an old image — unless a rollback job signed by the
 * service for this rollout, this job and this device says otherwise, within its validity.
 */

const firmwareKey = makeKey('firmware-key');
const rollbackKey = makeKey('rollback-key');
/** A device that trusts each key for its own purpose only. */
const trust = () => ({
  ...trustOf([firmwareKey], ['firmware']),
  keySet: {
    ...trustOf([firmwareKey], ['firmware']).keySet,
    keys: [
      ...trustOf([firmwareKey], ['firmware']).keySet.keys,
      ...trustOf([rollbackKey], ['rollback']).keySet.keys,
    ],
  },
});

const oldImage = makeImage(3000, 'old');
const newImage = makeImage(3000, 'new');
const oldDocument = firmwareDocument(oldImage, firmwareKey, { version: '1.5.0', securityVersion: 1 });
const newDocument = firmwareDocument(newImage, firmwareKey, { version: '2.0.0', securityVersion: 2 });

/** A device that committed 2.0.0 (securityVersion 2) through job `up`. */
async function updatedDevice() {
  const service = new FakeJobsService();
  const downloader = new FakeDownloader(newImage);
  downloader.routes.set('https://firmware.example/old.bin', oldImage);
  const device = new DeviceHarness({ service, downloader, key: firmwareKey, trust: trust() });
  await device.powerOn();
  service.addJob('up', newDocument);
  await device.finish('up');
  expect(service.statusOf('up')).toBe('SUCCEEDED');
  return { service, downloader, device };
}

/** A rollback job document for `things`, signed with `key` as the scheduler signs one. */
function rollbackDocument(
  jobId: string,
  things: readonly string[],
  options: {
    key?: TestKey;
    rolloutId?: string;
    nowMs?: number;
    validity?: number;
    version?: FirmwareJobDocument;
  } = {},
): FirmwareJobDocument {
  const target = options.version ?? oldDocument;
  const grant = rollbackGrant(
    {
      rolloutId: options.rolloutId ?? 'rollout-2',
      jobId,
      target: 'firmware',
      version: target.firmware.manifest.version,
      sha256: target.firmware.manifest.sha256,
      things,
    },
    options.nowMs ?? BASE_TIME,
    options.validity,
  );
  const proof = grant.proofs.get(THING) ?? grant.proofs.values().next().value;
  if (proof === undefined) throw new Error('no proof');
  return {
    ...target,
    rolloutId: 'rollout-2',
    firmware: { ...target.firmware, url: 'https://firmware.example/old.bin' },
    rollback: { ...signManifest(grant.manifest, options.key ?? rollbackKey), proof },
  };
}

describe('anti-rollback', () => {
  it('the floor rises to the committed securityVersion', async () => {
    const { device } = await updatedDevice();
    expect(device.trustStore.peek().floors.firmware).toBe(2);
  });

  it('a replayed old signed job document is refused before any download', async () => {
    // Prepare
    const { service, downloader, device } = await updatedDevice();
    const requests = downloader.requests.length;
    // Act
    service.addJob('replay', {
      ...oldDocument,
      firmware: { ...oldDocument.firmware, url: 'https://firmware.example/old.bin' },
    });
    await device.finish('replay');
    // Assess
    expect(service.statusOf('replay')).toBe('REJECTED');
    expect(service.detailsOf('replay')).toMatchObject({
      reason: 'anti-rollback',
      field: 'firmware.manifest.securityVersion',
    });
    expect(downloader.requests).toHaveLength(requests);
    expect((await device.slots.bootState()).versions).toMatchObject({ b: '2.0.0' });
  });

  it('an old image served under a current manifest fails its SHA-256 and is never installed', async () => {
    // Prepare
    const { service, device } = await updatedDevice();
    const current = firmwareDocument(newImage, firmwareKey, { version: '2.0.1', securityVersion: 2 });
    // Act
    service.addJob('swap', {
      ...current,
      firmware: { ...current.firmware, url: 'https://firmware.example/old.bin' },
    });
    await device.finish('swap');
    // Assess
    expect(service.statusOf('swap')).toBe('FAILED');
    expect(service.detailsOf('swap')).toMatchObject({ reason: 'sha256' });
    expect((await device.slots.bootState()).committed).toBe('b');
  });

  it('a rollback job signed for this device, rollout and job goes back, and cannot be replayed', async () => {
    // Prepare
    const { service, device } = await updatedDevice();
    const rollback = rollbackDocument('rollout-2-rollback-0', [THING, 'dev-2', 'dev-3']);
    // Act
    service.addJob('rollout-2-rollback-0', rollback);
    await device.finish('rollout-2-rollback-0');
    // Assess: back on 1.5.0, the floor still 2, the authorization remembered
    expect(service.statusOf('rollout-2-rollback-0')).toBe('SUCCEEDED');
    const boot = await device.slots.bootState();
    expect(boot.versions[boot.committed]).toBe('1.5.0');
    expect(device.trustStore.peek().floors.firmware).toBe(2);
    expect(device.trustStore.peek().usedRollbacks).toHaveLength(1);

    // Act: forward again, then the same rollback job replayed under its own id
    service.addJob(
      'up-again',
      firmwareDocument(newImage, firmwareKey, { version: '2.0.0', securityVersion: 2 }),
    );
    await device.finish('up-again');
    service.executions.delete('rollout-2-rollback-0');
    service.addJob('rollout-2-rollback-0', rollback);
    await device.finish('rollout-2-rollback-0');
    // Assess
    expect(service.statusOf('rollout-2-rollback-0')).toBe('REJECTED');
    expect(service.detailsOf('rollout-2-rollback-0')).toMatchObject({
      reason: 'rollback-authorization',
      field: 'rollback.envelope',
    });
  });

  /** Each row: a rollback job this device must refuse, and the field it names. */
  const refused: Array<[string, string, () => FirmwareJobDocument, string, string]> = [
    [
      "another device's rollback job",
      'rollout-2-rollback-0',
      () => rollbackDocument('rollout-2-rollback-0', ['dev-2', 'dev-3']),
      'rollback-authorization',
      'rollback.proof',
    ],
    [
      'an authorization for another job, replayed into this one',
      'rollout-9-rollback-0',
      () => rollbackDocument('rollout-2-rollback-0', [THING]),
      'rollback-authorization',
      'rollback.manifest.jobId',
    ],
    [
      'an authorization past its validity',
      'rollout-2-rollback-0',
      () => rollbackDocument('rollout-2-rollback-0', [THING], { nowMs: BASE_TIME - 20 * 86_400_000 }),
      'expired',
      'rollback.manifest.expiresAt',
    ],
    [
      'an authorization signed by the firmware key (not trusted for rollbacks)',
      'rollout-2-rollback-0',
      () => rollbackDocument('rollout-2-rollback-0', [THING], { key: firmwareKey }),
      'signature',
      'rollback.envelope.signatures',
    ],
    [
      'an authorization for another image',
      'rollout-2-rollback-0',
      () => ({
        ...rollbackDocument('rollout-2-rollback-0', [THING]),
        firmware: firmwareDocument(makeImage(3000, 'other'), firmwareKey, {
          version: '1.4.0',
          securityVersion: 1,
        }).firmware,
      }),
      'rollback-authorization',
      'rollback.manifest.version',
    ],
  ];

  it.each(refused)(
    '%s (job %s) → REJECTED, still on 2.0.0',
    async (_name, jobId, document, reason, field) => {
      // Prepare
      const { service, device } = await updatedDevice();
      // Act
      service.addJob(jobId, document());
      await device.finish(jobId);
      // Assess
      expect(service.statusOf(jobId)).toBe('REJECTED');
      expect(service.detailsOf(jobId)).toMatchObject({ reason, field });
      const boot = await device.slots.bootState();
      expect(boot.versions[boot.committed]).toBe('2.0.0');
    },
  );
});
