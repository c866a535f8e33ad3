import { inflateRawSync } from 'node:zlib';
import { decode as decodeCbor, encode as encodeCbor, Tag } from 'cbor2';
import { MAX_READINGS_PER_MESSAGE, metricName, type Reading } from '../messages.ts';
import type { EncodeUplinkOptions, UplinkBatch } from './codec.ts';
import {
  compress,
  type FieldColumn,
  inRange,
  MAX_UPLINK_COLUMNS,
  planColumn,
  presenceBitmap,
  Refusal,
  refuse,
} from './columns.ts';
import {
  dequantize,
  knownMetricById,
  type MetricResolution,
  SEQ_FIELD_ID,
  TS_FIELD_ID,
} from './resolution.ts';
import { ALL_ZERO_K, BitReader, BitStreamError, BitWriter, MAX_RICE_K, unzigzag } from './rice.ts';

/**
 * Version 1 of the uplink batch: column headers as CBOR, then one Rice-coded bit stream.
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
 * Devices of firmware before version 2 of the format send it; the cloud decodes it for as long as
 * they do. Its fixed cost is the CBOR around every column: about 95 bytes for seven metrics.
 */

/** Versions the decoder reads. */
const UPLINK_FORMAT_VERSIONS = [1, 2];

/** Largest bit stream the decoder inflates: 1000 readings × 256 columns × 4 bytes. */
export const MAX_INFLATED_BYTES = MAX_READINGS_PER_MESSAGE * MAX_UPLINK_COLUMNS * 4;

/** Bytes of a CBOR integer head (RFC 8949 §3.1, preferred serialization), in bits. */
function cborIntBits(n: number): number {
  const m = n < 0 ? -n - 1 : n;
  return 8 * (m < 24 ? 1 : m < 0x100 ? 2 : m < 0x10000 ? 3 : m < 0x100000000 ? 5 : 9);
}

/** Encodes checked columns as a version-1 batch. */
export function encodeV1(
  batchId: number,
  count: number,
  columns: readonly FieldColumn[],
  options: EncodeUplinkOptions,
): Uint8Array {
  const bits = new BitWriter();
  const header = columns.map((column) => {
    const plan = planColumn(column.values, cborIntBits);
    for (const r of plan.residuals) if (plan.k !== ALL_ZERO_K) bits.rice(r, plan.k);
    const entry: unknown[] = [column.key, plan.order, plan.k, plan.center, plan.firsts];
    if (column.present.some((p) => !p)) entry.push(presenceBitmap(column.present));
    return entry;
  });
  const { compression, data } = compress(bits.finish(), options.compression);
  // cbor2 writes every integral number as a CBOR integer, in its shortest form.
  return encodeCbor(new Tag(55799, [1, batchId, count, compression, header, data]));
}

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
  if (known === undefined) return refuse(`${what}: unknown field id ${id} in version 1`);
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

/**
 * Decodes a version-1 batch (through cbor2: a generic decoder, fine for the older firmware that still
 * sends this version); throws {@link Refusal} with the reason.
 */
export function decodeV1(bytes: Uint8Array): UplinkBatch {
  let top: unknown;
  try {
    top = decodeCbor(bytes); // cbor2 unwraps the self-described tag
  } catch (error) {
    refuse(`not well-formed CBOR (${(error as Error).message})`);
  }
  const fields = array(top, 'the batch');
  const version = fields[0];
  if (version === 2) refuse(`version 2 is an array of 3, got ${fields.length}`);
  if (version !== 1)
    refuse(
      `unsupported version ${describe(version)} (this decoder reads versions ${UPLINK_FORMAT_VERSIONS.join(' and ')})`,
    );
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
