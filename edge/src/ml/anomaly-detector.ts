import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import type { Reading } from '../../../lib/protocol/messages.ts';
import type { ModelInfo, ModelRef, ModelTensorInfo } from '../../../lib/protocol/model.ts';
import {
  declaredModel,
  EDGE_FEATURE_CONTRACT,
  ModelProperty,
  metadataProblem,
  signatureProblem,
} from '../../../lib/protocol/model-contract.ts';
import { type OnnxModelMetadata, readOnnxMetadata } from '../../../lib/protocol/onnx/onnx-metadata.ts';
import { DetectorClosedError, InvalidFeaturesError, ModelRejectedError } from './errors.ts';
import {
  allFinite,
  createFeatureScratch,
  extractFeatures,
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SET,
  WINDOW_LENGTH,
  type WindowRejection,
} from './features.ts';

/** A model version on the device's disk, with the metadata it was delivered with. */
export interface ModelSource extends ModelRef {
  readonly path: string;
}

/** The score of one window, or why it was not scored. */
export type WindowScore =
  | { readonly ok: true; readonly score: number; readonly anomalous: boolean }
  | WindowRejection;

/** Creates an onnxruntime session from model bytes; replaced in tests to watch what is asked of it. */
export type SessionFactory = (
  model: Uint8Array,
  options: InferenceSession.SessionOptions,
) => Promise<InferenceSession>;

export interface AnomalyDetectorOptions {
  /**
   * Threads onnxruntime may use inside one operator. The model is a few thousand multiply-adds per
   * window: more threads only add hand-offs, and the agent shares the device with everything else.
   * @default 1
   */
  readonly intraOpNumThreads?: number;
  /** Most windows per `session.run`; larger batches are split. @default 1024 */
  readonly maxBatch?: number;
  /** Clock for {@link ModelInfo.loadedAt}. @default Date.now */
  readonly now?: () => number;
  /** @default onnxruntime-node's `InferenceSession.create` */
  readonly createSession?: SessionFactory;
}

interface LoadedModel {
  readonly session: InferenceSession;
  readonly info: ModelInfo;
  readonly inputName: string;
  readonly outputName: string;
  readonly threshold: number;
  readonly intervalRange: { readonly min: number; readonly max: number };
  /** Calls using the session right now: it is released only once they are done. */
  inFlight: number;
  retired: boolean;
}

const defaultFactory: SessionFactory = (model, options) => InferenceSession.create(model, options);

/**
 * The agent's anomaly model: one onnxruntime session, created once and reused, that scores windows of
 * readings in batches (one `session.run` for many windows).
 *
 * A new model version is delivered like firmware — a file and the version and SHA-256 it must have —
 * and {@link swap} verifies it completely (digest, metadata, a session that loads, a probe run)
 * before it replaces the serving session. Until then, and if it is refused, the old model serves.
 * Bad windows are refused one by one with a typed reason; they never fail the batch.
 */
export class AnomalyDetector {
  private current: LoadedModel;
  private swapping: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly scratch = createFeatureScratch();
  private readonly maxBatch: number;

  private constructor(
    model: LoadedModel,
    private readonly options: AnomalyDetectorOptions,
  ) {
    this.current = model;
    this.maxBatch = options.maxBatch ?? 1024;
  }

  /**
   * Loads and verifies the model at `source.path`.
   * @throws ModelRejectedError when the file is not the delivered version or cannot be served.
   */
  static async load(source: ModelSource, options: AnomalyDetectorOptions = {}): Promise<AnomalyDetector> {
    if (options.maxBatch !== undefined && (!Number.isInteger(options.maxBatch) || options.maxBatch < 1))
      throw new RangeError(`maxBatch must be a positive integer, got ${options.maxBatch}`);
    return new AnomalyDetector(await loadModel(source, options), options);
  }

  /** The serving model, as the shadow reports it. */
  get info(): ModelInfo {
    return this.current.info;
  }

  /** The sampling intervals (s) the serving model was trained for: windows outside it are not scored. */
  get intervalRange(): { readonly min: number; readonly max: number } {
    return this.current.intervalRange;
  }

