/**
 * The resolution of each metric on the compact uplink: values travel as integers counting steps of
 * the metric's resolution, so a sensor's own precision costs nothing and noise below it is never sent.
 */

/**
 * One step of a metric: `step × 10^−decimals` of its unit. Temperature at 0.01 °C is `{ decimals: 2 }`,
 * RSRQ's 0.5 dB steps (3GPP TS 36.133 §9.1.7) are `{ decimals: 1, step: 5 }`.
 */
export interface MetricResolution {
  /** Decimal places of the step, −9…9 (negative for steps of 10, 100, ...). */
  readonly decimals: number;
  /** Integer multiple of `10^−decimals` that makes one step, 1…65535; 1 when omitted. */
  readonly step?: number;
}

/** A metric the version-1 wire format knows by number: its id on the wire, its name and resolution. */
export interface KnownUplinkMetric {
  readonly id: number;
  readonly name: string;
  readonly resolution: MetricResolution;
  /** What the resolution is, for people. */
  readonly unit: string;
}

/**
 * Field ids of version 1. Append-only: an id, once shipped in firmware, keeps its name and resolution
 * forever (a cloud decodes batches from every firmware in the fleet). Ids 0 and 1 are the reading's
 * `ts` (epoch ms) and `seq`.
 */
export const TS_FIELD_ID = 0;
export const SEQ_FIELD_ID = 1;

/**
 * The metrics every fleetkit device may send, each at its sensor's resolution: the simulator's sensors
 * (`edge/src/sensors/sensor-model.ts`), the modem's signal quality as 3GPP TS 27.007 +CESQ reports it, and
 * the edge model's anomaly score. A metric not listed here travels with its name and a resolution the
 * device declares.
 */
export const KNOWN_UPLINK_METRICS: readonly KnownUplinkMetric[] = [
  { id: 2, name: 'temperature', resolution: { decimals: 2 }, unit: '0.01 °C' },
  { id: 3, name: 'humidity', resolution: { decimals: 1 }, unit: '0.1 %RH' },
  { id: 4, name: 'pressure', resolution: { decimals: 1 }, unit: '0.1 hPa' },
  { id: 5, name: 'battery', resolution: { decimals: 0 }, unit: '1 %' },
  { id: 6, name: 'rsrp', resolution: { decimals: 0 }, unit: '1 dBm' },
  { id: 7, name: 'rsrq', resolution: { decimals: 1, step: 5 }, unit: '0.5 dB' },
  { id: 8, name: 'anomalyScore', resolution: { decimals: 3 }, unit: '0.001' },
];

const byName = new Map(KNOWN_UPLINK_METRICS.map((m) => [m.name, m]));
const byId = new Map(KNOWN_UPLINK_METRICS.map((m) => [m.id, m]));

/** The known metric of that name, if any. */
export const knownMetricByName = (name: string): KnownUplinkMetric | undefined => byName.get(name);
/** The known metric of that wire id, if any. */
export const knownMetricById = (id: number): KnownUplinkMetric | undefined => byId.get(id);

/**
 * Largest magnitude of a quantized value (2^48 steps: 2.8e14, ample for epoch ms and any sensor). Kept
 * well under 2^53 so second differences, their offsets and zigzag mapping stay exact in a double.
 */
export const MAX_QUANTIZED = 2 ** 48;

export const MIN_DECIMALS = -9;
export const MAX_DECIMALS = 9;
export const MAX_STEP = 65_535;

/** Why a resolution is not usable, or undefined when it is. */
export function resolutionProblem(resolution: MetricResolution): string | undefined {
  const { decimals, step = 1 } = resolution;
  if (!Number.isInteger(decimals) || decimals < MIN_DECIMALS || decimals > MAX_DECIMALS)
    return `decimals must be an integer from ${MIN_DECIMALS} to ${MAX_DECIMALS}, got ${decimals}`;
  if (!Number.isInteger(step) || step < 1 || step > MAX_STEP)
    return `step must be an integer from 1 to ${MAX_STEP}, got ${step}`;
  return undefined;
}

/**
 * `value` as a whole number of steps, rounded to the nearest (half up, as `Math.round`). For a step of
 * `10^−d` this is `Math.round(value × 10^d)`, the rounding the sensor model itself applies. May be
 * non-finite or beyond {@link MAX_QUANTIZED}: callers check.
 */
export function quantize(value: number, resolution: MetricResolution): number {
  const { decimals, step = 1 } = resolution;
  const scale = 10 ** Math.abs(decimals);
  const q = decimals >= 0 ? Math.round((value * scale) / step) : Math.round(value / (scale * step));
  // −0 would come back as 0 anyway (JSON has no −0); normalise it here so both paths agree.
  return q === 0 ? 0 : q;
}

/**
 * The value of `q` steps. Multiplying integers and dividing by a power of ten gives the double nearest
 * the decimal, which is what parsing that decimal from JSON gives: `dequantize(2137, {decimals: 2})`
 * is exactly `21.37`.
 */
export function dequantize(q: number, resolution: MetricResolution): number {
  const { decimals, step = 1 } = resolution;
  const scale = 10 ** Math.abs(decimals);
  const value = decimals >= 0 ? (q * step) / scale : q * step * scale;
  return value === 0 ? 0 : value;
}

/** `value` rounded to its resolution: exactly what a batch delivers for it. */
export function roundToResolution(value: number, resolution: MetricResolution): number {
  return dequantize(quantize(value, resolution), resolution);
}
