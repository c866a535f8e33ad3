/**
 * What a fleetkit anomaly model declares in its ONNX `metadata_props`, so that the agent can tell
 * before serving it whether it can feed it: the training script writes these keys, the agent reads
 * and checks them. A model is one float32 input `[batch, features]` and one float32 output
 * `[batch, 1]`, a score in [0, 1] per window.
 */
export const ModelProperty = {
  /** Semantic version of the model, compared with the version it was delivered as. */
  version: 'fleetkit.version',
  /** {@link FEATURE_SET} the model was trained on. */
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
