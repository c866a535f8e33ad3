import type { Reading } from '../../../lib/protocol/messages.ts';
import {
  allFinite,
  badValue,
  CHANNEL_FEATURES,
  FEATURE_COUNT,
  MAX_GAP_FACTOR,
  reject,
  SENSOR_CHANNELS,
  WINDOW_LENGTH,
  type WindowRejection,
} from './features.ts';

const W = WINDOW_LENGTH;
const D = W - 1;
const CHANNELS = SENSOR_CHANNELS.length;
/** Diffs per third of the window (the last third has one fewer), as `extractFeatures` splits them. */
const THIRD = Math.ceil(D / 3);
const SEGMENTS = [
  [0, THIRD],
  [THIRD, 2 * THIRD],
  [2 * THIRD, D],
] as const;
/** Readings averaged at each end of the window for `drift`. */
const EDGE = W / 4;
const RESOLUTIONS = SENSOR_CHANNELS.map((c) => c.resolution);

/**
 * The features of a device's latest {@link WINDOW_LENGTH} readings, kept up to date one reading at a
 * time: what `extractFeatures` computes from a whole window, without going over the window again for
 * each new reading. The agent scores every reading's window, so this is its inference path.
 *
 * Each reading is checked once, when it is pushed, and its values go into rings that keep the window
 * contiguous (every value is written twice, `W` apart). Sums over the window — the squared steps of
 * each third, the absolute steps, the first and last quarter — move by what enters and what leaves;
 * they are summed again from the rings once per window's length, so rounding cannot build up and the
 * features stay those `extractFeatures` gives for the same window (to about 1e-12 relative, below
 * float32's resolution). The two largest steps and the longest still run move on too, and are
 * found again from the steps only when what leaves the window may have been one of them.
 *
 * A reading that cannot be used (a metric missing or not finite, a time that does not come after the
 * previous one) empties the window, as `extractFeatures` refuses every window that holds it: windows
 * are refused, with that reason, until a full window of good readings has followed.
 */
export class FeatureWindow {
  /** Per channel, 2W slots: the window is `[start, start + W)` of the channel's slots. */
  private readonly values = new Float64Array(CHANNELS * 2 * W);
  /** Per channel, 2D slots of steps (signed), the same way. */
  private readonly steps = new Float64Array(CHANNELS * 2 * D);
  private readonly times = new Float64Array(2 * W);
  /** Per channel: the squared steps of each third, the absolute steps, the first and last quarter. */
  private readonly segmentSq = new Float64Array(CHANNELS * 3);
  private readonly sumAbs = new Float64Array(CHANNELS);
  private readonly head = new Float64Array(CHANNELS);
  private readonly tail = new Float64Array(CHANNELS);
  /** Per channel: the two largest absolute steps, and the still runs (leading, trailing, longest). */
  private readonly max1 = new Float64Array(CHANNELS);
  private readonly max2 = new Float64Array(CHANNELS);
  private readonly leading = new Int32Array(CHANNELS);
  private readonly trailing = new Int32Array(CHANNELS);
  private readonly longest = new Int32Array(CHANNELS);
  /** Per channel, D + 1 slots: how many still runs of each length the window holds. */
  private readonly runCounts = new Int32Array(CHANNELS * (D + 1));
  /** Channels whose step statistics a slide could not move on: scanned again after the push. */
  private readonly rescan = new Uint8Array(CHANNELS);
  /** Good readings in a row (the window is full from W on). */
  private count = 0;
  /** Readings pushed into the rings since they were last summed from scratch. */
  private sinceSum = 0;
  private lastTs = Number.NEGATIVE_INFINITY;

  /**
   * @param msPerSecond length of one of the device's seconds in timestamp ms: 1000 on a device; the
   *   simulated fleet's compressed clock samples a 10 s interval every few hundred ms, and its windows
   *   are judged in its own seconds (the interval a model was trained on). @default 1000
   */
  constructor(private readonly msPerSecond = 1000) {}
  private refusal: WindowRejection | undefined;
  /** The largest gap between two readings of the window, ms; NaN when it must be found again. */
  private maxGap = Number.NaN;

  /** Good readings held, up to {@link WINDOW_LENGTH}. */
  get size(): number {
    return Math.min(this.count, W);
  }

