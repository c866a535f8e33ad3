import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeOnnxModel } from '../../../../edge/model/onnx-writer.ts';
import { AnomalyDetector } from '../../../../edge/src/ml/anomaly-detector.ts';
import {
  DetectorModelInstaller,
  ModelStore,
  resolveStartupModel,
} from '../../../../edge/src/ml/model-store.ts';
import type {
  Downloader,
  DownloadRequest,
  DownloadResponse,
  ModelInstaller,
} from '../../../../edge/src/ota/ports.ts';
import { COMMITTED_MODEL_PATH, committedSource, randomMlp, specOf } from '../ml/support.ts';
import {
  DeviceHarness,
  FakeDownloader,
  FakeJobsService,
  MODEL_URL,
  makeKey,
  modelDocument,
  type TestKey,
  until,
} from './support.ts';

/**
 * Model-update jobs end to end on the device side: the OTA agent with the fake Jobs service, a real
 * ModelStore on a temp directory and a real AnomalyDetector serving the committed model (1.0.0).
 */

const JOB = 'model-job-1';
const key = makeKey('fleetkit-test-1');
const stranger = makeKey('fleetkit-test-1');

/** A valid model that declares `version` in its ONNX metadata (an untrained MLP, seeded). */
const modelBytes = (version: string, seed = `model-${version}`) =>
  Buffer.from(encodeOnnxModel(specOf(randomMlp(seed), version)));

let dir: string;
let store: ModelStore;
let detector: AnomalyDetector;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetkit-model-ota-'));
  store = new ModelStore(dir);
  detector = await AnomalyDetector.load(await committedSource());
});

afterEach(async () => {
  await detector.close();
  await rm(dir, { recursive: true, force: true });
});

/** A device whose agent installs models into `store` and `detector` (through a holder, so a restart can replace them). */
function device(
  service: FakeJobsService,
  downloader: Downloader,
  holder: { installer: ModelInstaller | undefined },
  trusted: TestKey = key,
): DeviceHarness {
  const models: ModelInstaller = {
    servingVersion: () => holder.installer?.servingVersion(),
    staging: (version) => (holder.installer as ModelInstaller).staging(version),
    install: (model, signal) => (holder.installer as ModelInstaller).install(model, signal),
  };
  return new DeviceHarness({
    service,
    downloader,
    key: trusted,
    extra: holder.installer === undefined ? {} : { models },
  });
}

async function runJob(
  document: unknown,
  served: Buffer,
  options: { installer?: boolean } = {},
): Promise<{ service: FakeJobsService; downloader: FakeDownloader; harness: DeviceHarness }> {
  const service = new FakeJobsService();
  const downloader = new FakeDownloader(served);
  const harness = device(service, downloader, {
    installer: options.installer === false ? undefined : new DetectorModelInstaller({ store, detector }),
  });
  await harness.powerOn();
  service.addJob(JOB, document);
  await harness.finish(JOB);
  return { service, downloader, harness };
}

