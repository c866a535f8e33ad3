import { deflateRawSync } from 'node:zlib';
import { metricName, type Reading } from '../messages.ts';
import {
  KNOWN_UPLINK_METRICS,
  knownMetricByName,
  MAX_QUANTIZED,
  type MetricResolution,
  quantize,
  resolutionProblem,
  SEQ_FIELD_ID,
  TS_FIELD_ID,
} from './resolution.ts';
import { bestRiceParameter, zigzag } from './rice.ts';

/**
 * What every version of the uplink batch format shares: which readings and values a batch can carry,
 * how they become columns of integers, and how a column's predictor is chosen.
 */

/** Most columns a batch may have: ts, seq and up to 254 metrics. */
export const MAX_UPLINK_COLUMNS = 256;

/**
 * Resolutions of metrics beyond the known ones: by name, or a function of the name (a gateway whose
 * sensors' metrics are not known in advance gives all of them one resolution).
 */
export type MetricResolutions =
  | Readonly<Record<string, MetricResolution>>
  | ((name: string) => MetricResolution | undefined);

/**

/** A batch could not be encoded: a value outside what the format carries, or a metric without a resolution. */
export class UplinkEncodeError extends Error {
  override readonly name = 'UplinkEncodeError';
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

export const inRange = (q: number) => Number.isSafeInteger(q) && Math.abs(q) <= MAX_QUANTIZED;

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
export interface FieldColumn {
  readonly key: number | readonly [string, number, number];
  readonly present: boolean[];
  readonly values: number[];
}

/** How one column is coded: the cheapest predictor order and centre, and the Rice parameter for them. */
export interface ColumnPlan {
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

/**
 * The cheapest way to code a column: for each predictor order (0…2), the centre (lower median) and
 * Rice parameter of its residuals, costed with what the header takes for the centre and first values
 * (`headerBits`, which each format version counts its own way).
 */
export function planColumn(values: readonly number[], headerBits: (n: number) => number): ColumnPlan {
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
    const cost = bits + headerBits(center) + firsts.reduce((n, f) => n + headerBits(f), 0);
    if (best === undefined || cost < best.cost)
      best = { order, k, center, firsts: [...firsts], residuals, cost };
  }
  if (best === undefined) throw new UplinkEncodeError('a column without values');
  const { cost: _cost, ...plan } = best;
  return plan;
}

export function presenceBitmap(present: readonly boolean[]): Uint8Array {
  const bitmap = new Uint8Array(Math.ceil(present.length / 8));
  present.forEach((p, i) => {
    if (p) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (0x80 >> (i & 7));
  });
  return bitmap;
}

export function columnsOf(
  readings: readonly Reading[],
  resolutions: MetricResolutions | undefined,
): FieldColumn[] {
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

/** A refusal inside a decoder, turned into a result at its one exit. */
export class Refusal extends Error {}

export const refuse = (reason: string): never => {
  throw new Refusal(reason);
};

/**
 * The bit stream as sent: deflated (raw DEFLATE, RFC 1951) when `mode` says so, or under `auto` when
 * that makes it smaller; `compression` is 1 then, else 0.
 */
export function compress(
  raw: Uint8Array,
  mode: 'auto' | 'none' | 'deflate' = 'auto',
): { compression: number; data: Uint8Array } {
  if (mode === 'none' || raw.length === 0) return { compression: 0, data: raw };
  const deflated = new Uint8Array(deflateRawSync(raw, { level: 9 }));
  return mode === 'deflate' || deflated.length < raw.length
    ? { compression: 1, data: deflated }
    : { compression: 0, data: raw };
}