  /** Adds the device's next reading. */
  push(reading: Reading): void {
    const { ts, values } = reading;
    const temperature = values?.temperature;
    const humidity = values?.humidity;
    const pressure = values?.pressure;
    const battery = values?.battery;
    if (
      !Number.isFinite(temperature) ||
      !Number.isFinite(humidity) ||
      !Number.isFinite(pressure) ||
      !Number.isFinite(battery)
    ) {
      this.restart(badValue(values, 'a reading'));
      this.lastTs = Number.NEGATIVE_INFINITY;
      return;
    }
    if (!Number.isFinite(ts)) {
      this.restart(reject('not-finite', `a reading has timestamp ${String(ts)}`));
      this.lastTs = Number.NEGATIVE_INFINITY;
      return;
    }
    // A time that goes back starts a new window with this reading as its first.
    if (ts <= this.lastTs)
      this.restart(reject('not-increasing', `a reading at ${ts} does not come after ${this.lastTs}`));
    const n = this.count;
    const slot = n % W;
    const full = n >= W;
    if (full) {
      // The window's first gap leaves, the gap to this reading comes in.
      const leavingGap = (this.times[slot + 1] as number) - (this.times[slot] as number);
      if (leavingGap >= this.maxGap) this.maxGap = Number.NaN;
      else if (ts - this.lastTs > this.maxGap) this.maxGap = ts - this.lastTs;
    }
    this.lastTs = ts;
    for (let c = 0; c < CHANNELS; c++) {
      const value = (c === 0 ? temperature : c === 1 ? humidity : c === 2 ? pressure : battery) as number;
      const base = c * 2 * W;
      if (n > 0) {
        // The step from the newest value so far, which sits just before this slot.
        const previous = this.values[base + ((n - 1) % W)] as number;
        const step = value - previous;
        if (full && this.sinceSum < W) this.slide(c, base, slot, step, value);
        const stepSlot = c * 2 * D + ((n - 1) % D);
        this.steps[stepSlot] = step;
        this.steps[stepSlot + D] = step;
      }
      this.values[base + slot] = value;
      this.values[base + slot + W] = value;
    }
    this.times[slot] = ts;
    this.times[slot + W] = ts;
    this.count = n + 1;
    this.sinceSum++;
    if (this.count >= W && (this.count === W || this.sinceSum > W)) this.sumAll();
    else if (full)
      for (let c = 0; c < CHANNELS; c++) {
        if (this.rescan[c] === 0) continue;
        this.rescan[c] = 0;
        this.scanSteps(c);
      }
  }

  /**
   * Writes the features of the window into `out` from `offset`, as `extractFeatures` lays them out.
   * Returns the mean sampling interval in seconds, or why the window is not scored (not full yet —
   * `window-filling` —, holding a bad reading, irregular, or outside `intervalRange`).
   */
  extract(
    out: Float32Array,
    offset: number,
    intervalRange: { readonly min: number; readonly max: number } = { min: 0, max: Number.POSITIVE_INFINITY },
  ): number | WindowRejection {
    if (this.count < W)
      return this.refusal ?? reject('wrong-length', `the window holds ${this.count} of ${W} readings`);
    const start = (this.count - W) % W;
    const first = this.times[start] as number;
    const meanGapMs = ((this.times[start + W - 1] as number) - first) / D;
    let maxGap = this.maxGap;
    if (Number.isNaN(maxGap)) {
      maxGap = 0;
      for (let i = start + 1; i < start + W; i++) {
        const gap = (this.times[i] as number) - (this.times[i - 1] as number);
        if (gap > maxGap) maxGap = gap;
      }
      this.maxGap = maxGap;
    }
    if (maxGap > MAX_GAP_FACTOR * meanGapMs)
      return reject(
        'irregular-interval',
        `a gap of ${maxGap} ms against a mean interval of ${meanGapMs.toFixed(0)} ms (readings missing?)`,
      );
    const interval = meanGapMs / this.msPerSecond;
    if (interval < intervalRange.min || interval > intervalRange.max)
      return reject(
        'interval-out-of-range',
        `sampling interval ${interval.toFixed(1)} s is outside the model's ${intervalRange.min}–${intervalRange.max} s`,
      );
    out[offset] = Math.log(interval / 10);
    const rootInterval = Math.sqrt(interval);
    for (let c = 0; c < CHANNELS; c++)
      this.channelFeatures(c, rootInterval, out, offset + 1 + c * CHANNEL_FEATURES.length);
    if (!allFinite(out, offset, offset + FEATURE_COUNT))
      return reject('not-finite', 'readings so large that their features overflow (not sensor values)');
    return interval;
  }

