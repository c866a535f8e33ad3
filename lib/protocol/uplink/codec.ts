import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { decode as decodeCbor, encode as encodeCbor, Tag } from 'cbor2';
import { MAX_READINGS_PER_MESSAGE, metricName, type Reading } from '../messages.ts';
import {
  dequantize,
  KNOWN_UPLINK_METRICS,
  knownMetricById,
  knownMetricByName,
  MAX_QUANTIZED,
  type MetricResolution,
  quantize,
  resolutionProblem,
  SEQ_FIELD_ID,
  TS_FIELD_ID,
} from './resolution.ts';
import {
  ALL_ZERO_K,
  BitReader,
  BitStreamError,
  BitWriter,
  bestRiceParameter,
  MAX_RICE_K,
  unzigzag,
  zigzag,
} from './rice.ts';

/**
 * Resolutions of metrics beyond the known ones: by name, or a function of the name (a gateway whose
 * sensors' metrics are not known in advance gives all of them one resolution).
 */
export type MetricResolutions =
  | Readonly<Record<string, MetricResolution>>
  | ((name: string) => MetricResolution | undefined);

/**
 * The compact telemetry batch: what a device publishes on `devices/{type}/{id}/telemetry` instead of
 * JSON when it batches. Built for slowly moving sensor series — a reading of six metrics and a
 * timestamp costs about 4 bytes instead of 140.
 *
 * ```
 * 55799([                       self-described CBOR tag (RFC 8949 §3.4.6): d9 d9 f7, never `{`
 *   1,                          format version
 *   batchId,                    uint: the device's number for this batch, the same on every resend
 *   count,                      uint 1…1000: readings in the batch
 *   compression,                0 = none, 1 = raw DEFLATE (RFC 1951) of `data`
 *   [column, ...],              ts first, then seq (when any reading has one), then the metrics
 *   data                        bstr: every column's residuals, Rice-coded, one bit stream
 * ])
 * column = [key, order, k, center, [first, ...], presence?]
 *   key       uint field id (0 ts, 1 seq, KNOWN_UPLINK_METRICS) | [name, decimals, step] for any other metric
 *   order     0…2: the values are predicted from the previous `order` ones (0 none, 1 delta, 2 delta of delta)
 *   k         Rice parameter 0…52, or −1 when every residual is zero (the column takes no bits)
 *   center    int: subtracted from every order-th difference before zigzag (e.g. the sampling interval)
 *   first     the first value of each lower-order difference sequence (`order` of them)
 *   presence  bstr bitmap, bit i (most significant first) set when reading i has the field; omitted
 *             when all have it
 * ```
 *
 * Values are integers counting steps of their resolution ({@link MetricResolution}); the encoder picks,
 * per column, the order and centre that make the Rice code shortest, so a timestamp with timer jitter is
 * coded as its deviation from the sampling interval, a noisy anomaly score as itself, a temperature as
 * its change. The encoder tries DEFLATE on the bit stream and keeps it only if it is smaller.
 */

/** The format version this code writes and reads. */
export const UPLINK_FORMAT_VERSION = 1;

/** The self-described CBOR tag (RFC 8949 §3.4.6) every batch starts with. */
export const SELF_DESCRIBED_CBOR_TAG = 55799;

/** Most columns a batch may have: ts, seq and up to 254 metrics. */
export const MAX_UPLINK_COLUMNS = 256;

/** Largest bit stream the decoder inflates: 1000 readings × 256 columns × 4 bytes. */
const MAX_INFLATED_BYTES = MAX_READINGS_PER_MESSAGE * MAX_UPLINK_COLUMNS * 4;

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
}

