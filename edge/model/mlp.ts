import { gaussian, seededRandom } from '../src/sensors/random.ts';

/**
 * A one-hidden-layer perceptron for binary classification, trained with mini-batch Adam on binary
 * cross-entropy, in plain TypeScript (no ML toolchain on the build machines). Deterministic for a
 * seed: initialisation and shuffling come from the seeded PRNG, and the arithmetic is ordinary
 * IEEE 754 doubles in a fixed order.
 *
 * Input standardisation is part of the model (`mean`, `scale`), so the exported graph takes raw
 * features and a new model version can bring its own.
 */
export interface Mlp {
  readonly inputs: number;
  readonly hidden: number;
  /** Standardisation: x' = (x − mean) · scale, per input. */
  readonly mean: Float64Array;
  readonly scale: Float64Array;
  /** Hidden layer weights, `[hidden][inputs]` row-major (ONNX Gemm with transB = 1). */
  readonly w1: Float64Array;
  readonly b1: Float64Array;
  /** Output weights, one per hidden unit. */
  readonly w2: Float64Array;
  readonly b2: Float64Array;
}

export interface TrainOptions {
  readonly hidden: number;
  readonly epochs: number;
  readonly batchSize: number;
  /** Adam step size at the first epoch; it decays linearly to a tenth by the last. */
  readonly learningRate: number;
  /** L2 penalty on the weights (not the biases). */
  readonly l2: number;
  readonly seed: string;
}

/** Loss (mean binary cross-entropy) after each epoch. */
export type TrainingCurve = number[];

