import { describe, expect, it } from 'vitest';
import type { FirmwareJobDocument } from '../../../../lib/protocol/jobs.ts';
import { manifestPayload } from '../../../../lib/protocol/manifest.ts';
import {
  BASE_TIME,
  DeviceHarness,
  FakeDownloader,
  FakeJobsService,
  firmwareDocument,
  makeImage,
  makeKey,
} from './support.ts';

/**
 * Issue 12: the signature covers a canonical manifest, and changing any field of a job document makes
 * the device refuse it — before it downloads a byte — naming the field in the job's status details.
 */

const key = makeKey('fleetkit-firmware');
const stranger = makeKey('fleetkit-firmware');
const image = makeImage(4 * 1024);
const good = firmwareDocument(image, key);
const now = Math.floor(BASE_TIME / 1000);

type Tamper = (document: FirmwareJobDocument) => FirmwareJobDocument;

/** Changes one readable manifest field, leaving the signed bytes as they were. */
const readable =
  (field: string, value: unknown): Tamper =>
  (document) => ({
    ...document,
    firmware: { ...document.firmware, manifest: { ...document.firmware.manifest, [field]: value } },
  });

/** Changes the signed envelope. */
const envelope =
  (change: (e: FirmwareJobDocument['firmware']['envelope']) => object): Tamper =>
  (document) => ({
    ...document,
    firmware: {
      ...document.firmware,
      envelope: { ...document.firmware.envelope, ...change(document.firmware.envelope) },
    },
  });

/** Each row: a field, how it is changed, and the reason and field the device must report. */
const tampered: Array<[string, Tamper, string, string]> = [
  ['purpose', readable('purpose', 'model'), 'manifest', 'firmware.manifest.purpose'],
  ['version', readable('version', '2.0.1'), 'manifest', 'firmware.manifest.version'],
  ['sha256', readable('sha256', 'ab'.repeat(32)), 'manifest', 'firmware.manifest.sha256'],
  ['size', readable('size', image.length + 1), 'manifest', 'firmware.manifest.size'],
  [
    'deviceTypes',
    readable('deviceTypes', ['tracker', 'gateway']),
    'manifest',
    'firmware.manifest.deviceTypes',
  ],
  ['minVersion (added)', readable('minVersion', '0.9.0'), 'manifest', 'firmware.manifest.minVersion'],
  ['securityVersion', readable('securityVersion', 7), 'manifest', 'firmware.manifest.securityVersion'],
  ['issuedAt', readable('issuedAt', now - 120), 'manifest', 'firmware.manifest.issuedAt'],
  ['expiresAt', readable('expiresAt', now + 400 * 86_400), 'manifest', 'firmware.manifest.expiresAt'],
  [
    'payload (another manifest, same signature)',
    envelope(() => ({
      payload: Buffer.from(manifestPayload({ ...good.firmware.manifest, version: '9.9.9' })).toString(
        'base64',
      ),
    })),
    'signature',
    'firmware.envelope',
  ],
  [
    'payloadType',
    envelope(() => ({ payloadType: 'application/json' })),
    'signature',
    'firmware.envelope.payloadType',
  ],
  [
    'signature keyid',
    envelope((e) => ({ signatures: e.signatures.map((s) => ({ ...s, keyid: 'fleetkit-other' })) })),
    'signature',
    'firmware.envelope.signatures',
  ],
  [
    'signature bytes (a valid signature of another manifest)',
    envelope(() => ({
      signatures: firmwareDocument(image, key, { version: '9.9.9' }).firmware.envelope.signatures,
    })),
    'signature',
    'firmware.envelope',
  ],
  [
    'everything re-signed by a key the device does not trust under the trusted id',
    () => firmwareDocument(image, stranger, { version: '2.0.1' }),
    'signature',
    'firmware.envelope',
  ],
];

async function refusedBeforeDownload(document: unknown) {
  const service = new FakeJobsService();
  const downloader = new FakeDownloader(image);
  const device = new DeviceHarness({ service, downloader, key });
  await device.powerOn();
  service.addJob('job-1', document);
  await device.finish('job-1');
  return { service, downloader, device };
}

describe('a tampered job document is refused before anything is downloaded, naming the field', () => {
  it.each(tampered)('%s → REJECTED %s at %s', async (_name, tamper, reason, field) => {
    // Act
    const { service, downloader, device } = await refusedBeforeDownload(tamper(good));
    // Assess
    expect(service.statusOf('job-1')).toBe('REJECTED');
    expect(service.detailsOf('job-1')).toMatchObject({ step: 'verifying', reason, field });
    expect(downloader.requests).toHaveLength(0);
    expect(device.slots.contents('b')).toHaveLength(0);
  });

  it('the untampered document installs (so each refusal above is the tampering)', async () => {
    // Prepare
    const service = new FakeJobsService();
    const device = new DeviceHarness({ service, downloader: new FakeDownloader(image), key });
    await device.powerOn();
    // Act
    service.addJob('job-1', good);
    await device.finish('job-1');
    // Assess
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
  });

  it('a readable copy whose keys are in another order is the same manifest (RFC 8785)', async () => {
    // Prepare
    const reordered = Object.fromEntries(Object.entries(good.firmware.manifest).reverse());
    const service = new FakeJobsService();
    const device = new DeviceHarness({ service, downloader: new FakeDownloader(image), key });
    await device.powerOn();
    // Act
    service.addJob('job-1', { ...good, firmware: { ...good.firmware, manifest: reordered } });
    await device.finish('job-1');
    // Assess
    expect(service.statusOf('job-1')).toBe('SUCCEEDED');
  });
});

/** Each row: a manifest signed by the trusted key that this device may still not install. */
const notForThisDevice: Array<[string, Parameters<typeof firmwareDocument>[2], string, string]> = [
  [
    'built for another device type',
    { deviceTypes: ['gateway'] },
    'device-type',
    'firmware.manifest.deviceTypes',
  ],
  ['expired (a freeze attack replays it)', { expiresAt: now - 1 }, 'expired', 'firmware.manifest.expiresAt'],
  ['issued in the future', { issuedAt: now + 3600 }, 'expired', 'firmware.manifest.issuedAt'],
  ['needs a newer running version', { minVersion: '1.5.0' }, 'min-version', 'firmware.manifest.minVersion'],
  ['a model manifest in a firmware job', { purpose: 'model' }, 'manifest', 'firmware.manifest.purpose'],
];

describe('a validly signed manifest that does not fit this device is refused', () => {
  it.each(notForThisDevice)('%s → REJECTED %s at %s', async (_name, overrides, reason, field) => {
    // Act
    const { service, downloader } = await refusedBeforeDownload(firmwareDocument(image, key, overrides));
    // Assess
    expect(service.statusOf('job-1')).toBe('REJECTED');
    expect(service.detailsOf('job-1')).toMatchObject({ reason, field });
    expect(downloader.requests).toHaveLength(0);
  });
});
