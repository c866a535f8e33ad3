import { inflateRawSync } from 'node:zlib';
import { MAX_READINGS_PER_MESSAGE, type Reading } from '../messages.ts';
import type { EncodeUplinkOptions, UplinkBatch } from './codec.ts';
import { MAX_INFLATED_BYTES } from './codec-v1.ts';
import { compress, type FieldColumn, inRange, MAX_UPLINK_COLUMNS, planColumn, refuse } from './columns.ts';
import { knownMetricById, MAX_DECIMALS, type MetricResolution, MIN_DECIMALS } from './resolution.ts';
import { ALL_ZERO_K, BitReader, BitStreamError, BitWriter, MAX_RICE_K, unzigzag, zigzag } from './rice.ts';

/**
 * Version 2 of the uplink batch: the same columns as version 1 (predictor order, centre, first
 * values, Rice-coded residuals), with the column headers in the bit stream instead of CBOR. A batch
 * of the default device (seven metrics, ts and seq) then costs about 60 bytes of fixed cost instead
 * of 95 — the difference that matters when a batch holds ten readings, not a thousand. Each batch
 * still decodes alone: nothing refers to another batch.
 *
 * ```
 * 55799([2, compression, data])  self-described CBOR tag (d9 d9 f7), an array of 3: version 2,
 *                                0 = data as is, 1 = data is the raw DEFLATE (RFC 1951) of the bit stream
 * bit stream (most significant bit first):
 *   batchId          uvar
 *   count − 1        uvar                  readings in the batch, 1…1000
 *   seq              1 bit                 a seq column follows ts
 *   metrics          uvar                  metric columns after ts (and seq)
 *   per column, ts first, then seq, then the metrics:
 *     key            metrics only: 0, uvar(id − 2) for a known metric (KNOWN_UPLINK_METRICS);
 *                    1, name, 5 bits decimals + 9, uvar step for any other
 *     presence       not for ts: 1 bit, 1 = a bitmap of `count` bits follows (bit i: reading i has it)
 *     order          2 bits, 0…2: predicted from the previous `order` values
 *     k              6 bits: Rice parameter + 1, 0 when every residual is zero (no residual bits)
 *     center         svar: subtracted from each order-th difference before zigzag
 *     firsts         `order` svars: the first value of each lower-order difference sequence
 *     residuals      Rice-coded, one per present value past the first `order`
 *   zero bits to the end of the last byte
 * uvar n = 6 bits L (n's bit length, 0…53), then the L − 1 bits below n's leading one
 * svar n = uvar of zigzag(n)
 * name   = 6 bits length − 1, then 6 bits per character: 0-9 → 0…9, A-Z → 10…35, a-z → 36…61, _ → 62
 * ```
 */

export const VERSION = 2;

/** Bit length of `n` (a non-negative safe integer). */
function bitLength(n: number): number {
  // Math.clz32 sees 32 bits; above them, count the high part's (log2 rounds near 2^53).
  return n < 2 ** 32 ? 32 - Math.clz32(n) : 32 + bitLength(Math.floor(n / 2 ** 32));
}

/** Bits a {@link writeUvar} of `n` takes. */
const uvarBits = (n: number) => {
  const length = bitLength(n);
  return 6 + Math.max(0, length - 1);
};

function writeUvar(bits: BitWriter, n: number): void {
  const length = bitLength(n);
  bits.bits(length, 6);
  if (length > 1) bits.bits(n - 2 ** (length - 1), length - 1);
}

function readUvar(bits: BitReader, what: string): number {
  const length = bits.bits(6);
  if (length > 53) refuse(`${what}: a number of ${length} bits`);
  if (length <= 1) return length;
  return 2 ** (length - 1) + bits.bits(length - 1);
}

const writeSvar = (bits: BitWriter, n: number) => writeUvar(bits, zigzag(n));
const readSvar = (bits: BitReader, what: string) => unzigzag(readUvar(bits, what));

const NAME_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_';

function writeKey(bits: BitWriter, key: FieldColumn['key']): void {
  if (typeof key === 'number') {
    bits.bits(0, 1);
    writeUvar(bits, key - 2);
    return;
  }
  const [name, decimals, step] = key;
  bits.bits(1, 1);
  bits.bits(name.length - 1, 6);
  for (const char of name) bits.bits(NAME_ALPHABET.indexOf(char), 6);
  bits.bits(decimals - MIN_DECIMALS, 5);
  writeUvar(bits, step);
}

/** A metric column's name and resolution. */
interface MetricField {
  readonly name: string;
  readonly resolution: MetricResolution;
}

