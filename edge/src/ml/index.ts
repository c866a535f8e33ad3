/**
 * Edge ML: the anomaly model the agent runs on onnxruntime-node. Windows of readings go in
 * ({@link extractFeatures}), one score per window comes out ({@link AnomalyDetector}); a new model
 * version is verified before it replaces the serving one ({@link AnomalyDetector.swap}).
 */

export { ModelProperty } from '../../../lib/protocol/model-contract.ts';
export {
  AnomalyDetector,
  type AnomalyDetectorOptions,
  type ModelSource,
  type SessionFactory,
  type WindowScore,
} from './anomaly-detector.ts';
export {
  DetectorClosedError,
  InvalidFeaturesError,
  ModelRejectedError,
  type ModelRejectionReason,
} from './errors.ts';
export {
  extractFeatures,
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SET,
  SENSOR_CHANNELS,
  WINDOW_LENGTH,
  type WindowRejection,
  type WindowRejectionReason,
  windowFeatures,
} from './features.ts';
