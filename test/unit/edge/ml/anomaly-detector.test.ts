import { readFile } from 'node:fs/promises';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AnomalyDetector,
  type ModelSource,
  type WindowScore,
} from '../../../../edge/src/ml/anomaly-detector.ts';
import {
  DetectorClosedError,
  InvalidFeaturesError,
  ModelRejectedError,
  type ModelRejectionReason,
} from '../../../../edge/src/ml/errors.ts';
import { FEATURE_COUNT, windowFeatures } from '../../../../edge/src/ml/features.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { modelInfo } from '../../../../lib/protocol/model.ts';
import {
  COMMITTED_MODEL_PATH,
  committedSource,
  gate,
  modelDirectory,
  normalWindows,
  randomMlp,
  simulatedWindow,
  specOf,
  spyingFactory,
} from './support.ts';

let dir: Awaited<ReturnType<typeof modelDirectory>>;
let committed: ModelSource;
const windows = normalWindows(50);

beforeAll(async () => {
  dir = await modelDirectory();
  committed = await committedSource();
});
afterAll(async () => {
  await dir.cleanup();
});

const scoresOf = (results: WindowScore[]) => results.map((r) => (r.ok ? r.score : r.reason));
/** Batch sizes of the runs a session saw, after the load's probe run. */
const batchSizes = (run: { mock: { calls: unknown[][] } }) =>
  run.mock.calls
    .slice(1)
    .map(([feeds]) => (Object.values(feeds as Record<string, Tensor>)[0]?.dims ?? []).join('×'));