/** A batch could not be encoded: a value outside what the format carries, or a metric without a resolution. */
export class UplinkEncodeError extends Error {
  override readonly name = 'UplinkEncodeError';
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

/** The resolution a reading's metric travels at, or why it cannot travel. */
export function resolutionOf(
  name: string,
  resolutions: MetricResolutions | undefined,
): MetricResolution | string {
  const declared = typeof resolutions === 'function' ? resolutions(name) : resolutions?.[name];
  if (declared !== undefined) {
    const problem = resolutionProblem(declared);
    return problem === undefined ? declared : `resolution of '${name}': ${problem}`;
  }
  const known = knownMetricByName(name);
  return known === undefined
    ? `metric '${name}' has no resolution: declare one (known metrics: ${KNOWN_UPLINK_METRICS.map((m) => m.name).join(', ')})`
    : known.resolution;
}

const inRange = (q: number) => Number.isSafeInteger(q) && Math.abs(q) <= MAX_QUANTIZED;

/**
 * Why `reading` cannot go into a batch, or undefined when it can: checked once per reading so that a
 * batcher refuses a bad reading when it is added rather than losing a whole batch at encoding.
 */
export function uplinkReadingProblem(reading: Reading, resolutions?: MetricResolutions): string | undefined {
  if (!Number.isSafeInteger(reading.ts) || reading.ts < 0 || reading.ts > MAX_QUANTIZED)
    return `ts must be an integer from 0 to 2^48, got ${reading.ts}`;
  if (
    reading.seq !== undefined &&
    (!Number.isSafeInteger(reading.seq) || reading.seq < 0 || reading.seq > MAX_QUANTIZED)
  )
    return `seq must be an integer from 0 to 2^48, got ${reading.seq}`;
  for (const [name, value] of Object.entries(reading.values)) {
    if (!metricName.safeParse(name).success)
      return `metric name '${name}' must match [a-zA-Z][a-zA-Z0-9_]{0,63}`;
    const resolution = resolutionOf(name, resolutions);
    if (typeof resolution === 'string') return resolution;
    if (typeof value !== 'number' || !Number.isFinite(value))
      return `${name} must be a finite number, got ${value}`;
    if (!inRange(quantize(value, resolution)))
      return `${name} = ${value} is more than 2^48 steps of its resolution from 0`;
  }
  return undefined;
}

/** One field of the batch before coding: which readings have it, and its values in steps. */
interface FieldColumn {
  readonly key: number | readonly [string, number, number];
  readonly present: boolean[];
  readonly values: number[];
}

/** How one column is coded: the cheapest predictor order and centre, and the Rice parameter for them. */
interface ColumnPlan {
  readonly order: number;
  readonly k: number;
  readonly center: number;
  readonly firsts: number[];
  readonly residuals: number[];
}

const difference = (values: readonly number[]): number[] =>
  values.slice(1).map((v, i) => v - (values[i] as number));

/** The lower median: an integer, and the centre that minimises the residuals' magnitudes. */
function lowerMedian(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[(sorted.length - 1) >> 1] as number;
}

/** Bytes of a CBOR integer head (RFC 8949 §3.1, preferred serialization). */
function cborIntBytes(n: number): number {
  const m = n < 0 ? -n - 1 : n;
  return m < 24 ? 1 : m < 0x100 ? 2 : m < 0x10000 ? 3 : m < 0x100000000 ? 5 : 9;
}

function planColumn(values: readonly number[]): ColumnPlan {
  let best: (ColumnPlan & { cost: number }) | undefined;
  let diffs = [...values];
  const firsts: number[] = [];
  for (let order = 0; order <= Math.min(2, values.length - 1); order++) {
    if (order > 0) {
      firsts.push(diffs[0] as number);
      diffs = difference(diffs);
    }
    const center = lowerMedian(diffs);
    const residuals = diffs.map((d) => zigzag(d - center));
    const { k, bits } = bestRiceParameter(residuals);
    const header = cborIntBytes(center) + firsts.reduce((n, f) => n + cborIntBytes(f), 0);
    const cost = bits + 8 * header;
    if (best === undefined || cost < best.cost)
      best = { order, k, center, firsts: [...firsts], residuals, cost };
  }
  if (best === undefined) throw new UplinkEncodeError('a column without values');
  const { cost: _cost, ...plan } = best;
  return plan;
}

function presenceBitmap(present: readonly boolean[]): Uint8Array {
  const bitmap = new Uint8Array(Math.ceil(present.length / 8));
  present.forEach((p, i) => {
    if (p) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (0x80 >> (i & 7));
  });
  return bitmap;
}

function columnsOf(readings: readonly Reading[], resolutions: MetricResolutions | undefined): FieldColumn[] {
  const ts: FieldColumn = { key: TS_FIELD_ID, present: [], values: [] };
  const seq: FieldColumn = { key: SEQ_FIELD_ID, present: [], values: [] };
  const metrics = new Map<string, FieldColumn & { resolution: MetricResolution }>();
  readings.forEach((reading, i) => {
    const problem = uplinkReadingProblem(reading, resolutions);
    if (problem !== undefined) throw new UplinkEncodeError(`reading ${i}: ${problem}`);
    ts.present.push(true);
    ts.values.push(reading.ts);
    seq.present.push(reading.seq !== undefined);
    if (reading.seq !== undefined) seq.values.push(reading.seq);
    for (const [name, value] of Object.entries(reading.values)) {
      let column = metrics.get(name);
      if (column === undefined) {
        const resolution = resolutionOf(name, resolutions) as MetricResolution;
        const known = knownMetricByName(name);
        const standard =
          known !== undefined &&
          known.resolution.decimals === resolution.decimals &&
          (known.resolution.step ?? 1) === (resolution.step ?? 1);
        column = {
          key: standard ? known.id : [name, resolution.decimals, resolution.step ?? 1],
          present: new Array<boolean>(i).fill(false),
          values: [],
          resolution,
        };
        metrics.set(name, column);
      }
      column.present.push(true);
      column.values.push(quantize(value, column.resolution));
    }
    for (const column of metrics.values()) if (column.present.length === i) column.present.push(false);
  });
  if (metrics.size + 2 > MAX_UPLINK_COLUMNS)
    throw new UplinkEncodeError(
      `a batch carries at most ${MAX_UPLINK_COLUMNS - 2} metrics, got ${metrics.size}`,
    );
  return [ts, ...(seq.values.length > 0 ? [seq] : []), ...metrics.values()];
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
  const bits = new BitWriter();
  const header = columns.map((column) => {
    const plan = planColumn(column.values);
    for (const r of plan.residuals) if (plan.k !== ALL_ZERO_K) bits.rice(r, plan.k);
    const entry: unknown[] = [column.key, plan.order, plan.k, plan.center, plan.firsts];
    if (column.present.some((p) => !p)) entry.push(presenceBitmap(column.present));
    return entry;
  });
  const raw = bits.finish();
  const mode = options.compression ?? 'auto';
  let compression = 0;
  let data = raw;
  if (mode !== 'none' && raw.length > 0) {
    const deflated = new Uint8Array(deflateRawSync(raw, { level: 9 }));
    if (mode === 'deflate' || deflated.length < raw.length) {
      compression = 1;
      data = deflated;
    }
  }
  // cbor2 writes every integral number as a CBOR integer, in its shortest form.
  return encodeCbor(
    new Tag(SELF_DESCRIBED_CBOR_TAG, [
      UPLINK_FORMAT_VERSION,
      batchId,
      readings.length,
      compression,
      header,
      data,
    ]),
  );
}

/** A refusal inside the decoder, turned into a result at its one exit. */
class Refusal extends Error {}

const refuse = (reason: string): never => {
  throw new Refusal(reason);
};

/** A CBOR integer that fits a double exactly (cbor2 gives larger ones as BigInt). */
function integer(value: unknown, what: string, min: number, max: number): number {
  const n = typeof value === 'bigint' && value >= BigInt(min) && value <= BigInt(max) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
    return refuse(`${what} must be an integer from ${min} to ${max}, got ${describe(value)}`);
  return n;
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `a byte string of ${value.length}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return JSON.stringify(value.slice(0, 40));
  if (value instanceof Map) return 'a map';
  if (typeof value === 'object' && value !== null) return `a ${value.constructor?.name ?? 'tagged item'}`;
  return String(value);
}

function array(value: unknown, what: string): unknown[] {
  return Array.isArray(value) ? value : refuse(`${what} must be an array, got ${describe(value)}`);
}

/** A column's field: its name in the readings (or ts/seq) and its resolution. */
type FieldOf =
  | { kind: 'ts' }
  | { kind: 'seq' }
  | { kind: 'metric'; name: string; resolution: MetricResolution };

function fieldOf(key: unknown, what: string): FieldOf {
  if (Array.isArray(key)) {
    if (key.length !== 3)
      refuse(`${what}: a declared metric must be [name, decimals, step], got ${describe(key)}`);
    const name = key[0];
    if (typeof name !== 'string' || !metricName.safeParse(name).success)
      refuse(`${what}: metric name must match [a-zA-Z][a-zA-Z0-9_]{0,63}, got ${describe(name)}`);
    const resolution = {
      decimals: integer(key[1], `${what} decimals`, -9, 9),
      step: integer(key[2], `${what} step`, 1, 65_535),
    };
    return { kind: 'metric', name: name as string, resolution };
  }
  const id = integer(key, `${what} field id`, 0, 0xffff);
  if (id === TS_FIELD_ID) return { kind: 'ts' };
  if (id === SEQ_FIELD_ID) return { kind: 'seq' };
  const known = knownMetricById(id);
  if (known === undefined)
    return refuse(`${what}: unknown field id ${id} in version ${UPLINK_FORMAT_VERSION}`);
  return { kind: 'metric', name: known.name, resolution: known.resolution };
}

/** Which readings have the field: every one without a bitmap. */
function presenceOf(value: unknown, count: number, what: string): boolean[] {
  if (value === undefined) return new Array<boolean>(count).fill(true);
  if (!(value instanceof Uint8Array) || value.length !== Math.ceil(count / 8))
    return refuse(
      `${what}: presence must be a byte string of ${Math.ceil(count / 8)}, got ${describe(value)}`,
    );
  const present = Array.from(
    { length: count },
    (_, i) => (((value[i >> 3] as number) >> (7 - (i & 7))) & 1) === 1,
  );
  for (let i = count; i < value.length * 8; i++)
    if ((((value[i >> 3] as number) >> (7 - (i & 7))) & 1) === 1)
      refuse(`${what}: presence has bits set past reading ${count}`);
  return present;
}

/** The column's values in steps, from its residuals: undo the zigzag and centre, then sum `order` times. */
function readColumn(bits: BitReader, entry: unknown[], present: number, what: string): number[] {
  const order = integer(entry[1], `${what} order`, 0, 2);
  const k = integer(entry[2], `${what} k`, ALL_ZERO_K, MAX_RICE_K);
  const center = integer(entry[3], `${what} center`, -(2 ** 51), 2 ** 51);
  const firsts = array(entry[4], `${what} firsts`);
  if (firsts.length !== order)
    refuse(`${what}: order ${order} needs ${order} first values, got ${firsts.length}`);
  if (present <= order)
    refuse(`${what}: order ${order} needs more than ${order} values, the column has ${present}`);
  let values: number[] = [];
  for (let i = order; i < present; i++) {
    const residual = k === ALL_ZERO_K ? 0 : bits.rice(k);
    values.push(unzigzag(residual) + center);
  }
  for (let level = order - 1; level >= 0; level--) {
    let running = integer(firsts[level], `${what} first value`, -(2 ** 51), 2 ** 51);
    const integrated = [running];
    for (const d of values) {
      running += d;
      if (!Number.isSafeInteger(running)) refuse(`${what}: a value exceeds 2^53`);
      integrated.push(running);
    }
    values = integrated;
  }
  for (const q of values) if (!inRange(q)) refuse(`${what}: value ${q} is more than 2^48 steps from 0`);
  return values;
}

function decodeOrRefuse(bytes: Uint8Array): UplinkBatch {
  if (!isUplinkBatch(bytes)) refuse('does not start with the self-described CBOR tag and an array');
  let top: unknown;
  try {
    top = decodeCbor(bytes); // cbor2 unwraps the self-described tag
  } catch (error) {
    refuse(`not well-formed CBOR (${(error as Error).message})`);
  }
  const fields = array(top, 'the batch');
  const version = fields[0];
  if (version !== UPLINK_FORMAT_VERSION)
    refuse(`unsupported version ${describe(version)} (this decoder reads version ${UPLINK_FORMAT_VERSION})`);
  if (fields.length !== 6) refuse(`version 1 is an array of 6, got ${fields.length}`);
  const batchId = integer(fields[1], 'batchId', 0, Number.MAX_SAFE_INTEGER);
  const count = integer(fields[2], 'count', 1, MAX_READINGS_PER_MESSAGE);
  const compression = integer(fields[3], 'compression', 0, 1);
  const columns = array(fields[4], 'columns');
  if (columns.length === 0 || columns.length > MAX_UPLINK_COLUMNS)
    refuse(`columns must number 1 to ${MAX_UPLINK_COLUMNS}, got ${columns.length}`);
  let data = fields[5];
  if (!(data instanceof Uint8Array)) return refuse(`data must be a byte string, got ${describe(data)}`);
  if (compression === 1) {
    try {
      data = new Uint8Array(inflateRawSync(data, { maxOutputLength: MAX_INFLATED_BYTES }));
    } catch (error) {
      refuse(`data does not inflate (${(error as Error).message})`);
    }
  }
  const bits = new BitReader(data as Uint8Array);
  const times = new Array<number>(count).fill(0);
  const seqs = new Array<number | undefined>(count).fill(undefined);
  const values = Array.from({ length: count }, (): Record<string, number> => ({}));
  const seen = new Set<string>();
  columns.forEach((raw, c) => {
    const what = `column ${c}`;
    const entry = array(raw, what);
    if (entry.length !== 5 && entry.length !== 6)
      refuse(`${what} must be an array of 5 or 6, got ${entry.length}`);
    const field = fieldOf(entry[0], what);
    const name = field.kind === 'metric' ? field.name : field.kind;
    const named = `${what} (${name})`;
    if (seen.has(name)) refuse(`${named} repeats a field`);
    seen.add(name);
    if ((c === 0) !== (field.kind === 'ts')) refuse(`${named}: ts must be the first column, and only that`);
    const present = presenceOf(entry[5], count, named);
    if (field.kind === 'ts' && entry.length === 6) refuse(`${named}: every reading has a ts`);
    const presentCount = present.reduce((n, p) => n + (p ? 1 : 0), 0);
    if (presentCount === 0) refuse(`${named}: no reading has the field`);
    let column: number[];
    try {
      column = readColumn(bits, entry, presentCount, named);
    } catch (error) {
      if (error instanceof BitStreamError) refuse(`${named}: ${error.message}`);
      throw error;
    }
    let next = 0;
    present.forEach((p, i) => {
      if (!p) return;
      const q = column[next++] as number;
      if (field.kind === 'ts') {
        if (q < 0) refuse(`${named}: a negative timestamp`);
        times[i] = q;
      } else if (field.kind === 'seq') {
        if (q < 0) refuse(`${named}: a negative sequence number`);
        seqs[i] = q;
      } else (values[i] as Record<string, number>)[field.name] = dequantize(q, field.resolution);
    });
  });
  if (bits.remaining >= 8) refuse(`${Math.floor(bits.remaining / 8)} bytes of data after the last column`);
  if (!bits.restIsZero()) refuse('padding bits after the last column are not zero');
  // Keys in the order the JSON path gives them: ts, seq when there is one, values.
  const readings = times.map((ts, i): Reading => {
    const seq = seqs[i];
    const readingValues = values[i] as Record<string, number>;
    return seq === undefined ? { ts, values: readingValues } : { ts, seq, values: readingValues };
  });
  return { batchId, readings };
}

/**
 * Decodes a batch payload. Never throws: anything that is not a well-formed version-1 batch — truncated,
 * another version, garbage, values out of range — comes back with a reason naming where it broke.
 */
export function decodeUplinkBatch(bytes: Uint8Array): UplinkDecodeResult {
  try {
    return { ok: true, batch: decodeOrRefuse(bytes) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: `uplink batch: ${error.message}` };
    return { ok: false, reason: `uplink batch: ${(error as Error)?.message ?? String(error)}` };
  }
}
