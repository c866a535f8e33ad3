import type { Reading } from '../messages.ts';
import { MAX_READINGS_PER_MESSAGE } from '../messages.ts';
import { decodeV1, encodeV1 } from './codec-v1.ts';
import { decodeV2, encodeV2 } from './codec-v2.ts';
import { columnsOf, type MetricResolutions, Refusal, UplinkEncodeError } from './columns.ts';

export {
  MAX_UPLINK_COLUMNS,
  type MetricResolutions,
  resolutionOf,
  UplinkEncodeError,
  uplinkReadingProblem,
} from './columns.ts';

/**
 * The compact telemetry batch: what a device publishes on `devices/{type}/{id}/telemetry` instead of
 * JSON when it batches. Built for slowly moving sensor series — a reading of six metrics and a
 * timestamp costs about 4 bytes instead of 140.
 *
 * Every value is an integer counting steps of its metric's resolution ({@link MetricResolution}),
 * coded per column: the encoder picks the predictor order (none, delta, delta of delta) and centre
 * that make the column's Rice code shortest, so a timestamp with timer jitter is coded as its
 * deviation from the sampling interval, a noisy anomaly score as itself, a temperature as its change.
 * The encoder tries DEFLATE on the bit stream and keeps it only if it is smaller.
 *
 * Every batch starts with the self-described CBOR tag (RFC 8949 §3.4.6: d9 d9 f7, which no JSON text
 * starts with) and an array whose first item is the format version. Devices write version 2
 * (`codec-v2.ts`: column headers in the bit stream, about 60 bytes of fixed cost for seven metrics);
 * the cloud also reads version 1 (`codec-v1.ts`: headers in CBOR, about 95), which firmware before it
 * sends. Each batch decodes alone.
 */

/** The format version this code writes. */
export const UPLINK_FORMAT_VERSION = 2;

/** The format versions this code reads. */
export const UPLINK_FORMAT_VERSIONS: readonly number[] = [1, 2];

/** The self-described CBOR tag (RFC 8949 §3.4.6) every batch starts with. */
export const SELF_DESCRIBED_CBOR_TAG = 55799;

/** The readings of one batch and the device's number for it. */
export interface UplinkBatch {
  /** Unique per device queue and kept on every resend, so a receiver can tell a resend from new data. */
  readonly batchId: number;
  /** Oldest first; each with `ts`, maybe `seq`, and its values. */
  readonly readings: readonly Reading[];
}

export interface EncodeUplinkOptions {
  /** Resolutions of metrics outside {@link KNOWN_UPLINK_METRICS}, or overriding a known metric's. */
  readonly resolutions?: MetricResolutions;
  /** `auto` (default) deflates the bit stream when that makes it smaller. */
  readonly compression?: 'auto' | 'none' | 'deflate';
  /** The format version to write: 2 (default), or 1 for a receiver that reads only version 1. */
  readonly version?: 1 | 2;
}

/** A decoded batch, or why the bytes are not one. */
export type UplinkDecodeResult =
  | { readonly ok: true; readonly batch: UplinkBatch }
  | { readonly ok: false; readonly reason: string };

const TAG_BYTES = [0xd9, 0xd9, 0xf7] as const;

/**
 * Whether `bytes` claim to be an uplink batch: the self-described CBOR tag, then an array (or nothing,
 * so a truncated batch is refused as one). Three byte compares, no allocation: it runs on every record
 * no other format claimed.
 */
export function isUplinkBatch(bytes: Uint8Array): boolean {
  if (bytes.length < 3 || bytes[0] !== TAG_BYTES[0] || bytes[1] !== TAG_BYTES[1] || bytes[2] !== TAG_BYTES[2])
    return false;
  return bytes.length === 3 || ((bytes[3] as number) & 0xe0) === 0x80;
}

/**
 * Encodes readings as one batch payload.
 *
 * Lossless at each metric's resolution: decoding gives every value rounded to its resolution (see
 * {@link roundToResolution}), so values already at it — as a sensor reports them — come back exactly.
 *
 * @throws UplinkEncodeError when a reading has a value the format cannot carry (see {@link uplinkReadingProblem}),
 *   the batch is empty or longer than {@link MAX_READINGS_PER_MESSAGE}, or the batch id is not a safe uint
 */
export function encodeUplinkBatch(batch: UplinkBatch, options: EncodeUplinkOptions = {}): Uint8Array {
  const { batchId, readings } = batch;
  if (!Number.isSafeInteger(batchId) || batchId < 0)
    throw new UplinkEncodeError(`batchId must be a non-negative safe integer, got ${batchId}`);
  if (readings.length === 0 || readings.length > MAX_READINGS_PER_MESSAGE)
    throw new UplinkEncodeError(
      `a batch holds 1 to ${MAX_READINGS_PER_MESSAGE} readings, got ${readings.length}`,
    );
  const columns = columnsOf(readings, options.resolutions);
  return (options.version ?? UPLINK_FORMAT_VERSION) === 1
    ? encodeV1(batchId, readings.length, columns, options)
    : encodeV2(batchId, readings.length, columns, options);
}

/**
 * Decodes a batch payload of any version this code reads. Never throws: anything that is not a
 * well-formed batch — truncated, another version, garbage, values out of range — comes back with a
 * reason naming where it broke.
 */
export function decodeUplinkBatch(bytes: Uint8Array): UplinkDecodeResult {
  try {
    if (!isUplinkBatch(bytes))
      throw new Refusal('does not start with the self-described CBOR tag and an array');
    // Version 2's envelope is an array of 3 whose first item is 2: d9 d9 f7 83 02.
    const batch = bytes[3] === 0x83 && bytes[4] === 2 ? decodeV2(bytes) : decodeV1(bytes);
    return { ok: true, batch };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: `uplink batch: ${error.message}` };
    return { ok: false, reason: `uplink batch: ${(error as Error)?.message ?? String(error)}` };
  }
}