function readKey(bits: BitReader, what: string): MetricField {
  if (bits.bits(1) === 0) {
    const id = readUvar(bits, `${what} field id`) + 2;
    const known = knownMetricById(id);
    if (known === undefined) return refuse(`${what}: unknown field id ${id} in version ${VERSION}`);
    return known;
  }
  const length = bits.bits(6) + 1;
  let name = '';
  for (let i = 0; i < length; i++) {
    const char = NAME_ALPHABET[bits.bits(6)];
    if (char === undefined) refuse(`${what}: a metric name holds a character outside [a-zA-Z0-9_]`);
    name += char;
  }
  if (!/^[a-zA-Z]/.test(name)) refuse(`${what}: metric name must start with a letter, got "${name}"`);
  const decimals = bits.bits(5) + MIN_DECIMALS;
  if (decimals > MAX_DECIMALS)
    refuse(`${what}: decimals must be from ${MIN_DECIMALS} to ${MAX_DECIMALS}, got ${decimals}`);
  const step = readUvar(bits, `${what} step`);
  if (step < 1 || step > 65_535) refuse(`${what}: step must be from 1 to 65535, got ${step}`);
  return { name, resolution: { decimals, step } };
}

/** Encodes checked columns (ts first, then seq if any, then metrics) as a version-2 batch. */
export function encodeV2(
  batchId: number,
  count: number,
  columns: readonly FieldColumn[],
  options: EncodeUplinkOptions,
): Uint8Array {
  const bits = new BitWriter();
  writeUvar(bits, batchId);
  writeUvar(bits, count - 1);
  const hasSeq = columns[1]?.key === 1;
  bits.bits(hasSeq ? 1 : 0, 1);
  writeUvar(bits, columns.length - (hasSeq ? 2 : 1));
  columns.forEach((column, c) => {
    if (c > (hasSeq ? 1 : 0)) writeKey(bits, column.key);
    if (c > 0) {
      const partial = column.present.some((p) => !p);
      bits.bits(partial ? 1 : 0, 1);
      if (partial) for (const p of column.present) bits.bits(p ? 1 : 0, 1);
    }
    const plan = planColumn(column.values, uvarBits);
    bits.bits(plan.order, 2);
    bits.bits(plan.k + 1, 6);
    writeSvar(bits, plan.center);
    for (const first of plan.firsts) writeSvar(bits, first);
    if (plan.k !== ALL_ZERO_K) for (const r of plan.residuals) bits.rice(r, plan.k);
  });
  const { compression, data } = compress(bits.finish(), options.compression);
  return withEnvelope(compression, data);
}

