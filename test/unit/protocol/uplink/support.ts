import { gaussian } from '../../../../edge/src/sensors/random.ts';
import { initialSensorState, stepSensors } from '../../../../edge/src/sensors/sensor-model.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import {
  KNOWN_UPLINK_METRICS,
  type MetricResolution,
  roundToResolution,
} from '../../../../lib/protocol/uplink/resolution.ts';

/** 2025-11-26T22:33:00.000Z. */
export const T0 = 1_764_196_380_000;

/**
 * `count` readings of one simulated device every `intervalMs` (with 0-4 ms of timer lateness): the
 * simulator's sensors at their resolution plus an anomaly score, as the bench and the stream-rules
 * bench build them.
 */
export function sensorReadings(random: () => number, count: number, intervalMs = 10_000): Reading[] {
  const state = initialSensorState(random);
  let ts = T0;
  return Array.from({ length: count }, (_, seq) => {
    const { temperature, humidity, pressure, battery, rsrp } = stepSensors(state, intervalMs / 1000, random);
    ts += intervalMs + Math.floor(random() * 5);
    const anomalyScore = Math.round(Math.min(1, Math.abs(gaussian(random)) * 0.2) * 1000) / 1000;
    return { ts, seq, values: { temperature, humidity, pressure, battery, rsrp, anomalyScore } };
  });
}

/** A random batch for property tests, with what decoding it must give. */
export interface RandomBatch {
  readonly readings: Reading[];
  readonly resolutions: Record<string, MetricResolution>;
  /** The readings with every value rounded to its resolution: what decoding must return. */
  readonly expected: Reading[];
}

const pick = <T>(random: () => number, items: readonly T[]): T =>
  items[Math.floor(random() * items.length)] as T;

/**
 * Random walks of random shape: any subset of the known metrics and up to three declared ones at
 * random resolutions, noise from a thousandth of a step to thousands of steps with occasional jumps,
 * values missing at random, timestamps regular, jittery, repeated or going backwards, seq absent,
 * consecutive or gappy. Raw values are arbitrary doubles, not yet at their resolution.
 */
export function randomBatch(random: () => number, count: number): RandomBatch {
  const resolutions: Record<string, MetricResolution> = {};
  const metrics: { name: string; resolution: MetricResolution }[] = [];
  for (const known of KNOWN_UPLINK_METRICS)
    if (random() < 0.6) metrics.push({ name: known.name, resolution: known.resolution });
  const extras = Math.floor(random() * 4);
  for (let i = 0; i < extras; i++) {
    const resolution = {
      decimals: Math.floor(random() * 10) - 3,
      step: pick(random, [1, 1, 2, 5, 25, 65_535]),
    };
    const name = `extra_${i}`;
    resolutions[name] = resolution;
    metrics.push({ name, resolution });
  }
  // An override of a known metric's resolution travels as a declared metric.
  if (random() < 0.2) {
    resolutions.temperature = { decimals: 4 };
    const existing = metrics.find((m) => m.name === 'temperature');
    if (existing !== undefined) existing.resolution = resolutions.temperature;
    else metrics.push({ name: 'temperature', resolution: resolutions.temperature });
  }
  if (metrics.length === 0) metrics.push({ name: 'battery', resolution: { decimals: 0 } });

  const walks = metrics.map(({ name, resolution }) => {
    const stepSize = (resolution.step ?? 1) * 10 ** -resolution.decimals;
    return {
      name,
      resolution,
      value: (random() - 0.5) * 2_000 * stepSize * 10 ** Math.floor(random() * 4),
      noise: stepSize * 10 ** (random() * 6 - 3),
      presence: pick(random, [1, 1, 0.95, 0.5, 0.05]),
    };
  });
  const interval = pick(random, [1, 1_000, 10_000, 60_000]);
  const jitter = pick(random, [0, 0, 3, 200]);
  const seqMode = pick(random, ['none', 'consecutive', 'gappy'] as const);
  let ts = T0 + Math.floor(random() * 1e9);
  let seq = Math.floor(random() * 1e6);
  const readings: Reading[] = [];
  const expected: Reading[] = [];
  for (let i = 0; i < count; i++) {
    ts += random() < 0.02 ? -Math.floor(random() * 50_000) : interval + Math.floor(random() * (jitter + 1));
    seq += seqMode === 'gappy' ? 1 + Math.floor(random() * 3) : 1;
    const values: Record<string, number> = {};
    const rounded: Record<string, number> = {};
    for (const walk of walks) {
      walk.value += gaussian(random) * walk.noise * (random() < 0.01 ? 1_000 : 1);
      if (random() >= walk.presence) continue;
      values[walk.name] = walk.value;
      rounded[walk.name] = roundToResolution(walk.value, walk.resolution);
    }
    const withSeq = seqMode === 'consecutive' || (seqMode === 'gappy' && random() < 0.8);
    readings.push(withSeq ? { ts, seq, values } : { ts, values });
    expected.push(withSeq ? { ts, seq, values: rounded } : { ts, values: rounded });
  }
  return { readings, resolutions, expected };
}
