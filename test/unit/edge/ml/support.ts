import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InferenceSession } from 'onnxruntime-node';
import { vi } from 'vitest';
import { anomalyModelSpec, MANIFEST_FILE, MODEL_FILE } from '../../../../edge/model/anomaly-model.ts';
import { generateWindows } from '../../../../edge/model/dataset.ts';
import type { Mlp } from '../../../../edge/model/mlp.ts';
import { encodeOnnxModel, type OnnxModelSpec } from '../../../../edge/model/onnx-writer.ts';
import type { ModelSource, SessionFactory } from '../../../../edge/src/ml/anomaly-detector.ts';
import { FEATURE_COUNT, WINDOW_LENGTH } from '../../../../edge/src/ml/features.ts';
import { gaussian, seededRandom } from '../../../../edge/src/sensors/random.ts';
import { initialSensorState, stepSensors } from '../../../../edge/src/sensors/sensor-model.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';

const modelDir = new URL('../../../../edge/model/', import.meta.url);
/** The committed model file. */
export const COMMITTED_MODEL_PATH = new URL(MODEL_FILE, modelDir).pathname;

export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly file: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

export async function readManifest(): Promise<Manifest> {
  return JSON.parse(await readFile(new URL(MANIFEST_FILE, modelDir), 'utf8')) as Manifest;
}

/** The committed model as delivered: its path and the manifest's version, digest and size. */
export async function committedSource(): Promise<ModelSource> {
  const { version, sha256, sizeBytes } = await readManifest();
  return { path: COMMITTED_MODEL_PATH, version, sha256, sizeBytes };
}

export const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An untrained MLP with seeded random weights: a valid model that scores differently from the committed one. */
export function randomMlp(seed: string, inputs = FEATURE_COUNT, hidden = 4): Mlp {
  const random = seededRandom(seed);
  const fill = (n: number, scale: number) => Float64Array.from({ length: n }, () => gaussian(random) * scale);
  return {
    inputs,
    hidden,
    mean: new Float64Array(inputs),
    scale: new Float64Array(inputs).fill(1),
    w1: fill(hidden * inputs, 0.3),
    b1: fill(hidden, 0.1),
    w2: fill(hidden, 0.5),
    b2: fill(1, 0.1),
  };
}

/** A temp dir for model files, removed by `cleanup`. */
export async function modelDirectory(): Promise<{
  write(name: string, bytes: Uint8Array, version: string): Promise<ModelSource>;
  writeSpec(name: string, spec: OnnxModelSpec, version?: string): Promise<ModelSource>;
  cleanup(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetkit-ml-'));
  const write = async (name: string, bytes: Uint8Array, version: string): Promise<ModelSource> => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return { path, version, sha256: sha256Of(bytes), sizeBytes: bytes.length };
  };
  return {
    write,
    writeSpec: (name, spec, version = spec.properties['fleetkit.version'] ?? '0.0.0') =>
      write(name, encodeOnnxModel(spec), version),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A model spec of `mlp` as the training script writes it, at `version`. */
export function specOf(mlp: Mlp, version: string): OnnxModelSpec {
  return anomalyModelSpec(mlp, version);
}

/** Sessions made by the real onnxruntime, with spies on `run` and `release`, and the options asked for. */
export function spyingFactory(): {
  factory: SessionFactory;
  sessions: InferenceSession[];
  options: InferenceSession.SessionOptions[];
  runs: ReturnType<typeof vi.spyOn>[];
  releases: ReturnType<typeof vi.spyOn>[];
} {
  const out = {
    sessions: [] as InferenceSession[],
    options: [] as InferenceSession.SessionOptions[],
    runs: [] as ReturnType<typeof vi.spyOn>[],
    releases: [] as ReturnType<typeof vi.spyOn>[],
  };
  const factory: SessionFactory = async (model, options) => {
    const session = await InferenceSession.create(model, options);
    out.sessions.push(session);
    out.options.push(options);
    out.runs.push(vi.spyOn(session, 'run'));
    out.releases.push(vi.spyOn(session, 'release'));
    return session;
  };
  return { factory, ...out };
}

/** `count` windows without anomalies, at the intervals the model was trained on (fixed seed). */
export function normalWindows(count: number, seed = 'ml-test/normal'): Reading[][] {
  return generateWindows({ seed, count, anomalyRate: 0 }).map((w) => w.readings);
}

/** One window straight from the simulator's sensor model, every `intervalSeconds`, no fault. */
export function simulatedWindow(seed: string, intervalSeconds = 10): Reading[] {
  const random = seededRandom(seed);
  const state = initialSensorState(random);
  const start = 1_893_456_000_000;
  return Array.from({ length: WINDOW_LENGTH }, (_, i) => {
    const { temperature, humidity, pressure, battery, rsrp } = stepSensors(state, intervalSeconds, random);
    return {
      ts: start + i * intervalSeconds * 1000,
      seq: i,
      values: { temperature, humidity, pressure, battery, rsrp },
    };
  });
}

/** A promise with its resolve function, to hold a call in flight. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
