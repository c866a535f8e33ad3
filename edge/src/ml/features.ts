import type { Reading } from '../../../lib/protocol/messages.ts';
import {
  CHANNEL_FEATURES,
  FEATURE_COUNT,
  SENSOR_CHANNELS,
  WINDOW_LENGTH,
} from '../../../lib/protocol/model-contract.ts';

/**
 * Per-window features of a device's sensor readings: the anomaly model's input, computed the same way
 * by the training script (`edge/model/`) and by the agent, so training and serving cannot drift apart.
 *
 * Every feature is built from first differences (and the window's own statistics), never from
 * absolute levels: each device has its own climate, so a level says nothing about an anomaly, while a
 * jump, a frozen value, a drift or a burst of noise does, whatever the level. Everything is O(n) in
 * one pass per channel — no sort — because extraction runs on the agent's inference path.
 */

// The contract's constants live in lib/protocol, so the cloud's model registry checks a model against the
// very features this file computes.
export {
  CHANNEL_FEATURES,
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SET,
  SENSOR_CHANNELS,
  WINDOW_LENGTH,
} from '../../../lib/protocol/model-contract.ts';

/**
 * The largest gap between two readings, as a multiple of the window's mean interval, that still
 * counts as regular sampling: timer jitter is fine, a reading lost in an outage is not (features
 * of a window with a hole in it mean something else).
 */
export const MAX_GAP_FACTOR = 1.5;

/** Why a window cannot be scored. */
export type WindowRejectionReason =
  | 'wrong-length'
  | 'missing-metric'
  | 'not-finite'
  | 'not-increasing'
  | 'irregular-interval'
  | 'interval-out-of-range';

/** A window that was not scored, and why; nothing else about the batch changes. */
export interface WindowRejection {
  readonly ok: false;
  readonly reason: WindowRejectionReason;
  readonly detail: string;
}

/** A refusal of a window. */
export const reject = (reason: WindowRejectionReason, detail: string): WindowRejection => ({
  ok: false,
  reason,
  detail,
});

const CHANNELS = SENSOR_CHANNELS.length;
const DIFFS = WINDOW_LENGTH - 1;
/** Readings averaged at each end of the window for `drift`: a quarter of it. */
const EDGE = WINDOW_LENGTH / 4;
/** Diffs per third of the window for `burst` (the last third has one fewer). */
const THIRD = Math.ceil(DIFFS / 3);

/**
 * Scratch space for {@link extractFeatures}: one window of values, channel-major. Reused across
 * calls so the inference path allocates nothing per window.
 */
export function createFeatureScratch(): Float64Array {
  return new Float64Array(CHANNELS * WINDOW_LENGTH);
}

/**
 * Checks `window` and writes its {@link FEATURE_COUNT} features into `out` from `offset`.
 *
 * Returns the mean sampling interval in seconds, or the reason the window was refused (in which case
 * `out` may hold partial values at `offset`, which the caller overwrites or ignores).
 *
 * Features (per channel, with `d` the first differences and `r` the sensor's resolution):
 * - `noise`: ln((rms(d) + r) / √interval) — step noise per √s, comparable across intervals.
 * - `spike`: ln((max|d| + r) / (mean|d| without the two largest + r)) — one jump against the rest.
 * - `drift`: ln(1 + |mean(last quarter) − mean(first quarter)| / (rms(d)·√(¾n) + r)) — a trend
 *   larger than a random walk with this window's step size would wander.
 * - `stuck`: the longest run of unchanged values, as a fraction of the diffs — a frozen sensor.
 * - `burst`: ln((rms of the noisiest third + r) / (rms of the calmest third + r)) — noise that changed.
 * - `jump`: ln(1 + max|d| / r) — the largest step in resolution units (a battery sag shows here).
 */
export function extractFeatures(
  window: readonly Reading[],
  out: Float32Array,
  offset: number,
  scratch: Float64Array,
  intervalRange: { readonly min: number; readonly max: number } = { min: 0, max: Number.POSITIVE_INFINITY },
): number | WindowRejection {
  if (!Array.isArray(window) || window.length !== WINDOW_LENGTH)
    return reject(
      'wrong-length',
      `a window holds ${WINDOW_LENGTH} readings, got ${Array.isArray(window) ? window.length : typeof window}`,
    );
  const interval = loadWindow(window, scratch);
  if (typeof interval !== 'number') return interval;
  if (interval < intervalRange.min || interval > intervalRange.max)
    return reject(
      'interval-out-of-range',
      `sampling interval ${interval.toFixed(1)} s is outside the model's ${intervalRange.min}–${intervalRange.max} s`,
    );
  out[offset] = Math.log(interval / 10);
  const rootInterval = Math.sqrt(interval);
  for (let c = 0; c < CHANNELS; c++) {
    writeChannelFeatures(
      scratch,
      c * WINDOW_LENGTH,
      SENSOR_CHANNELS[c]?.resolution ?? 1,
      rootInterval,
      out,
      offset + 1 + c * CHANNEL_FEATURES.length,
    );
  }
  // Finite readings can still overflow (1e308 − (−1e308)), or exceed float32: never feed the model that.
  if (!allFinite(out, offset, offset + FEATURE_COUNT))
    return reject('not-finite', 'readings so large that their features overflow (not sensor values)');
  return interval;
}

/**
 * True if `values[from..to)` holds no NaN or ±Infinity. Adds `v · 0` (NaN for exactly those values)
 * in four independent sums: no branch per value, and no single chain of dependent additions.
 */
export function allFinite(values: Float32Array, from = 0, to = values.length): boolean {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = from;
  for (; i + 3 < to; i += 4) {
    s0 += (values[i] as number) * 0;
    s1 += (values[i + 1] as number) * 0;
    s2 += (values[i + 2] as number) * 0;
    s3 += (values[i + 3] as number) * 0;
  }
  for (; i < to; i++) s0 += (values[i] as number) * 0;
  return s0 + s1 + s2 + s3 === 0;
}