/** Trains on `rows` rows of `x` (row-major, `inputs` columns) with 0/1 labels `y`. */
export function trainMlp(
  x: Float32Array,
  y: Uint8Array,
  inputs: number,
  options: TrainOptions,
): { mlp: Mlp; curve: TrainingCurve } {
  const rows = y.length;
  const { hidden } = options;
  const random = seededRandom(options.seed);
  const mean = new Float64Array(inputs);
  const scale = new Float64Array(inputs);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < inputs; i++) mean[i] = (mean[i] ?? 0) + (x[r * inputs + i] ?? 0) / rows;
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < inputs; i++)
      scale[i] = (scale[i] ?? 0) + ((x[r * inputs + i] ?? 0) - (mean[i] ?? 0)) ** 2 / rows;
  // A constant column stays unscaled rather than blowing up.
  for (let i = 0; i < inputs; i++) scale[i] = (scale[i] ?? 0) > 1e-12 ? 1 / Math.sqrt(scale[i] ?? 1) : 1;
  const xs = new Float64Array(rows * inputs);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < inputs; i++)
      xs[r * inputs + i] = ((x[r * inputs + i] ?? 0) - (mean[i] ?? 0)) * (scale[i] ?? 1);

  // He initialisation for the ReLU layer, Xavier-like for the output.
  const params = new Float64Array(hidden * inputs + hidden + hidden + 1);
  const w1 = params.subarray(0, hidden * inputs);
  const b1 = params.subarray(hidden * inputs, hidden * inputs + hidden);
  const w2 = params.subarray(hidden * inputs + hidden, hidden * inputs + 2 * hidden);
  const b2 = params.subarray(hidden * inputs + 2 * hidden);
  for (let k = 0; k < w1.length; k++) w1[k] = gaussian(random) * Math.sqrt(2 / inputs);
  for (let k = 0; k < w2.length; k++) w2[k] = gaussian(random) * Math.sqrt(1 / hidden);

  const grad = new Float64Array(params.length);
  const m = new Float64Array(params.length);
  const v = new Float64Array(params.length);
  const h = new Float64Array(hidden);
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const curve: TrainingCurve = [];
  const beta1 = 0.9;
  const beta2 = 0.999;
  let step = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    // Fisher–Yates with the seeded PRNG: the same order on every run.
    for (let i = rows - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = order[i] ?? 0;
      order[i] = order[j] ?? 0;
      order[j] = t;
    }
    const lr = options.learningRate * (1 - (0.9 * epoch) / Math.max(1, options.epochs - 1));
    let loss = 0;
    for (let start = 0; start < rows; start += options.batchSize) {
      const end = Math.min(rows, start + options.batchSize);
      grad.fill(0);
      for (let b = start; b < end; b++) {
        const r = order[b] ?? 0;
        const row = r * inputs;
        let z = b2[0] ?? 0;
        for (let j = 0; j < hidden; j++) {
          let a = b1[j] ?? 0;
          for (let i = 0; i < inputs; i++) a += (w1[j * inputs + i] ?? 0) * (xs[row + i] ?? 0);
          const hj = Math.max(a, 0);
          h[j] = hj;
          z += (w2[j] ?? 0) * hj;
        }
        const label = y[r] ?? 0;
        // Binary cross-entropy on the logit, in the form that cannot overflow.
        loss += Math.max(z, 0) - z * label + Math.log1p(Math.exp(-Math.abs(z)));
        const dz = sigmoid(z) - label;
        const gW1 = 0;
        const gB1 = hidden * inputs;
        const gW2 = gB1 + hidden;
        const gB2 = gW2 + hidden;
        grad[gB2] = (grad[gB2] ?? 0) + dz;
        for (let j = 0; j < hidden; j++) {
          const hj = h[j] ?? 0;
          grad[gW2 + j] = (grad[gW2 + j] ?? 0) + dz * hj;
          if (hj <= 0) continue;
          const dh = dz * (w2[j] ?? 0);
          grad[gB1 + j] = (grad[gB1 + j] ?? 0) + dh;
          for (let i = 0; i < inputs; i++)
            grad[gW1 + j * inputs + i] = (grad[gW1 + j * inputs + i] ?? 0) + dh * (xs[row + i] ?? 0);
        }
      }
      const n = end - start;
      step++;
      const c1 = 1 - beta1 ** step;
      const c2 = 1 - beta2 ** step;
      for (let k = 0; k < params.length; k++) {
        const isWeight =
          k < hidden * inputs || (k >= hidden * inputs + hidden && k < hidden * inputs + 2 * hidden);
        const g = (grad[k] ?? 0) / n + (isWeight ? options.l2 * (params[k] ?? 0) : 0);
        m[k] = beta1 * (m[k] ?? 0) + (1 - beta1) * g;
        v[k] = beta2 * (v[k] ?? 0) + (1 - beta2) * g * g;
        params[k] = (params[k] ?? 0) - (lr * ((m[k] ?? 0) / c1)) / (Math.sqrt((v[k] ?? 0) / c2) + 1e-8);
      }
    }
    curve.push(loss / rows);
  }
  // The model ships as float32: round now so that evaluation here sees the weights onnxruntime will.
  const f32 = (a: Float64Array) => Float64Array.from(a, Math.fround);
  return {
    mlp: {
      inputs,
      hidden,
      mean: f32(mean),
      scale: f32(scale),
      w1: f32(w1),
      b1: f32(b1),
      w2: f32(w2),
      b2: f32(b2),
    },
    curve,
  };
}

/** The model's score for each of `rows` rows of `x`. */
export function predictMlp(mlp: Mlp, x: Float32Array, rows: number): Float64Array {
  const out = new Float64Array(rows);
  const { inputs, hidden } = mlp;
  const xs = new Float64Array(inputs);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inputs; i++)
      xs[i] = ((x[r * inputs + i] ?? 0) - (mlp.mean[i] ?? 0)) * (mlp.scale[i] ?? 1);
    let z = mlp.b2[0] ?? 0;
    for (let j = 0; j < hidden; j++) {
      let a = mlp.b1[j] ?? 0;
      for (let i = 0; i < inputs; i++) a += (mlp.w1[j * inputs + i] ?? 0) * (xs[i] ?? 0);
      if (a > 0) z += (mlp.w2[j] ?? 0) * a;
    }
    out[r] = sigmoid(z);
  }
  return out;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}
