import type { ThresholdRange } from '../../../lib/protocol/device-config.ts';
import type { Reading } from '../../../lib/protocol/messages.ts';
import type { FeatureScorer, WindowScorer } from '../ml/batching-scorer.ts';
import { FeatureWindow } from '../ml/feature-window.ts';
import { FEATURE_COUNT, WINDOW_LENGTH } from '../ml/features.ts';
import type { Clock } from '../ota/ports.ts';

export type { FeatureScorer, WindowScorer };

/** The device's sensors: one sample of every metric it measures, in each sensor's resolution. */
export interface SensorSource {
  read(): Record<string, number> | Promise<Record<string, number>>;
}

/**
 * Where readings go: the uplink (which numbers them with the device's persisted `seq` and journals
 * them before `add` resolves, with the reading as it will be sent).
 */
export interface ReadingSink {
  /** `urgent`: send it now rather than with the batch (the uplink closes its open batch). */
  add(reading: Reading, options?: { readonly urgent?: boolean }): Promise<Reading | undefined>;
}

/** A metric outside its configured bounds in one reading. */
export interface ThresholdCrossing {
  readonly metric: string;
  readonly value: number;
  readonly bound: 'min' | 'max';
  readonly limit: number;
}

export interface TelemetryLoopOptions {
  readonly sensors: SensorSource;
  readonly sink: ReadingSink;
  readonly clock: Clock;
  /** Seconds between samples; changed later by {@link TelemetryLoop.configure}. */
  readonly samplingIntervalS: number;
  /**
   * Length of one configured second, in ms: 1000 on a device; the local platform's simulated fleet runs
   * on compressed time (a 10 s interval sampled every 300 ms). @default 1000
   */
  readonly msPerSecond?: number;
  readonly thresholds?: Readonly<Record<string, ThresholdRange>>;
  /**
   * Scores the features of the last {@link WINDOW_LENGTH} readings, kept up to date reading by reading
   * (`FeatureWindow`); its score joins each reading as `anomalyScore`, unless the sensors measured one
   * themselves (a sensor with its own model).
   */
  readonly scorer?: FeatureScorer;
  /** Metrics measured elsewhere (the modem's RSRP and RSRQ) added to each sample. */
  readonly extra?: () => Record<string, number>;
  /** Called for every reading sent, with the thresholds it crossed (for local alerts, the shadow's health). */
  readonly onReading?: (reading: Reading, crossings: readonly ThresholdCrossing[]) => void;
  readonly log?: (event: string, fields?: Readonly<Record<string, unknown>>) => void;
}

export interface TelemetryLoopMetrics {
  readonly samples: number;
  /** Samples the sensors or the sink failed on: the loop logged them and went on. */
  readonly failedSamples: number;
  readonly scoredWindows: number;
  /** Windows the model did not score (not full yet, a gap, a rejected value), by reason. */
  readonly unscoredWindows: Readonly<Record<string, number>>;
  readonly thresholdCrossings: number;
  readonly lastAnomalyScore?: number;
}

/** The crossings of `values` against `thresholds`, in metric order. */
export function crossedThresholds(
  values: Readonly<Record<string, number>>,
  thresholds: Readonly<Record<string, ThresholdRange>>,
): ThresholdCrossing[] {
  const crossings: ThresholdCrossing[] = [];
  for (const [metric, range] of Object.entries(thresholds)) {
    const value = values[metric];
    if (value === undefined) continue;
    if (range.min !== undefined && value < range.min)
      crossings.push({ metric, value, bound: 'min', limit: range.min });
    if (range.max !== undefined && value > range.max)
      crossings.push({ metric, value, bound: 'max', limit: range.max });
  }
  return crossings;
}

/** The anomaly score at the uplink's resolution (0.001). */
const roundScore = (score: number) => Math.round(score * 1000) / 1000;

/**
 * Samples the sensors every `samplingIntervalS`, scores the latest window of readings with the edge
 * model, checks thresholds, and hands each reading to the uplink. One sample at a time: a slow sensor
 * or a full disk delays the next sample rather than piling samples up. A failed sample is logged and
 * counted, and the loop goes on.
 */
export class TelemetryLoop {
  private readonly window: FeatureWindow;
  private readonly row = new Float32Array(FEATURE_COUNT);
  private interval: number;
  private thresholds: Readonly<Record<string, ThresholdRange>>;
  /** The thresholds the previous reading crossed, as `metric:bound` keys. */
  private crossed = '';
  private running: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private counters = {
    samples: 0,
    failedSamples: 0,
    scoredWindows: 0,
    thresholdCrossings: 0,
    unscoredWindows: {} as Record<string, number>,
    lastAnomalyScore: undefined as number | undefined,
  };