  /**
   * Scores each window (in order). Valid windows go to the model together, at most `maxBatch` per
   * run; a refused window gets its reason and does not affect the others. The whole call uses the
   * model that was serving when it started, even if a swap completes meanwhile.
   */
  async score(windows: readonly (readonly Reading[])[]): Promise<WindowScore[]> {
    const model = this.acquire();
    try {
      const results = new Array<WindowScore>(windows.length);
      const rowOf = new Int32Array(Math.min(windows.length, this.maxBatch));
      for (let start = 0; start < windows.length; start += this.maxBatch) {
        const end = Math.min(windows.length, start + this.maxBatch);
        const features = new Float32Array((end - start) * FEATURE_COUNT);
        let rows = 0;
        for (let i = start; i < end; i++) {
          const outcome = extractFeatures(
            windows[i] as readonly Reading[],
            features,
            rows * FEATURE_COUNT,
            this.scratch,
            model.intervalRange,
          );
          if (typeof outcome === 'number') rowOf[rows++] = i;
          else results[i] = outcome;
        }
        if (rows === 0) continue;
        const scores = await run(model, features.subarray(0, rows * FEATURE_COUNT), rows);
        for (let r = 0; r < rows; r++) {
          const score = scores[r] ?? Number.NaN;
          results[rowOf[r] ?? 0] = { ok: true, score, anomalous: score >= model.threshold };
        }
      }
      return results;
    } finally {
      this.releaseUse(model);
    }
  }

  /**
   * Scores `rows` feature vectors laid out row-major in `features` (as {@link extractFeatures} writes
   * them) in one run: the path for a caller that already holds features.
   * @throws InvalidFeaturesError when the size is wrong or a value is NaN or infinite.
   */
  async scoreFeatures(features: Float32Array, rows: number): Promise<Float32Array> {
    if (!Number.isInteger(rows) || rows < 1 || features.length !== rows * FEATURE_COUNT)
      throw new InvalidFeaturesError(
        `expected ${rows} × ${FEATURE_COUNT} features, got ${features.length} values`,
      );
    if (!allFinite(features)) {
      const i = features.findIndex((v) => !Number.isFinite(v));
      throw new InvalidFeaturesError(
        `feature ${FEATURE_NAMES[i % FEATURE_COUNT]} of row ${Math.floor(i / FEATURE_COUNT)} is ${features[i]}`,
      );
    }
    const model = this.acquire();
    try {
      return await run(model, features, rows);
    } finally {
      this.releaseUse(model);
    }
  }

  /**
   * Replaces the serving model with `source` once it is verified and loaded. Calls that started on
   * the old model finish on it; its session is released after them. Swaps run one at a time.
   * @returns the new model's info.
   * @throws ModelRejectedError when the new model is refused; the old one keeps serving.
   */
  async swap(source: ModelSource): Promise<ModelInfo> {
    const next = this.swapping.then(async () => {
      if (this.closed) throw new DetectorClosedError();
      const loaded = await loadModel(source, this.options);
      if (this.closed) {
        await loaded.session.release();
        throw new DetectorClosedError();
      }
      const previous = this.current;
      this.current = loaded;
      await retire(previous);
      return loaded.info;
    });
    this.swapping = next.catch(() => undefined);
    return next;
  }

  /** Stops scoring and releases the session once calls in progress are done. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.swapping;
    await retire(this.current);
  }

  private acquire(): LoadedModel {
    if (this.closed) throw new DetectorClosedError();
    const model = this.current;
    model.inFlight++;
    return model;
  }

  private releaseUse(model: LoadedModel): void {
    model.inFlight--;
    if (model.retired && model.inFlight === 0) void model.session.release().catch(() => undefined);
  }
}

async function run(model: LoadedModel, features: Float32Array, rows: number): Promise<Float32Array> {
  const input = new Tensor('float32', features, [rows, FEATURE_COUNT]);
  const output = (await model.session.run({ [model.inputName]: input }))[model.outputName];
  return output?.data as Float32Array;
}

async function retire(model: LoadedModel): Promise<void> {
  model.retired = true;
  if (model.inFlight === 0) await model.session.release();
}

/** Reads, verifies and loads one model file; any refusal is a {@link ModelRejectedError}. */
async function loadModel(source: ModelSource, options: AnomalyDetectorOptions): Promise<LoadedModel> {
  const refuse = (reason: ModelRejectedError['reason'], message: string, cause?: unknown) =>
    new ModelRejectedError(reason, source.version, message, cause === undefined ? undefined : { cause });
  let bytes: Uint8Array;
  try {
    bytes = await readFile(source.path);
  } catch (error) {
    throw refuse('unreadable', `cannot read ${source.path}: ${(error as Error).message}`, error);
  }
  if (source.sizeBytes !== undefined && bytes.length !== source.sizeBytes)
    throw refuse('size-mismatch', `${source.path} has ${bytes.length} bytes, expected ${source.sizeBytes}`);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== source.sha256)
    throw refuse('digest-mismatch', `${source.path} has SHA-256 ${sha256}, expected ${source.sha256}`);

