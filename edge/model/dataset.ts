import type { Reading } from '../../lib/protocol/messages.ts';
import { WINDOW_LENGTH } from '../src/ml/features.ts';
import { gaussian, seededRandom } from '../src/sensors/random.ts';
import { initialSensorState, stepSensors } from '../src/sensors/sensor-model.ts';

/**
 * Synthetic training and evaluation data: windows of readings from the local simulator's sensor model
 * (mean-reverting random walks with measurement noise, at each sensor's resolution), some with one
 * injected fault whose kind, metric, position and size are recorded — the labels.
 *
 * The faults are the ones field sensors show (the usual taxonomy of sensor-data faults: outliers,
 * offsets, stuck-at, drift, high noise) plus a battery sag. Their sizes are drawn from physical
 * ranges, not from multiples of each window's noise, so some are hard to see in a noisy window at a
 * long interval: a perfect score is not expected.
 *
 * Every window is generated from its own PRNG (`seed/index`), so any subset can be regenerated alone.
 */

export const ANOMALY_KINDS = ['spike', 'step', 'stuck', 'drift', 'noise', 'battery-sag'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** Sampling intervals (seconds) the data covers: the firmware's default and what a shadow may set. */
export const SAMPLING_INTERVALS = [5, 10, 15, 30, 60] as const;

/** The injected fault of an anomalous window. */
export interface InjectedAnomaly {
  readonly kind: AnomalyKind;
  readonly metric: 'temperature' | 'humidity' | 'pressure' | 'battery';
  /** Index of the first affected reading. */
  readonly at: number;
  /** Size in the metric's unit (offset, final drift, extra noise σ or sag), 0 for `stuck`. */
  readonly size: number;
}

export interface LabelledWindow {
  readonly readings: Reading[];
  readonly intervalSeconds: number;
  /** Undefined for a normal window. */
  readonly anomaly?: InjectedAnomaly;
}

export interface DatasetOptions {
  readonly seed: string;
  readonly count: number;
  /** Share of windows with a fault. @default 0.3 */
  readonly anomalyRate?: number;
}

/** Ranges (min, max) of fault sizes per kind and physical metric, in the metric's unit. */
const SIZES: Record<
  Exclude<AnomalyKind, 'stuck' | 'battery-sag'>,
  Record<PhysicalMetric, [number, number]>
> = {
  spike: { temperature: [1, 8], humidity: [4, 25], pressure: [2, 15] },
  step: { temperature: [1, 6], humidity: [4, 20], pressure: [2, 10] },
  drift: { temperature: [2, 10], humidity: [6, 25], pressure: [3, 12] },
  noise: { temperature: [0.3, 1.5], humidity: [1.5, 6], pressure: [1, 4] },
};
const BATTERY_SAG: [number, number] = [8, 35];
const PHYSICAL = ['temperature', 'humidity', 'pressure'] as const;
type PhysicalMetric = (typeof PHYSICAL)[number];
const RESOLUTION: Record<InjectedAnomaly['metric'], number> = {
  temperature: 100,
  humidity: 10,
  pressure: 10,
  battery: 1,
};
/** 2030-01-01T00:00:00Z: any fixed epoch works, the features only use differences. */
const EPOCH_MS = 1_893_456_000_000;

/** Generates `count` labelled windows, deterministic for a given seed. */
export function generateWindows(options: DatasetOptions): LabelledWindow[] {
  const rate = options.anomalyRate ?? 0.3;
  return Array.from({ length: options.count }, (_, i) =>
    generateWindow(seededRandom(`${options.seed}/${i}`), rate, i),
  );
}

function generateWindow(random: () => number, anomalyRate: number, index: number): LabelledWindow {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const uniform = ([lo, hi]: readonly [number, number]) => lo + random() * (hi - lo);
  const intervalSeconds = pick(SAMPLING_INTERVALS);
  const state = initialSensorState(random);
  // A device some time after boot: its walks have left their starting points.
  const burnIn = Math.floor(random() * 200);
  for (let i = 0; i < burnIn; i++) stepSensors(state, intervalSeconds, random);
  const samples = Array.from({ length: WINDOW_LENGTH }, () => ({
    ...stepSensors(state, intervalSeconds, random),
  }));

  let anomaly: InjectedAnomaly | undefined;
  if (random() < anomalyRate) {
    const kind = pick(ANOMALY_KINDS);
    const metric = kind === 'battery-sag' ? 'battery' : pick(PHYSICAL);
    const series = samples.map((s) => s[metric]);
    const sign = random() < 0.5 ? -1 : 1;
    let at: number;
    let size = 0;
    switch (kind) {
      case 'spike': {
        // One or two consecutive outliers (a glitch on the bus, an ADC error).
        at = 1 + Math.floor(random() * (WINDOW_LENGTH - 3));
        size = uniform(SIZES.spike[metric as PhysicalMetric]);
        const length = random() < 0.7 ? 1 : 2;
        for (let i = at; i < at + length; i++) series[i] = (series[i] ?? 0) + sign * size;
        break;
      }
      case 'step': {
        // A calibration offset appearing mid-window (sensor knocked, reference shifted).
        at = 10 + Math.floor(random() * (WINDOW_LENGTH - 20));
        size = uniform(SIZES.step[metric as PhysicalMetric]);
        for (let i = at; i < WINDOW_LENGTH; i++) series[i] = (series[i] ?? 0) + sign * size;
        break;
      }
      case 'stuck': {
        // The sensor keeps returning its last value for at least 25 readings.
        at = Math.floor(random() * (WINDOW_LENGTH - 25));
        const frozen = series[at] ?? 0;
        for (let i = at; i < WINDOW_LENGTH; i++) series[i] = frozen;
        break;
      }
      case 'drift': {
        // A ramp over the rest of the window (fouling, a failing reference), at least 30 readings.
        at = Math.floor(random() * (WINDOW_LENGTH - 30));
        size = uniform(SIZES.drift[metric as PhysicalMetric]);
        const span = WINDOW_LENGTH - 1 - at;
        for (let i = at; i < WINDOW_LENGTH; i++)
          series[i] = (series[i] ?? 0) + (sign * size * (i - at)) / span;
        break;
      }
      case 'noise': {
        // A loose contact or interference: extra white noise for at least 20 readings.
        at = Math.floor(random() * (WINDOW_LENGTH - 20));
        size = uniform(SIZES.noise[metric as PhysicalMetric]);
        for (let i = at; i < WINDOW_LENGTH; i++) series[i] = (series[i] ?? 0) + gaussian(random) * size;
        break;
      }
      case 'battery-sag': {
        // A cell failing or a brown-out: the charge drops and stays down.
        at = 1 + Math.floor(random() * (WINDOW_LENGTH - 2));
        size = uniform(BATTERY_SAG);
        for (let i = at; i < WINDOW_LENGTH; i++) series[i] = Math.max(0, (series[i] ?? 0) - size);
        break;
      }
    }
    const steps = RESOLUTION[metric];
    samples.forEach((s, i) => {
      s[metric] = Math.round((series[i] ?? 0) * steps) / steps;
    });
    anomaly = { kind, metric, at, size: Math.round(size * 1000) / 1000 };
  }

  const start = EPOCH_MS + index * 3_600_000;
  const readings = samples.map(
    (s, i): Reading => ({
      // Timer jitter of up to ±50 ms, as a device's sampling loop has.
      ts: start + i * intervalSeconds * 1000 + Math.round((random() - 0.5) * 100),
      seq: i,
      values: {
        temperature: s.temperature,
        humidity: s.humidity,
        pressure: s.pressure,
        battery: s.battery,
        rsrp: s.rsrp,
      },
    }),
  );
  return anomaly === undefined ? { readings, intervalSeconds } : { readings, intervalSeconds, anomaly };
}