describe('model-update job', () => {
  it('installs a good signed model: SUCCEEDED, the detector serves it, current.json names it, firmware untouched', async () => {
    // Prepare
    const bytes = modelBytes('1.1.0');

    // Act
    const { service, harness } = await runJob(modelDocument(bytes, key), bytes);

    // Assess
    expect(service.statusOf(JOB)).toBe('SUCCEEDED');
    expect(service.detailsOf(JOB)).toMatchObject({ step: 'committed', modelVersion: '1.1.0' });
    const steps = service.updatesOf(JOB).map((u) => u.details.step);
    expect(steps).toEqual(expect.arrayContaining(['downloading', 'verifying', 'installing', 'committed']));
    expect(detector.info.version).toBe('1.1.0');
    const startup = await resolveStartupModel(store, committedSource);
    expect(startup).toMatchObject({ origin: 'installed', source: { version: '1.1.0' } });
    expect(await readFile(startup.source.path)).toEqual(bytes);
    expect(await harness.slots.bootState()).toEqual({
      booted: 'a',
      committed: 'a',
      versions: { a: '1.0.0' },
    });
    expect(harness.boots).toBe(1);
    expect(harness.stateStore.peek()).toEqual({ phase: 'idle' });
  });

  it('fails verification on tampered bytes: nothing installed, the old model serves, the staging file is gone', async () => {
    // Prepare
    const bytes = modelBytes('1.1.0');
    const tampered = Buffer.from(bytes);
    tampered[tampered.length - 20] = (tampered[tampered.length - 20] ?? 0) ^ 0x01;

    // Act
    const { service } = await runJob(modelDocument(bytes, key), tampered);

    // Assess
    expect(service.statusOf(JOB)).toBe('FAILED');
    expect(service.detailsOf(JOB)).toMatchObject({ step: 'verifying', reason: 'verification' });
    expect(service.detailsOf(JOB).detail).toMatch(/^sha256: /);
    expect(detector.info.version).toBe('1.0.0');
    expect(await store.current()).toBeUndefined();
    expect(existsSync(join(dir, 'incoming', '1.1.0.onnx.part'))).toBe(false);
    expect(existsSync(store.pathOf('1.1.0'))).toBe(false);
  });

  /** Each row: a job the agent refuses before downloading anything, and the status and reason it reports. */
  const refusedUpFront: Array<[string, (bytes: Buffer) => unknown, string, Record<string, string>]> = [
    [
      'a signature by a key the device does not trust (same keyId)',
      (bytes) => modelDocument(bytes, stranger),
      'REJECTED',
      { step: 'verifying', reason: 'signature', field: 'model.envelope' },
    ],
    [
      'an unknown keyId',
      (bytes) => modelDocument(bytes, { ...key, keyId: 'fleetkit-other' }),
      'REJECTED',
      { step: 'verifying', reason: 'signature', field: 'model.envelope.signatures' },
    ],
    [
      'a readable digest other than the signed one',
      (bytes) => {
        const document = modelDocument(bytes, key);
        return {
          ...document,
          model: { ...document.model, manifest: { ...document.model.manifest, sha256: 'ab'.repeat(32) } },
        };
      },
      'REJECTED',
      { step: 'verifying', reason: 'manifest', field: 'model.manifest.sha256' },
    ],
    [
      'a firmware manifest sent as a model',
      (bytes) => modelDocument(bytes, key, { purpose: 'firmware' }),
      'REJECTED',
      { step: 'verifying', reason: 'manifest', field: 'model.manifest.purpose' },
    ],
    [
      'a version that is not a semantic version',
      (bytes) => modelDocument(bytes, key, { version: '../../etc/passwd' }),
      'REJECTED',
      { reason: 'invalid-job-document' },
    ],
    [
      'an unknown operation',
      (bytes) => ({ ...modelDocument(bytes, key), operation: 'model-delete' }),
      'REJECTED',
      { reason: 'invalid-job-document' },
    ],
  ];

  it.each(refusedUpFront)('refuses %s without downloading', async (_name, makeDocument, status, reported) => {
    // Prepare
    const bytes = modelBytes('1.1.0');

    // Act
    const { service, downloader } = await runJob(makeDocument(bytes), bytes);

    // Assess
    expect(service.statusOf(JOB)).toBe(status);
    expect(service.detailsOf(JOB)).toMatchObject(reported);
    expect(downloader.requests).toHaveLength(0);
    expect(detector.info.version).toBe('1.0.0');
    expect(await store.current()).toBeUndefined();
  });

  it('is REJECTED by an agent without a model installer, without downloading', async () => {
    // Prepare
    const bytes = modelBytes('1.1.0');

    // Act
    const { service, downloader } = await runJob(modelDocument(bytes, key), bytes, { installer: false });

    // Assess
    expect(service.statusOf(JOB)).toBe('REJECTED');
    expect(service.detailsOf(JOB)).toMatchObject({ reason: 'unsupported-operation', modelVersion: '1.1.0' });
    expect(downloader.requests).toHaveLength(0);
  });

  /** Each row: a correctly signed file the detector refuses, and the detector's reason. */
  const refusedByDetector: Array<[string, () => Buffer, string]> = [
    [
      'a model trained on another feature set',
      () => {
        const spec = specOf(randomMlp('other-features'), '1.1.0');
        return Buffer.from(
          encodeOnnxModel({
            ...spec,
            properties: { ...spec.properties, 'fleetkit.feature_set': 'other-v9' },
          }),
        );
      },
      'incompatible',
    ],
    ['bytes that are not ONNX', () => Buffer.from('0b'.repeat(512), 'hex'), 'malformed'],
    ['a model that declares 1.2.0 delivered as 1.1.0', () => modelBytes('1.2.0'), 'version-mismatch'],
  ];

  it.each(refusedByDetector)(
    'fails with model-rejected for %s; the old model keeps serving',
    async (_name, makeFile, reason) => {
      // Prepare
      const bytes = makeFile();

      // Act
      const { service, downloader } = await runJob(modelDocument(bytes, key), bytes);

      // Assess
      expect(downloader.requests.length).toBeGreaterThan(0);
      expect(service.statusOf(JOB)).toBe('FAILED');
      expect(service.detailsOf(JOB)).toMatchObject({
        step: 'installing',
        reason: `model-rejected: ${reason}`,
      });
      expect(detector.info.version).toBe('1.0.0');
      expect(await store.current()).toBeUndefined();
      expect(existsSync(store.pathOf('1.1.0'))).toBe(false);
    },
  );

  it('succeeds without a download when the version already serves', async () => {
    // Prepare
    const committed = await readFile(COMMITTED_MODEL_PATH);

    // Act
    const { service, downloader } = await runJob(
      modelDocument(committed, key, { version: '1.0.0' }),
      committed,
    );

    // Assess
    expect(service.statusOf(JOB)).toBe('SUCCEEDED');
    expect(service.detailsOf(JOB)).toMatchObject({ step: 'committed', modelVersion: '1.0.0' });
    expect(downloader.requests).toHaveLength(0);
  });

  it('after a restart mid-download serves the factory model, then re-runs the job from start-next and resumes the file', async () => {
    // Prepare
    const bytes = modelBytes('1.1.0');
    const half = Math.floor(bytes.length / 2);
    const requests: DownloadRequest[] = [];
    // First request: half the file, then the connection hangs until the agent stops.
    const downloader: Downloader = {
      async get(request): Promise<DownloadResponse> {
        requests.push(request);
        const first = requests.length === 1;
        const signal = request.signal;
        async function* body(): AsyncIterable<Uint8Array> {
          if (!first) {
            yield bytes.subarray(request.offset);
            return;
          }
          yield bytes.subarray(0, half);
          await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
        }
        return { status: 206, start: request.offset, totalSize: bytes.length, body: body() };
      },
    };
    const service = new FakeJobsService();
    const holder: { installer: ModelInstaller | undefined } = {
      installer: new DetectorModelInstaller({ store, detector }),
    };
    const harness = device(service, downloader, holder);
    await harness.powerOn();
    service.addJob(JOB, modelDocument(bytes, key));
    const staging = join(dir, 'incoming', '1.1.0.onnx.part');
    await until(() => existsSync(staging) && requests.length === 1, 'the download to start');
    await until(() => service.updatesOf(JOB).some((u) => u.details.progress === '50%'), 'half the file');

    // Act
    await harness.agent?.stop();
    await detector.close();
    const afterRestart = await resolveStartupModel(store, committedSource);
    detector = await AnomalyDetector.load(afterRestart.source);
    holder.installer = new DetectorModelInstaller({ store, detector });
    const held = (await stat(staging)).size;
    await harness.powerOn();
    await harness.finish(JOB);

    // Assess
    expect(afterRestart).toMatchObject({ origin: 'factory', source: { version: '1.0.0' } });
    expect(held).toBe(half);
    expect(service.statusOf(JOB)).toBe('SUCCEEDED');
    expect(requests.map((r) => r.offset)).toEqual([0, half]);
    expect(detector.info.version).toBe('1.1.0');
    expect(await resolveStartupModel(store, committedSource)).toMatchObject({
      origin: 'installed',
      source: { version: '1.1.0' },
    });
  });

  it('asks for the execution again when the presigned URL is refused (403), and downloads from the renewed one', async () => {
    // Prepare
    const bytes = modelBytes('1.1.0');
    const service = new FakeJobsService();
    const downloader = new FakeDownloader(bytes);
    const fresh = `${MODEL_URL}?renewed=1`;
    downloader.validUrls.add(fresh);
    const original = modelDocument(bytes, key);
    const renewed = modelDocument(bytes, key, { url: fresh });
    const harness = device(service, downloader, {
      installer: new DetectorModelInstaller({ store, detector }),
    });
    await harness.powerOn();

    // Act
    service.addJob(JOB, () => (downloader.requests.length > 0 ? renewed : original));
    await harness.finish(JOB);

    // Assess
    expect(service.statusOf(JOB)).toBe('SUCCEEDED');
    expect(downloader.requests.map((r) => r.url)).toEqual([MODEL_URL, fresh]);
    expect(detector.info.version).toBe('1.1.0');
  });
});