  let metadata: OnnxModelMetadata;
  try {
    metadata = readOnnxMetadata(bytes);
  } catch (error) {
    throw refuse('malformed', `not an ONNX model: ${(error as Error).message}`, error);
  }
  const contract = checkContract(metadata, source.version);
  if ('problem' in contract) throw refuse(contract.reason, contract.problem);

  let session: InferenceSession;
  try {
    session = await (options.createSession ?? defaultFactory)(bytes, {
      // Pinned: one thread inside an operator, operators run one after another (sequential mode uses
      // no inter-op pool; 1 keeps it at one thread if the mode ever changes) — a predictable
      // footprint next to the rest of the agent, where onnxruntime's default is a thread per core.
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw refuse('load-failed', (error as Error).message, error);
  }
  try {
    const inputs = tensorInfos(session.inputMetadata);
    const outputs = tensorInfos(session.outputMetadata);
    const problem = signatureProblem(inputs, outputs, EDGE_FEATURE_CONTRACT);
    if (problem !== undefined) throw refuse('incompatible', problem);
    const model: LoadedModel = {
      session,
      inputName: inputs[0]?.name ?? '',
      outputName: outputs[0]?.name ?? '',
      threshold: contract.threshold,
      intervalRange: contract.intervalRange,
      inFlight: 0,
      retired: false,
      info: {
        name: metadata.graphName,
        version: source.version,
        sha256,
        sizeBytes: bytes.length,
        producer: `${metadata.producerName} ${metadata.producerVersion}`.trim(),
        irVersion: metadata.irVersion,
        opset: metadata.opsets.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0,
        featureSet: FEATURE_SET,
        windowLength: WINDOW_LENGTH,
        threshold: contract.threshold,
        inputs,
        outputs,
        loadedAt: (options.now ?? Date.now)(),
      },
    };
    await selfTest(model).catch((error: unknown) => {
      throw refuse('self-test-failed', (error as Error).message, error);
    });
    return model;
  } catch (error) {
    await session.release().catch(() => undefined);
    throw error;
  }
}

type ContractCheck =
  | { readonly reason: 'version-mismatch' | 'incompatible'; readonly problem: string }
  | { readonly threshold: number; readonly intervalRange: { readonly min: number; readonly max: number } };

/** Checks the model's declared metadata against the delivery and against what this agent extracts. */
function checkContract(metadata: OnnxModelMetadata, version: string): ContractCheck {
  const p = metadata.properties;
  if (p[ModelProperty.version] !== version)
    return {
      reason: 'version-mismatch',
      problem: `declares version ${p[ModelProperty.version] ?? '(none)'}, delivered as ${version}`,
    };
  const problem = metadataProblem(p, EDGE_FEATURE_CONTRACT);
  if (problem !== undefined) return { reason: 'incompatible', problem };
  return declaredModel(p);
}

function tensorInfos(metadata: readonly InferenceSession.ValueMetadata[]): ModelTensorInfo[] {
  return metadata.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: [...m.shape] }
      : { name: m.name, type: 'string', shape: [] },
  );
}

/** A batch of two neutral rows must give two finite scores in [0, 1]. */
async function selfTest(model: LoadedModel): Promise<void> {
  const scores = await run(model, new Float32Array(2 * FEATURE_COUNT), 2);
  if (!(scores instanceof Float32Array) || scores.length !== 2)
    throw new Error(`probe batch of 2 gave ${scores?.length ?? 'no'} scores`);
  for (const s of scores) if (!(s >= 0 && s <= 1)) throw new Error(`probe score ${s} is not in [0, 1]`);
}