describe('AnomalyDetector: one pinned session, batched runs', () => {
  it('creates the session once, with one intra-op and one inter-op thread and sequential execution', async () => {
    // Prepare
    const spy = spyingFactory();
    const detector = await AnomalyDetector.load(committed, { createSession: spy.factory });
    // Act
    for (let i = 0; i < 3; i++) await detector.score(windows.slice(0, 5));
    await detector.close();
    // Assess
    expect(spy.sessions).toHaveLength(1);
    expect(spy.options[0]).toMatchObject({
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  });

  it('scores many windows in one run, and splits batches larger than maxBatch', async () => {
    // Prepare
    const spy = spyingFactory();
    const detector = await AnomalyDetector.load(committed, { createSession: spy.factory, maxBatch: 16 });
    // Act
    await detector.score(windows.slice(0, 16));
    await detector.score(windows);
    await detector.close();
    // Assess
    expect(batchSizes(spy.runs[0] as never)).toEqual([
      `16×${FEATURE_COUNT}`,
      `16×${FEATURE_COUNT}`,
      `16×${FEATURE_COUNT}`,
      `16×${FEATURE_COUNT}`,
      `2×${FEATURE_COUNT}`,
    ]);
  });

  it('refuses bad windows in place with their reason, scores the rest in one run as if alone', async () => {
    // Prepare
    const spy = spyingFactory();
    const detector = await AnomalyDetector.load(committed, { createSession: spy.factory });
    const good = windows.slice(0, 3);
    const nan = good[1]?.map((r, i) =>
      i === 4 ? { ...r, values: { ...r.values, humidity: Number.NaN } } : r,
    );
    const mixed = [
      good[0],
      null,
      nan,
      'not a window',
      good[1],
      good[0]?.slice(1),
      good[2],
    ] as unknown as Reading[][];
    const alone = await Promise.all(good.map(async (w) => (await detector.score([w]))[0]));
    spy.runs[0]?.mockClear();
    // Act
    const results = await detector.score(mixed);
    await detector.close();
    // Assess
    expect(results.map((r) => (r.ok ? 'scored' : r.reason))).toEqual([
      'scored',
      'wrong-length',
      'not-finite',
      'wrong-length',
      'scored',
      'wrong-length',
      'scored',
    ]);
    expect([results[0], results[4], results[6]]).toEqual(alone);
    expect(spy.runs[0]).toHaveBeenCalledTimes(1);
  });

  it('runs nothing when every window is refused', async () => {
    // Prepare
    const spy = spyingFactory();
    const detector = await AnomalyDetector.load(committed, { createSession: spy.factory });
    spy.runs[0]?.mockClear();
    // Act
    const results = await detector.score([[], windows[0]?.slice(2) ?? []]);
    await detector.close();
    // Assess
    expect(scoresOf(results)).toEqual(['wrong-length', 'wrong-length']);
    expect(spy.runs[0]).not.toHaveBeenCalled();
  });

  it('refuses windows sampled outside the interval range the model declares (4.5–66 s)', async () => {
    // Prepare
    const detector = await AnomalyDetector.load(committed);
    // Act
    const results = await detector.score([
      simulatedWindow('slow', 120),
      simulatedWindow('fast', 1),
      simulatedWindow('ok', 10),
    ]);
    await detector.close();
    // Assess
    expect(results.map((r) => (r.ok ? 'scored' : r.reason))).toEqual([
      'interval-out-of-range',
      'interval-out-of-range',
      'scored',
    ]);
  });

  it('scores ready-made features the same as windows, and refuses NaN or a wrong size with InvalidFeaturesError', async () => {
    // Prepare
    const detector = await AnomalyDetector.load(committed);
    const features = new Float32Array(3 * FEATURE_COUNT);
    for (const [i, w] of windows.slice(0, 3).entries())
      features.set(windowFeatures(w) as Float32Array, i * FEATURE_COUNT);
    const withNaN = features.slice();
    withNaN[FEATURE_COUNT + 4] = Number.NaN;
    // Act
    const fromFeatures = await detector.scoreFeatures(features, 3);
    const fromWindows = await detector.score(windows.slice(0, 3));
    const nan = detector.scoreFeatures(withNaN, 3);
    const short = detector.scoreFeatures(features.subarray(1), 3);
    // Assess
    expect([...fromFeatures]).toEqual(scoresOf(fromWindows));
    await expect(nan).rejects.toThrow(InvalidFeaturesError);
    await expect(nan).rejects.toThrow(/row 1 is NaN/);
    await expect(short).rejects.toThrow(InvalidFeaturesError);
    await detector.close();
  });

  it('reports the model for the shadow: names, shapes, types, version, digest — valid per the protocol schema', async () => {
    // Prepare
    const bytes = await readFile(COMMITTED_MODEL_PATH);
    // Act
    const detector = await AnomalyDetector.load(committed, { now: () => 1_900_000_000_000 });
    const info = detector.info;
    await detector.close();
    // Assess
    expect(modelInfo.parse(info)).toEqual(info);
    expect(info).toMatchObject({
      name: 'fleetkit_anomaly_mlp',
      version: '1.0.0',
      sha256: committed.sha256,
      sizeBytes: bytes.length,
      producer: 'fleetkit-train 1.0.0',
      irVersion: 8,
      opset: 17,
      featureSet: 'fleetkit-window-v1',
      windowLength: 60,
      threshold: 0.5,
      inputs: [{ name: 'features', type: 'float32', shape: ['batch', FEATURE_COUNT] }],
      outputs: [{ name: 'anomaly_score', type: 'float32', shape: ['batch', 1] }],
      loadedAt: 1_900_000_000_000,
    });
  });
});

/** Each row: a delivered model the agent must refuse, and the reason. */
const refusals: Array<[string, () => Promise<ModelSource>, ModelRejectionReason]> = [
  [
    'a file that is not there',
    async () => ({ ...committed, path: `${COMMITTED_MODEL_PATH}.missing` }),
    'unreadable',
  ],
  [
    'a size other than delivered',
    async () => ({ ...committed, sizeBytes: (committed.sizeBytes ?? 0) + 1 }),
    'size-mismatch',
  ],
  [
    'one byte changed (digest differs)',
    async () => {
      const bytes = await readFile(COMMITTED_MODEL_PATH);
      bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0x01;
      return { ...(await dir.write('flipped.onnx', bytes, '1.0.0')), sha256: committed.sha256 };
    },
    'digest-mismatch',
  ],
  [
    'bytes that are not ONNX, with a matching digest',
    async () => dir.write('garbage.onnx', Buffer.from('0b'.repeat(64), 'hex'), '1.0.0'),
    'malformed',
  ],
  [
    'a model declaring 1.2.0 delivered as 1.1.0',
    async () => ({
      ...(await dir.writeSpec('mislabelled.onnx', specOf(randomMlp('m'), '1.2.0'))),
      version: '1.1.0',
    }),
    'version-mismatch',
  ],
  [
    'a model trained on another feature set',
    async () => {
      const spec = specOf(randomMlp('f'), '1.1.0');
      return dir.writeSpec('features.onnx', {
        ...spec,
        properties: { ...spec.properties, 'fleetkit.feature_set': 'other-v9' },
      });
    },
    'incompatible',
  ],
  [
    'a model whose input has 24 columns',
    async () => {
      const spec = specOf(randomMlp('n', FEATURE_COUNT - 1), '1.1.0');
      const inputs = spec.graph.inputs.map((i) => ({ ...i, shape: ['batch', FEATURE_COUNT - 1] }));
      return dir.writeSpec('narrow.onnx', { ...spec, graph: { ...spec.graph, inputs } });
    },
    'incompatible',
  ],
  [
    'a model with a fixed batch size',
    async () => {
      const spec = specOf(randomMlp('b'), '1.1.0');
      const inputs = spec.graph.inputs.map((i) => ({ ...i, shape: [2, FEATURE_COUNT] }));
      return dir.writeSpec('fixed.onnx', { ...spec, graph: { ...spec.graph, inputs } });
    },
    'incompatible',
  ],
  [
    'an operator onnxruntime does not know',
    async () => {
      const spec = specOf(randomMlp('o'), '1.1.0');
      const nodes = spec.graph.nodes.map((n) => (n.opType === 'Relu' ? { ...n, opType: 'NoSuchOp' } : n));
      return dir.writeSpec('unknown-op.onnx', { ...spec, graph: { ...spec.graph, nodes } });
    },
    'load-failed',
  ],
  [
    'a model that outputs logits, not scores in [0, 1]',
    async () => {
      const spec = specOf(randomMlp('l'), '1.1.0');
      const nodes = spec.graph.nodes.map((n) => (n.opType === 'Sigmoid' ? { ...n, opType: 'Identity' } : n));
      const initializers = spec.graph.initializers.map((t) =>
        t.name === 'output_bias' ? { ...t, values: [50] } : t,
      );
      return dir.writeSpec('logits.onnx', { ...spec, graph: { ...spec.graph, nodes, initializers } });
    },
    'self-test-failed',
  ],
];
const refusalRows = refusals.map(([name, source, reason]) => ({ name, source, reason }));

describe('model delivery: verified before it serves, the old model serves until then', () => {
  it.each(refusalRows)('refuses $name at load ($reason)', async ({ source, reason }) => {
    // Prepare
    const delivered = await source();
    // Act
    const loading = AnomalyDetector.load(delivered);
    // Assess
    await expect(loading).rejects.toBeInstanceOf(ModelRejectedError);
    await expect(loading).rejects.toMatchObject({ reason, version: delivered.version });
  });

  it.each(refusalRows)(
    'refuses $name as a swap and keeps serving the old model ($reason)',
    async ({ source, reason }) => {
      // Prepare
      const spy = spyingFactory();
      const detector = await AnomalyDetector.load(committed, { createSession: spy.factory });
      const before = await detector.score(windows.slice(0, 5));
      const delivered = await source();
      // Act
      const swapping = detector.swap(delivered);
      // Assess
      await expect(swapping).rejects.toMatchObject({ name: 'ModelRejectedError', reason });
      expect(detector.info).toMatchObject({ version: '1.0.0', sha256: committed.sha256 });
      expect(await detector.score(windows.slice(0, 5))).toEqual(before);
      expect(spy.releases[0]).not.toHaveBeenCalled();
      // A session that loaded but was then refused is released, not leaked.
      for (const release of spy.releases.slice(1)) expect(release).toHaveBeenCalledTimes(1);
      await detector.close();
    },
  );

  it('swaps to a verified new version: new info, new scores, the old session released', async () => {
    // Prepare
    const spy = spyingFactory();
    const detector = await AnomalyDetector.load(committed, { createSession: spy.factory });
    const next = await dir.writeSpec('v1.1.0.onnx', specOf(randomMlp('next'), '1.1.0'));
    const before = scoresOf(await detector.score(windows.slice(0, 5)));
    // Act
    const info = await detector.swap(next);
    const after = scoresOf(await detector.score(windows.slice(0, 5)));
    // Assess
    expect(info).toMatchObject({ version: '1.1.0', sha256: next.sha256 });
    expect(detector.info).toBe(info);
    expect(after).not.toEqual(before);
    expect(spy.releases[0]).toHaveBeenCalledTimes(1);
    expect(spy.releases[1]).not.toHaveBeenCalled();
    await detector.close();
  });

  it('lets a call in flight finish on the old model, and releases the old session only after it', async () => {
    // Prepare
    const spy = spyingFactory();
    const detector = await AnomalyDetector.load(committed, { createSession: spy.factory });
    const oldScores = await detector.score(windows.slice(0, 4));
    const held = gate();
    const oldSession = spy.sessions[0] as InferenceSession;
    const realRun = Object.getPrototypeOf(oldSession).run as InferenceSession['run'];
    spy.runs[0]?.mockImplementation(async (...args: unknown[]) => {
      await held.promise;
      return realRun.apply(oldSession, args as Parameters<InferenceSession['run']>);
    });
    const inFlight = detector.score(windows.slice(0, 4));
    // Act
    await detector.swap(await dir.writeSpec('v1.1.0-b.onnx', specOf(randomMlp('next-b'), '1.1.0')));
    const releasedDuringCall = spy.releases[0]?.mock.calls.length;
    held.open();
    const results = await inFlight;
    await Promise.resolve();
    // Assess
    expect(detector.info.version).toBe('1.1.0');
    expect(releasedDuringCall).toBe(0);
    expect(results).toEqual(oldScores);
    expect(spy.releases[0]).toHaveBeenCalledTimes(1);
    await detector.close();
  });

  it('runs swaps one at a time: the last one delivered serves, every replaced session is released', async () => {
    // Prepare
    const spy = spyingFactory();
    const detector = await AnomalyDetector.load(committed, { createSession: spy.factory });
    const v11 = await dir.writeSpec('c-1.1.0.onnx', specOf(randomMlp('c1'), '1.1.0'));
    const broken = { ...v11, version: '1.1.5', sha256: '0'.repeat(64) };
    const v12 = await dir.writeSpec('c-1.2.0.onnx', specOf(randomMlp('c2'), '1.2.0'));
    // Act
    const outcomes = await Promise.allSettled([
      detector.swap(v11),
      detector.swap(broken),
      detector.swap(v12),
    ]);
    // Assess
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(detector.info.version).toBe('1.2.0');
    expect(spy.releases.map((r) => r.mock.calls.length)).toEqual([1, 1, 0]);
    await detector.close();
  });

  it('scores and swaps nothing once closed, and releases its session', async () => {
    // Prepare
    const spy = spyingFactory();
    const detector = await AnomalyDetector.load(committed, { createSession: spy.factory });
    // Act
    await detector.close();
    // Assess
    await expect(detector.score(windows.slice(0, 1))).rejects.toThrow(DetectorClosedError);
    await expect(detector.swap(committed)).rejects.toThrow(DetectorClosedError);
    expect(spy.releases[0]).toHaveBeenCalledTimes(1);
  });
});