  private restart(refusal: WindowRejection): void {
    this.maxGap = Number.NaN;
    this.count = 0;
    this.sinceSum = 0;
    this.refusal = refusal;
  }

  /** Moves channel `c`'s sums one reading on: the oldest value and step leave, `value` and `step` enter. */
  private slide(c: number, base: number, slot: number, step: number, value: number): void {
    const steps = this.steps;
    const s0 = c * 2 * D + ((this.count - W) % D);
    const leaving = steps[s0] as number;
    const at20 = steps[s0 + THIRD] as number;
    const at40 = steps[s0 + 2 * THIRD] as number;
    const sq = this.segmentSq;
    sq[c * 3] = (sq[c * 3] as number) + at20 * at20 - leaving * leaving;
    sq[c * 3 + 1] = (sq[c * 3 + 1] as number) + at40 * at40 - at20 * at20;
    sq[c * 3 + 2] = (sq[c * 3 + 2] as number) + step * step - at40 * at40;
    this.sumAbs[c] = (this.sumAbs[c] as number) + Math.abs(step) - Math.abs(leaving);
    this.slideSteps(c, s0, leaving, step);
    // The window before this reading is values[slot .. slot + W): its first, its EDGE-th, its 3W/4-th.
    const values = this.values;
    this.head[c] =
      (this.head[c] as number) + (values[base + slot + EDGE] as number) - (values[base + slot] as number);
    this.tail[c] = (this.tail[c] as number) + value - (values[base + slot + W - EDGE] as number);
  }

  /**
   * Moves channel `c`'s step statistics on: `leaving` goes out of the window's start, `step` comes in
   * at its end. The two largest steps move in O(1) unless what leaves may have been one of them (then
   * the channel is scanned after the push). Still runs are kept as a count of runs by length, with the
   * leading and trailing runs' lengths, so the longest moves in O(1) as runs shrink and grow.
   */
  private slideSteps(c: number, s0: number, leaving: number, step: number): void {
    const still = (RESOLUTIONS[c] as number) / 2;
    const gone = leaving < 0 ? -leaving : leaving;
    const added = step < 0 ? -step : step;
    const max2 = this.max2[c] as number;
    // A zero leaving while the second largest is zero leaves other zeros behind it: nothing changes.
    if (gone > max2 || (gone === max2 && max2 !== 0)) this.rescan[c] = 1;
    else if (added > max2) {
      if (added > (this.max1[c] as number)) {
        this.max2[c] = this.max1[c] as number;
        this.max1[c] = added;
      } else this.max2[c] = added;
    }
    const runs = c * (D + 1);
    let leading = this.leading[c] as number;
    let trailing = this.trailing[c] as number;
    if (leading === D) {
      // Every step still: one run, leading and trailing at once.
      if (added < still) return;
      this.resizeRun(runs, D, D - 1);
      this.leading[c] = D - 1;
      this.trailing[c] = 0;
      return;
    }
    if (gone < still) {
      this.resizeRun(runs, leading, leading - 1);
      leading--;
    } else {
      // A step that moved leaves: the leading run is now the still steps after it.
      let k = s0 + 1;
      while (k < s0 + D && Math.abs(this.steps[k] as number) < still) k++;
      leading = k - s0 - 1;
    }
    if (added < still) {
      this.resizeRun(runs, trailing, trailing + 1);
      trailing++;
      // The trailing run met the leading one: every step of the new window is still.
      if (leading === D - 1) leading = D;
    } else trailing = 0;
    this.leading[c] = leading;
    this.trailing[c] = trailing;
  }

  /** A still run of channel-offset `runs` goes from `from` steps to `to` (0: no run). */
  private resizeRun(runs: number, from: number, to: number): void {
    const counts = this.runCounts;
    if (from > 0) counts[runs + from] = (counts[runs + from] as number) - 1;
    if (to > 0) counts[runs + to] = (counts[runs + to] as number) + 1;
    const c = runs / (D + 1);
    let longest = this.longest[c] as number;
    if (to > longest) longest = to;
    while (longest > 0 && counts[runs + longest] === 0) longest--;
    this.longest[c] = longest;
  }

