import * as z from 'zod';
import { registerFirmwareRequest, sha256Hex } from './firmware.ts';
import { version } from './messages.ts';

/**
 * The edge anomaly model's wire contract: how a model version is named when it is delivered (like
 * firmware: a version and the SHA-256 of the file, checked before the device swaps to it), and what a
 * device reports about the model it runs, in its shadow's `reported.model`.
 */

/** A model version to deliver: the device refuses a file whose digest differs. */
export const modelRef = z.object({
  version,
  sha256: sha256Hex,
  sizeBytes: z.number().int().positive().optional(),
});
export type ModelRef = z.output<typeof modelRef>;

/** Element types onnxruntime reports for tensors (onnxruntime-common `Tensor.Type`). */
export const tensorElementType = z.enum([
  'float32',
  'float64',
  'float16',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'bool',
  'string',
  'int4',
  'uint4',
]);

/** One input or output of the model: a fixed size or a symbolic one (`batch`) per dimension. */
export const modelTensorInfo = z.object({
  name: z.string().min(1).max(128),
  type: tensorElementType,
  shape: z.array(z.union([z.number().int().min(0), z.string().max(64)])).max(8),
});
export type ModelTensorInfo = z.output<typeof modelTensorInfo>;

/** Reported by a device about the model it is running (kept small: it lives in an 8 KB shadow). */
export const modelInfo = z.object({
  /** The graph's name, e.g. `fleetkit_anomaly_mlp`. */
  name: z.string().min(1).max(128),
  version,
  sha256: sha256Hex,
  sizeBytes: z.number().int().positive(),
  /** The tool that wrote the file (`ModelProto.producer_name` / `producer_version`). */
  producer: z.string().max(128),
  irVersion: z.number().int().min(1),
  /** Version of the default (`ai.onnx`) operator set the graph uses. */
  opset: z.number().int().min(1),
  /** The per-window feature definitions the model was trained on. */
  featureSet: z.string().min(1).max(64),
  windowLength: z.number().int().positive(),
  /** Score at or above which a window counts as anomalous. */
  threshold: z.number().min(0).max(1),
  inputs: z.array(modelTensorInfo).min(1).max(8),
  outputs: z.array(modelTensorInfo).min(1).max(8),
  /** When this version started serving on the device (epoch milliseconds). */
  loadedAt: z.number().int().min(0),
});
export type ModelInfo = z.output<typeof modelInfo>;

/** Largest model the model registry accepts: it reads a model whole to check it before signing. */
export const MAX_MODEL_BYTES = 64 * 1024 * 1024;

/**
 * `POST /models`: what the uploader declares about a model before uploading it (issue 12, step 4). As
 * for firmware, with device types whose feature contract the model must fit; one presigned PUT.
 */
export const registerModelRequest = registerFirmwareRequest.omit({ upload: true, partSize: true }).extend({
  size: z
    .number()
    .int('must be a whole number of bytes')
    .min(1, 'must be at least 1 byte')
    .max(MAX_MODEL_BYTES, `must be at most ${MAX_MODEL_BYTES} bytes`),
});
export type RegisterModelRequest = z.output<typeof registerModelRequest>;