  constructor(private readonly options: TelemetryLoopOptions) {
    this.window = new FeatureWindow(options.msPerSecond);
    this.interval = options.samplingIntervalS;
    this.thresholds = options.thresholds ?? {};
  }

  /** Starts sampling: the first sample at once, then every interval. */
  start(): void {
    if (this.running !== undefined) return;
    const running = new AbortController();
    this.running = running;
    this.loop = this.run(running.signal);
  }

  async stop(): Promise<void> {
    this.running?.abort();
    this.running = undefined;
    await this.loop;
    this.loop = undefined;
  }

  /** New settings from the shadow: a new interval takes effect at once (the pending wait is cut short). */
  configure(settings: { samplingIntervalS: number; thresholds: Readonly<Record<string, ThresholdRange>> }) {
    const changed = settings.samplingIntervalS !== this.interval;
    this.interval = settings.samplingIntervalS;
    this.thresholds = settings.thresholds;
    if (changed) this.wake?.();
  }

  get samplingIntervalS(): number {
    return this.interval;
  }

  /**
   * Takes one sample now and sends it; resolves with the reading once the sink holds it. `urgent`
   * sends it at once, outside the batch (a cloud `sample-now` command).
   */
  async sampleOnce(options?: { readonly urgent?: boolean }): Promise<Reading> {
    const values: Record<string, number> = {
      ...(await this.options.sensors.read()),
      ...(this.options.extra?.() ?? {}),
    };
    const reading: Reading = { ts: this.options.clock.now(), values };
    this.window.push(reading);
    const score = await this.scoreWindow();
    if (score !== undefined && values.anomalyScore === undefined) values.anomalyScore = score;
    const crossings = crossedThresholds(values, this.thresholds);
    this.counters.samples++;
    this.counters.thresholdCrossings += crossings.length;
    // A threshold crossed or cleared goes out at once, so the cloud's rules see the change without
    // waiting for the batch; a reading that stays out of bounds does not close batch after batch.
    const crossed = crossings.map((c) => `${c.metric}:${c.bound}`).join(',');
    const urgent = options?.urgent === true || crossed !== this.crossed;
    this.crossed = crossed;
    const sent = (await this.options.sink.add(reading, { urgent })) ?? reading;
    this.options.onReading?.(sent, crossings);
    return sent;
  }

  metrics(): TelemetryLoopMetrics {
    const { lastAnomalyScore, ...rest } = this.counters;
    return {
      ...rest,
      unscoredWindows: { ...rest.unscoredWindows },
      ...(lastAnomalyScore === undefined ? {} : { lastAnomalyScore }),
    };
  }

  private async scoreWindow(): Promise<number | undefined> {
    const scorer = this.options.scorer;
    if (scorer === undefined) return undefined;
    if (this.window.size < WINDOW_LENGTH) return this.unscored('window-filling');
    const outcome = this.window.extract(this.row, 0, scorer.intervalRange);
    if (typeof outcome !== 'number') return this.unscored(outcome.reason);
    try {
      // A copy: a batching scorer reads it a tick later, when the next sample may have changed the row.
      const [score] = await scorer.scoreFeatures(this.row.slice(), 1);
      if (score === undefined || !Number.isFinite(score)) return this.unscored('no-result');
      this.counters.scoredWindows++;
      this.counters.lastAnomalyScore = roundScore(score);
      return this.counters.lastAnomalyScore;
    } catch (error) {
      this.options.log?.('anomaly-score-failed', { error: String(error) });
      return this.unscored('model-error');
    }
  }

  private unscored(reason: string): undefined {
    this.counters.unscoredWindows[reason] = (this.counters.unscoredWindows[reason] ?? 0) + 1;
    return undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.sampleOnce();
      } catch (error) {
        this.counters.failedSamples++;
        this.options.log?.('sample-failed', { error: String(error) });
      }
      await this.waitInterval(signal);
    }
  }

  /** Waits one interval, or less when the interval changes or the loop stops. */
  private async waitInterval(signal: AbortSignal): Promise<void> {
    const cut = new AbortController();
    const onAbort = () => cut.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.wake = () => cut.abort();
    try {
      await this.options.clock.sleep(this.interval * (this.options.msPerSecond ?? 1000), cut.signal);
    } catch {
      // cut short: stopped, or a new interval starts now
    } finally {
      this.wake = undefined;
      signal.removeEventListener('abort', onAbort);
    }
  }
}