  /** Channel `c`'s two largest steps and still runs, from its steps: exact. */
  private scanSteps(c: number): void {
    const still = (RESOLUTIONS[c] as number) / 2;
    const from = c * 2 * D + ((this.count - W) % D);
    const runs = c * (D + 1);
    this.runCounts.fill(0, runs, runs + D + 1);
    let max1 = 0;
    let max2 = 0;
    let run = 0;
    let longest = 0;
    let leading = -1;
    for (let i = from; i < from + D; i++) {
      const d = this.steps[i] as number;
      const a = d < 0 ? -d : d;
      if (a > max2) {
        if (a > max1) {
          max2 = max1;
          max1 = a;
        } else max2 = a;
      }
      if (a < still) {
        run++;
        if (run > longest) longest = run;
      } else {
        if (leading < 0) leading = run;
        if (run > 0) this.runCounts[runs + run] = (this.runCounts[runs + run] as number) + 1;
        run = 0;
      }
    }
    if (run > 0) this.runCounts[runs + run] = (this.runCounts[runs + run] as number) + 1;
    this.max1[c] = max1;
    this.max2[c] = max2;
    this.longest[c] = longest;
    this.leading[c] = leading < 0 ? run : leading;
    this.trailing[c] = run;
  }

  /** Every sum from the rings, in `extractFeatures`' order: exact again. */
  private sumAll(): void {
    const valueStart = (this.count - W) % W;
    const stepStart = (this.count - W) % D;
    for (let c = 0; c < CHANNELS; c++) {
      const steps = c * 2 * D + stepStart;
      let sumAbs = 0;
      SEGMENTS.forEach(([from, to], s) => {
        let sq = 0;
        for (let i = from; i < to; i++) {
          const d = this.steps[steps + i] as number;
          sq += d * d;
          sumAbs += d < 0 ? -d : d;
        }
        this.segmentSq[c * 3 + s] = sq;
      });
      this.sumAbs[c] = sumAbs;
      const values = c * 2 * W + valueStart;
      let head = 0;
      let tail = 0;
      for (let i = 0; i < EDGE; i++) {
        head += this.values[values + i] as number;
        tail += this.values[values + W - 1 - i] as number;
      }
      this.head[c] = head;
      this.tail[c] = tail;
      this.rescan[c] = 0;
      this.scanSteps(c);
    }
    this.sinceSum = 0;
    this.refusal = undefined;
  }

  private channelFeatures(c: number, rootInterval: number, out: Float32Array, at: number) {
    const resolution = RESOLUTIONS[c] as number;
    const max1 = this.max1[c] as number;
    const max2 = this.max2[c] as number;
    const longestRun = this.longest[c] as number;
    // Sums moved by subtraction can end a hair below zero where the true sum is zero.
    const sq0 = Math.max(0, this.segmentSq[c * 3] as number);
    const sq1 = Math.max(0, this.segmentSq[c * 3 + 1] as number);
    const sq2 = Math.max(0, this.segmentSq[c * 3 + 2] as number);
    const rms = Math.sqrt((sq0 + sq1 + sq2) / D);
    const r0 = Math.sqrt(sq0 / THIRD);
    const r1 = Math.sqrt(sq1 / THIRD);
    const r2 = Math.sqrt(sq2 / (D - 2 * THIRD));
    const maxSegment = Math.max(r0, r1, r2);
    const minSegment = Math.min(r0, r1, r2);
    const restMeanAbs = Math.max(0, (this.sumAbs[c] as number) - max1 - max2) / (D - 2);
    const head = this.head[c] as number;
    const tail = this.tail[c] as number;
    out[at] = Math.log((rms + resolution) / rootInterval);
    out[at + 1] = Math.log((max1 + resolution) / (restMeanAbs + resolution));
    out[at + 2] = Math.log1p(Math.abs(tail - head) / EDGE / (rms * Math.sqrt(W - EDGE) + resolution));
    out[at + 3] = longestRun / D;
    out[at + 4] = Math.log((maxSegment + resolution) / (minSegment + resolution));
    out[at + 5] = Math.log1p(max1 / resolution);
  }
}
