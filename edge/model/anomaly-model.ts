import { FLEETKIT_PRODUCER, ModelProperty } from '../../lib/protocol/model-contract.ts';
import {
  createFeatureScratch,
  extractFeatures,
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SET,
  WINDOW_LENGTH,
} from '../src/ml/features.ts';
import { generateWindows, type LabelledWindow, SAMPLING_INTERVALS } from './dataset.ts';
import { type Mlp, type TrainingCurve, trainMlp } from './mlp.ts';
import { encodeOnnxModel, type OnnxModelSpec } from './onnx-writer.ts';

/**
 * The recipe of fleetkit's anomaly model: data, features, training and the ONNX graph. Everything is
 * fixed here (seeds included), so running it twice gives the same bytes — which is how the test tells
 * the committed `.onnx` is what this recipe produces today.
 */
export const MODEL_VERSION = '1.0.0';
/** Version of this script, written as the ONNX producer version. */
export const PRODUCER_VERSION = '1.0.0';
export const TRAIN_SET = { seed: 'fleetkit-anomaly/train', count: 12_000, anomalyRate: 0.3 } as const;
/** A separate seed: no window of the held-out set was seen in training. */
export const HELD_OUT_SET = { seed: 'fleetkit-anomaly/held-out', count: 4_000, anomalyRate: 0.3 } as const;
export const TRAINING = {
  hidden: 16,
  epochs: 40,
  batchSize: 64,
  learningRate: 0.01,
  l2: 1e-4,
  seed: 'fleetkit-anomaly/init',
} as const;
/** Decision threshold: a score at or above it is an anomaly. */
export const THRESHOLD = 0.5;
/** File names under `edge/model/`. */
export const MODEL_FILE = 'anomaly-detector.onnx';
export const MANIFEST_FILE = 'anomaly-detector.json';

export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'anomaly_score';

/** The features of every window, row-major; a generated window that the agent would refuse is a bug. */
export function featureMatrix(windows: readonly LabelledWindow[]): Float32Array {
  const out = new Float32Array(windows.length * FEATURE_COUNT);
  const scratch = createFeatureScratch();
  windows.forEach((w, i) => {
    const result = extractFeatures(w.readings, out, i * FEATURE_COUNT, scratch);
    if (typeof result !== 'number') throw new Error(`generated window ${i} refused: ${result.detail}`);
  });
  return out;
}

/** 1 for a window with an injected anomaly, 0 otherwise. */
export function labels(windows: readonly LabelledWindow[]): Uint8Array {
  return Uint8Array.from(windows, (w) => (w.anomaly === undefined ? 0 : 1));
}

/** Generates the training set, trains, and encodes the model. Deterministic. */
export function buildAnomalyModel(): { bytes: Uint8Array; mlp: Mlp; curve: TrainingCurve } {
  const train = generateWindows(TRAIN_SET);
  const { mlp, curve } = trainMlp(featureMatrix(train), labels(train), FEATURE_COUNT, TRAINING);
  return { bytes: encodeOnnxModel(anomalyModelSpec(mlp)), mlp, curve };
}

/** The ONNX graph of `mlp`: standardise → Gemm → Relu → Gemm → Sigmoid. */
export function anomalyModelSpec(mlp: Mlp, version: string = MODEL_VERSION): OnnxModelSpec {
  const [major = 0, minor = 0, patch = 0] = version.split(/[.+-]/).map(Number);
  return {
    // IR version 8 goes with opsets 15–17 (ONNX 1.10–1.12); onnxruntime 1.30 reads both.
    irVersion: 8,
    opset: 17,
    producerName: FLEETKIT_PRODUCER,
    producerVersion: PRODUCER_VERSION,
    domain: 'dev.fleetkit',
    // model_version is an int64; the semantic version is in metadata_props, this orders versions.
    modelVersion: major * 1_000_000 + minor * 1_000 + patch,
    docString:
      `Anomaly score per window of ${WINDOW_LENGTH} sensor readings (${FEATURE_SET}: ${FEATURE_COUNT} features ` +
      'of first differences per channel). Trained by edge/model/train.ts on synthetic data from the ' +
      'fleetkit simulator sensor model with injected spike, step, stuck, drift, noise and battery-sag faults.',
    graph: {
      name: 'fleetkit_anomaly_mlp',
      docString: `MLP ${mlp.inputs}-${mlp.hidden}-1 with input standardisation; output is P(anomaly).`,
      inputs: [
        {
          name: INPUT_NAME,
          shape: ['batch', FEATURE_COUNT],
          docString: `features: ${FEATURE_NAMES.join(', ')}`,
        },
      ],
      outputs: [{ name: OUTPUT_NAME, shape: ['batch', 1], docString: 'anomaly score in [0, 1]' }],
      initializers: [
        { name: 'feature_mean', dims: [mlp.inputs], values: mlp.mean },
        { name: 'feature_scale', dims: [mlp.inputs], values: mlp.scale, docString: '1 / standard deviation' },
        { name: 'hidden_weight', dims: [mlp.hidden, mlp.inputs], values: mlp.w1 },
        { name: 'hidden_bias', dims: [mlp.hidden], values: mlp.b1 },
        { name: 'output_weight', dims: [1, mlp.hidden], values: mlp.w2 },
        { name: 'output_bias', dims: [1], values: mlp.b2 },
      ],
      nodes: [
        { name: 'center', opType: 'Sub', inputs: [INPUT_NAME, 'feature_mean'], outputs: ['centered'] },
        {
          name: 'standardize',
          opType: 'Mul',
          inputs: ['centered', 'feature_scale'],
          outputs: ['standardized'],
        },
        {
          name: 'hidden_dense',
          opType: 'Gemm',
          inputs: ['standardized', 'hidden_weight', 'hidden_bias'],
          outputs: ['hidden_linear'],
          attributes: [
            { name: 'alpha', value: { float: 1 } },
            { name: 'beta', value: { float: 1 } },
            { name: 'transB', value: { int: 1 } },
          ],
        },
        { name: 'hidden_relu', opType: 'Relu', inputs: ['hidden_linear'], outputs: ['hidden'] },
        {
          name: 'output_dense',
          opType: 'Gemm',
          inputs: ['hidden', 'output_weight', 'output_bias'],
          outputs: ['logit'],
          attributes: [{ name: 'transB', value: { int: 1 } }],
        },
        { name: 'output_sigmoid', opType: 'Sigmoid', inputs: ['logit'], outputs: [OUTPUT_NAME] },
      ],
    },
    properties: {
      [ModelProperty.version]: version,
      [ModelProperty.featureSet]: FEATURE_SET,
      [ModelProperty.features]: FEATURE_NAMES.join(','),
      [ModelProperty.windowLength]: String(WINDOW_LENGTH),
      // The trained intervals, with 10% either side for timer jitter and clock drift.
      [ModelProperty.intervalMinSeconds]: String(Math.min(...SAMPLING_INTERVALS) * 0.9),
      [ModelProperty.intervalMaxSeconds]: String(Math.max(...SAMPLING_INTERVALS) * 1.1),
      [ModelProperty.threshold]: String(THRESHOLD),
      'fleetkit.training': `seed=${TRAIN_SET.seed} windows=${TRAIN_SET.count} anomalyRate=${TRAIN_SET.anomalyRate} epochs=${TRAINING.epochs}`,
    },
  };
}