/** `55799([2, compression, data])`, written by hand: five heads, no CBOR library needed. */
function withEnvelope(compression: number, data: Uint8Array): Uint8Array {
  const n = data.length;
  const head =
    n < 24 ? [0x40 | n] : n < 0x100 ? [0x58, n] : n < 0x10000 ? [0x59, n >> 8, n & 0xff] : undefined;
  const lengthBytes = head ?? [0x5a, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(6 + lengthBytes.length + n);
  out.set([0xd9, 0xd9, 0xf7, 0x83, VERSION, compression, ...lengthBytes]);
  out.set(data, 6 + lengthBytes.length);
  return out;
}

/** The bit stream of a version-2 batch: its envelope read by hand, the data inflated when it says so. */
function bitStreamOf(bytes: Uint8Array): Uint8Array {
  // d9 d9 f7 83 02 (checked by the caller), then the compression and the byte string.
  if (bytes.length < 7) refuse('version 2 ends inside its envelope');
  const compression = bytes[5] as number;
  if (compression !== 0 && compression !== 1)
    refuse(`compression must be 0 or 1, got the CBOR head 0x${compression.toString(16)}`);
  const head = bytes[6] as number;
  let length: number;
  let start: number;
  if (head >= 0x40 && head < 0x58) [length, start] = [head - 0x40, 7];
  else if (head === 0x58) [length, start] = [bytes[7] ?? -1, 8];
  else if (head === 0x59) [length, start] = [((bytes[7] ?? 0) << 8) | (bytes[8] ?? 0), 9];
  else if (head === 0x5a)
    [length, start] = [
      (bytes[7] ?? 0) * 2 ** 24 + (((bytes[8] ?? 0) << 16) | ((bytes[9] ?? 0) << 8) | (bytes[10] ?? 0)),
      11,
    ];
  else return refuse(`data must be a definite-length byte string, got the CBOR head 0x${head.toString(16)}`);
  if (start + length !== bytes.length)
    refuse(
      start + length > bytes.length
        ? `data is cut short: ${bytes.length - start} of ${length} bytes`
        : `${bytes.length - start - length} bytes after the batch`,
    );
  const data = bytes.subarray(start, start + length);
  if (compression === 0) return data;
  try {
    return new Uint8Array(inflateRawSync(data, { maxOutputLength: MAX_INFLATED_BYTES }));
  } catch (error) {
    return refuse(`data does not inflate (${(error as Error).message})`);
  }
}

/** One column: its residuals integrated back into values (steps), checked. */
function readValues(bits: BitReader, present: number, what: string): number[] {
  const order = bits.bits(2);
  if (order > 2) refuse(`${what}: order must be 0 to 2, got ${order}`);
  const k = bits.bits(6) - 1;
  if (k > MAX_RICE_K) refuse(`${what}: k must be at most ${MAX_RICE_K}, got ${k}`);
  const center = readSvar(bits, `${what} center`);
  if (present <= order)
    refuse(`${what}: order ${order} needs more than ${order} values, the column has ${present}`);
  const firsts: number[] = [];
  for (let i = 0; i < order; i++) firsts.push(readSvar(bits, `${what} first value`));
  const values = new Array<number>(present);
  for (let i = order; i < present; i++) values[i] = (k === ALL_ZERO_K ? 0 : unzigzag(bits.rice(k))) + center;
  // Integrate `order` times, in place: level l turns differences of order l + 1 into those of order l.
  for (let level = order - 1; level >= 0; level--) {
    let running = firsts[level] as number;
    values[level] = running;
    for (let i = level + 1; i < present; i++) {
      running += values[i] as number;
      if (!Number.isSafeInteger(running)) refuse(`${what}: a value exceeds 2^53`);
      values[i] = running;
    }
  }
  for (let i = 0; i < present; i++)
    if (!inRange(values[i] as number)) refuse(`${what}: value ${values[i]} is more than 2^48 steps from 0`);
  return values;
}

/** Which readings a column has, or undefined for all of them. */
function readPresence(bits: BitReader, count: number, what: string): Uint8Array | undefined {
  if (bits.bits(1) === 0) return undefined;
  const present = new Uint8Array(count);
  let n = 0;
  for (let i = 0; i < count; i++) n += present[i] = bits.bits(1);
  if (n === 0) refuse(`${what}: no reading has the field`);
  if (n === count) refuse(`${what}: a presence bitmap where every reading has the field`);
  return present;
}

/** Decodes a version-2 batch; throws a `Refusal` with the reason. */
export function decodeV2(bytes: Uint8Array): UplinkBatch {
  const bits = new BitReader(bitStreamOf(bytes));
  try {
    const batchId = readUvar(bits, 'batchId');
    if (!Number.isSafeInteger(batchId)) refuse('batchId exceeds 2^53');
    const count = readUvar(bits, 'count') + 1;
    if (count > MAX_READINGS_PER_MESSAGE)
      refuse(`count must be 1 to ${MAX_READINGS_PER_MESSAGE}, got ${count}`);
    const hasSeq = bits.bits(1) === 1;
    const metrics = readUvar(bits, 'metrics');
    if (metrics + (hasSeq ? 2 : 1) > MAX_UPLINK_COLUMNS)
      refuse(`columns must number 1 to ${MAX_UPLINK_COLUMNS}, got ${metrics + (hasSeq ? 2 : 1)}`);
    const times = readValues(bits, count, 'column 0 (ts)');
    const readings = new Array<Reading>(count);
    for (let i = 0; i < count; i++) {
      const ts = times[i] as number;
      if (ts < 0) refuse('column 0 (ts): a negative timestamp');
      readings[i] = { ts, values: {} };
    }
    if (hasSeq) readSeq(bits, readings, count);
    const seen = new Set<string>();
    for (let m = 0; m < metrics; m++) {
      const c = m + (hasSeq ? 2 : 1);
      const field = readKey(bits, `column ${c}`);
      const what = `column ${c} (${field.name})`;
      if (seen.has(field.name)) refuse(`${what} repeats a field`);
      seen.add(field.name);
      const present = readPresence(bits, count, what);
      const values = readValues(bits, present === undefined ? count : countOf(present), what);
      // dequantize's arithmetic, with the column's scale worked out once.
      const { decimals, step = 1 } = field.resolution;
      const scale = 10 ** Math.abs(decimals);
      const name = field.name;
      let next = 0;
      for (let i = 0; i < count; i++) {
        if (present !== undefined && present[i] === 0) continue;
        const q = values[next++] as number;
        const value = decimals >= 0 ? (q * step) / scale : q * step * scale;
        (readings[i] as Reading).values[name] = value === 0 ? 0 : value;
      }
    }
    if (bits.remaining >= 8) refuse(`${Math.floor(bits.remaining / 8)} bytes of data after the last column`);
    if (!bits.restIsZero()) refuse('padding bits after the last column are not zero');
    return { batchId, readings };
  } catch (error) {
    if (error instanceof BitStreamError) refuse(error.message);
    throw error;
  }
}

function countOf(present: Uint8Array): number {
  let n = 0;
  for (const p of present) n += p;
  return n;
}

/** The seq column: readings keep the key order of the JSON path (ts, seq, values). */
function readSeq(bits: BitReader, readings: Reading[], count: number): void {
  const what = 'column 1 (seq)';
  const present = readPresence(bits, count, what);
  const seqs = readValues(bits, present === undefined ? count : countOf(present), what);
  let next = 0;
  for (let i = 0; i < count; i++) {
    if (present !== undefined && present[i] === 0) continue;
    const seq = seqs[next++] as number;
    if (seq < 0) refuse(`${what}: a negative sequence number`);
    const { ts, values } = readings[i] as Reading;
    readings[i] = { ts, seq, values };
  }
}