/**
 * Copies the channels of `window` into `scratch` (channel-major), checking every value and timestamp.
 * The four metrics are read by name rather than through {@link SENSOR_CHANNELS}: named loads stay
 * monomorphic in V8, a loop of keyed loads does not, and this loop is most of the extraction's cost.
 */
function loadWindow(window: readonly Reading[], scratch: Float64Array): number | WindowRejection {
  let previousTs = Number.NEGATIVE_INFINITY;
  let maxGap = 0;
  for (let i = 0; i < WINDOW_LENGTH; i++) {
    const reading = window[i];
    const values = reading?.values;
    if (values === undefined || values === null)
      return reject('missing-metric', `reading ${i} has no values`);
    const ts = reading?.ts;
    if (typeof ts !== 'number' || !Number.isFinite(ts))
      return reject('not-finite', `reading ${i} has timestamp ${String(ts)}`);
    if (ts <= previousTs)
      return reject('not-increasing', `reading ${i} at ${ts} does not come after ${previousTs}`);
    if (i > 0 && ts - previousTs > maxGap) maxGap = ts - previousTs;
    previousTs = ts;
    const temperature = values.temperature;
    const humidity = values.humidity;
    const pressure = values.pressure;
    const battery = values.battery;
    // Number.isFinite is false for undefined and non-numbers too: one check on the common path.
    if (
      !Number.isFinite(temperature) ||
      !Number.isFinite(humidity) ||
      !Number.isFinite(pressure) ||
      !Number.isFinite(battery)
    )
      return badValue(values, `reading ${i}`);
    scratch[i] = temperature as number;
    scratch[WINDOW_LENGTH + i] = humidity as number;
    scratch[2 * WINDOW_LENGTH + i] = pressure as number;
    scratch[3 * WINDOW_LENGTH + i] = battery as number;
  }
  const first = window[0]?.ts ?? 0;
  const meanGapMs = (previousTs - first) / DIFFS;
  if (maxGap > MAX_GAP_FACTOR * meanGapMs)
    return reject(
      'irregular-interval',
      `a gap of ${maxGap} ms against a mean interval of ${meanGapMs.toFixed(0)} ms (readings missing?)`,
    );
  return meanGapMs / 1000;
}

/** Says which metric of a reading (named `which`, as `reading 7`) is missing or not a finite number. */
export function badValue(
  values: Readonly<Record<string, unknown>> | undefined,
  which: string,
): WindowRejection {
  for (const { metric } of SENSOR_CHANNELS) {
    const value = values?.[metric];
    if (value === undefined) return reject('missing-metric', `${which} has no ${metric}`);
    if (typeof value !== 'number' || !Number.isFinite(value))
      return reject('not-finite', `${which} has ${metric} = ${String(value)}`);
  }
  return reject('not-finite', `${which} has a value that is not a finite number`);
}

function writeChannelFeatures(
  x: Float64Array,
  start: number,
  resolution: number,
  rootInterval: number,
  out: Float32Array,
  at: number,
): void {
  // Values are rounded to the resolution, so "unchanged" is a difference under half a step.
  const still = resolution / 2;
  let sumSq = 0;
  let sumAbs = 0;
  let max1 = 0;
  let max2 = 0;
  let run = 0;
  let longestRun = 0;
  let maxSegment = 0;
  let minSegment = Number.POSITIVE_INFINITY;
  for (let from = 0; from < DIFFS; from += THIRD) {
    const to = Math.min(DIFFS, from + THIRD);
    let segmentSq = 0;
    let previous = x[start + from] ?? 0;
    for (let i = from; i < to; i++) {
      const next = x[start + i + 1] ?? 0;
      const d = next - previous;
      previous = next;
      const a = d < 0 ? -d : d;
      segmentSq += d * d;
      sumAbs += a;
      if (a > max2) {
        if (a > max1) {
          max2 = max1;
          max1 = a;
        } else max2 = a;
      }
      if (a < still) {
        run++;
        if (run > longestRun) longestRun = run;
      } else run = 0;
    }
    sumSq += segmentSq;
    const rms = Math.sqrt(segmentSq / (to - from));
    if (rms > maxSegment) maxSegment = rms;
    if (rms < minSegment) minSegment = rms;
  }
  let head = 0;
  let tail = 0;
  for (let i = 0; i < EDGE; i++) {
    head += x[start + i] ?? 0;
    tail += x[start + WINDOW_LENGTH - 1 - i] ?? 0;
  }
  const rms = Math.sqrt(sumSq / DIFFS);
  const restMeanAbs = (sumAbs - max1 - max2) / (DIFFS - 2);
  out[at] = Math.log((rms + resolution) / rootInterval);
  out[at + 1] = Math.log((max1 + resolution) / (restMeanAbs + resolution));
  out[at + 2] = Math.log1p(
    Math.abs(tail - head) / EDGE / (rms * Math.sqrt(WINDOW_LENGTH - EDGE) + resolution),
  );
  out[at + 3] = longestRun / DIFFS;
  out[at + 4] = Math.log((maxSegment + resolution) / (minSegment + resolution));
  out[at + 5] = Math.log1p(max1 / resolution);
}

/** The features of one window as a new array, or why it was refused: for tests and tools. */
export function windowFeatures(
  window: readonly Reading[],
  intervalRange?: { readonly min: number; readonly max: number },
): Float32Array | WindowRejection {
  const out = new Float32Array(FEATURE_COUNT);
  const result = extractFeatures(window, out, 0, createFeatureScratch(), intervalRange);
  return typeof result === 'number' ? out : result;
}
