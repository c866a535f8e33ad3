/**
 * The contract between an anomaly model and the agent that feeds it, in one place for both sides: the
 * training script writes these `metadata_props`, the edge agent checks them before it serves a model,
 * and the cloud's model registry checks them (with the graph's input and output shapes, read from the
 * file by `onnx/onnx-metadata.ts`) before it signs one. A model is one float32 input
 * `[batch, features]` and one float32 output `[batch, 1]`, a score in [0, 1] per window.
 */

/** Keys of the model's ONNX `metadata_props`. */
export const ModelProperty = {
  /** Semantic version of the model, compared with the version it was delivered (and registered) as. */
  version: 'fleetkit.version',
  /** The feature set the model was trained on. */
  featureSet: 'fleetkit.feature_set',
  /** Feature names, comma-separated, in input column order. */
  features: 'fleetkit.features',
  /** Readings per window. */
  windowLength: 'fleetkit.window_length',
  /** Sampling intervals (seconds) the model was trained on: windows outside are not scored. */
  intervalMinSeconds: 'fleetkit.interval_min_s',
  intervalMaxSeconds: 'fleetkit.interval_max_s',
  /** Score at or above which a window counts as anomalous. */
  threshold: 'fleetkit.threshold',
} as const;

/** `ModelProto.producer_name` the training script writes. */
export const FLEETKIT_PRODUCER = 'fleetkit-train';

/** Readings per window: 10 minutes at the simulator's (and default firmware's) 10 s interval. */
export const WINDOW_LENGTH = 60;

/** Names the feature definitions below; a model declares the set it was trained on and must match. */
export const FEATURE_SET = 'fleetkit-window-v1';

/** The sensor metrics the model looks at, each with the resolution its sensor reports. */
export const SENSOR_CHANNELS = [
  { metric: 'temperature', resolution: 0.01 },
  { metric: 'humidity', resolution: 0.1 },
  { metric: 'pressure', resolution: 0.1 },
  { metric: 'battery', resolution: 1 },
] as const;

/** The six features computed for each channel, in order. */
export const CHANNEL_FEATURES = ['noise', 'spike', 'drift', 'stuck', 'burst', 'jump'] as const;

/** The model's input columns, in order: the sampling interval, then six features per channel. */
export const FEATURE_NAMES: readonly string[] = [
  'interval',
  ...SENSOR_CHANNELS.flatMap((c) => CHANNEL_FEATURES.map((f) => `${c.metric}.${f}`)),
];

/** Columns of the model's input. */
export const FEATURE_COUNT = FEATURE_NAMES.length;

/** What an agent feeds a model: the features it extracts, in order, over windows of a fixed length. */
export interface FeatureContract {
  readonly featureSet: string;
  readonly features: readonly string[];
  readonly windowLength: number;
}

/** The contract of fleetkit's edge agent (`edge/src/ml/features.ts` computes these features). */
export const EDGE_FEATURE_CONTRACT: FeatureContract = {
  featureSet: FEATURE_SET,
  features: FEATURE_NAMES,
  windowLength: WINDOW_LENGTH,
};

/**
 * The feature contract devices of `deviceType` run. Every device type runs fleetkit's edge agent, which
 * extracts one feature set; a device type with an agent of its own would get its own contract here.
 */
export function featureContractOf(_deviceType: string): FeatureContract {
  return EDGE_FEATURE_CONTRACT;
}

/** What the model declares about itself, once its `metadata_props` were found consistent. */
export interface DeclaredModel {
  readonly threshold: number;
  readonly intervalRange: { readonly min: number; readonly max: number };
}

/**
 * Why a model's declared metadata does not fit `contract` (feature set, features, window length) or is
 * not usable (threshold, interval range); undefined when it fits.
 */
export function metadataProblem(
  properties: Readonly<Record<string, string>>,
  contract: FeatureContract,
): string | undefined {
  const p = properties;
  if (p[ModelProperty.featureSet] !== contract.featureSet)
    return `trained on feature set ${p[ModelProperty.featureSet] ?? '(none)'}, the agent extracts ${contract.featureSet}`;
  if (p[ModelProperty.features] !== contract.features.join(','))
    return `expects features [${p[ModelProperty.features] ?? ''}], the agent extracts [${contract.features.join(',')}]`;
  if (Number(p[ModelProperty.windowLength]) !== contract.windowLength)
    return `expects windows of ${p[ModelProperty.windowLength] ?? '(unset)'} readings, the agent makes ${contract.windowLength}`;
  const threshold = Number(p[ModelProperty.threshold]);
  if (!(threshold >= 0 && threshold <= 1)) return `threshold ${p[ModelProperty.threshold]} is not in [0, 1]`;
  const min = Number(p[ModelProperty.intervalMinSeconds]);
  const max = Number(p[ModelProperty.intervalMaxSeconds]);
  if (!(min > 0 && max >= min))
    return `interval range ${p[ModelProperty.intervalMinSeconds]}–${p[ModelProperty.intervalMaxSeconds]} s is not valid`;
  return undefined;
}

/** The threshold and interval range a model declares (call after {@link metadataProblem} found none). */
export function declaredModel(properties: Readonly<Record<string, string>>): DeclaredModel {
  return {
    threshold: Number(properties[ModelProperty.threshold]),
    intervalRange: {
      min: Number(properties[ModelProperty.intervalMinSeconds]),
      max: Number(properties[ModelProperty.intervalMaxSeconds]),
    },
  };
}

/** A model's input or output: its name, element type and shape (a size or a symbolic name per dimension). */
export interface TensorSignature {
  readonly name: string;
  readonly type: string;
  readonly shape: readonly (number | string)[];
}

/** A tensor as `name: type[d0, d1]`, for messages. */
export function describeTensor(t: TensorSignature): string {
  return `${t.name}: ${t.type}[${t.shape.join(', ')}]`;
}

/**
 * Why the model's inputs and outputs are not one float32 input `[batch, features]` with a symbolic
 * batch size and one float32 output `[batch, 1]`; undefined when they are.
 */
export function signatureProblem(
  inputs: readonly TensorSignature[],
  outputs: readonly TensorSignature[],
  contract: FeatureContract,
): string | undefined {
  const [input] = inputs;
  const [output] = outputs;
  const columns = contract.features.length;
  if (inputs.length !== 1 || input === undefined || input.type !== 'float32' || input.shape.length !== 2)
    return `needs one float32 input [batch, ${columns}], has ${inputs.map(describeTensor).join('; ') || 'none'}`;
  if (input.shape[1] !== columns || typeof input.shape[0] !== 'string')
    return `needs input [batch, ${columns}] with a symbolic batch size, has ${describeTensor(input)}`;
  if (outputs.length !== 1 || output === undefined || output.type !== 'float32' || output.shape.length !== 2)
    return `needs one float32 output [batch, 1], has ${outputs.map(describeTensor).join('; ') || 'none'}`;
  if (output.shape[1] !== 1) return `needs output [batch, 1], has ${describeTensor(output)}`;
  return undefined;
}
