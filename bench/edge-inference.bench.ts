import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { HELD_OUT_SET, MANIFEST_FILE, MODEL_FILE } from '../edge/model/anomaly-model.ts';
import { generateWindows } from '../edge/model/dataset.ts';
import { AnomalyDetector } from '../edge/src/ml/anomaly-detector.ts';
import { FeatureWindow } from '../edge/src/ml/feature-window.ts';
import {
  createFeatureScratch,
  extractFeatures,
  FEATURE_COUNT,
  WINDOW_LENGTH,
} from '../edge/src/ml/features.ts';
import { seededRandom } from '../edge/src/sensors/random.ts';
import { initialSensorState, stepSensors } from '../edge/src/sensors/sensor-model.ts';
import type { Reading } from '../lib/protocol/messages.ts';
import { median, metric, progress } from './support.ts';

/**
 * The agent's inference path against a bare `session.run` on the same inputs, side by side in one
 * process, on the committed model.
 *
 * inference_vs_raw_ort_ratio = time(AnomalyDetector.scoreFeatures(the feature rows)) ÷ time(bare
 * session.run on a tensor of the same rows): the agent's inference path — tensor made from the rows,
 * the run, scores read out — on the same inputs as the bare run. Both sessions have the same options
 * (one intra-op thread, sequential). Measured at BATCH windows per call (the agent scores one window
 * per device and CoAP sensor per tick; 32 stands for a gateway with a few dozen sensors); other batch
 * sizes are printed too.
 *
 * scoring_from_readings_vs_raw_ort_ratio is the agent's whole path from a new reading to its score,
 * as `TelemetryLoop` runs it: each device's reading pushed into its `FeatureWindow` (checked, features
 * moved on by one reading), the row copied out, then one `scoreFeatures` run for all devices' rows,
 * against the same bare run. The model is a 25-input MLP that runs in well under a microsecond per
 * window, so what the features cost shows plainly: `feature_extraction_us_per_reading`.
 * scoring_from_windows_vs_raw_ort_ratio is the path from whole windows (`AnomalyDetector.score`:
 * every reading of every window checked and the features computed from scratch), which the agent no
 * longer takes; kept to show what incremental extraction saves.
 */
const BATCH = Number(process.env.EDGE_INFERENCE_BATCH ?? 32);
const OTHER_BATCHES = [1, 256];
const ROUNDS = 9;
/** Work per timed block, in windows, so every batch size gets a similar, measurable duration. */
const WINDOWS_PER_BLOCK = 40_000;

const modelDir = new URL('../edge/model/', import.meta.url);
const manifest = JSON.parse(await readFile(new URL(MANIFEST_FILE, modelDir), 'utf8')) as {
  version: string;
  sha256: string;
};
const path = new URL(MODEL_FILE, modelDir).pathname;
const detector = await AnomalyDetector.load({ path, version: manifest.version, sha256: manifest.sha256 });
const raw = await InferenceSession.create(await readFile(path), {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const inputName = raw.inputNames[0] ?? '';
const outputName = raw.outputNames[0] ?? '';

const pool = generateWindows({ seed: `${HELD_OUT_SET.seed}/bench`, count: 256, anomalyRate: 0.3 }).map(
  (w) => w.readings,
);

/**
 * The next reading of one device every 10 s, from the simulator's sensor model at its resolutions:
 * 400 readings made beforehand and gone through again and again, later each time, so the sensor
 * model's own cost stays out of the timings (a new object per reading, as a sensor read makes).
 */
function deviceStream(seed: string): () => Reading {
  const random = seededRandom(seed);
  const state = initialSensorState(random);
  const readings = Array.from({ length: 400 }, (_, i): Reading => {
    const { temperature, humidity, pressure, battery } = stepSensors(state, 10, random);
    return { ts: 1_764_196_380_000 + i * 10_000, values: { temperature, humidity, pressure, battery } };
  });
  let i = 0;
  return () => {
    const { ts, values } = readings[i % readings.length] as Reading;
    const lap = Math.floor(i / readings.length);
    i++;
    return { ts: ts + lap * readings.length * 10_000, values };
  };
}

interface Case {
  readonly batch: number;
  readonly windows: (typeof pool)[number][];
  readonly features: Float32Array;
  readonly tensor: Tensor;
  /** One device per row, its window full, and where its next reading comes from. */
  readonly devices: { readonly window: FeatureWindow; readonly next: () => Reading }[];
}

function makeCase(batch: number): Case {
  const windows = pool.slice(0, batch);
  const features = new Float32Array(batch * FEATURE_COUNT);
  const scratch = createFeatureScratch();
  windows.forEach((w, i) => {
    if (typeof extractFeatures(w, features, i * FEATURE_COUNT, scratch) !== 'number')
      throw new Error(`window ${i} refused`);
  });
  const devices = Array.from({ length: batch }, (_, d) => {
    const window = new FeatureWindow();
    const next = deviceStream(`bench-${d}`);
    for (let i = 0; i < WINDOW_LENGTH; i++) window.push(next());
    return { window, next };
  });
  return {
    batch,
    windows,
    features,
    tensor: new Tensor('float32', features, [batch, FEATURE_COUNT]),
    devices,
  };
}

async function timeIt(op: () => Promise<number>, calls: number): Promise<number> {
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < calls; i++) sink += await op();
  const elapsed = performance.now() - start;
  if (!(sink > 0)) throw new Error('benchmark body returned no scores');
  return elapsed / calls;
}

async function measure(c: Case): Promise<{
  agent: number;
  wrapper: number;
  bare: number;
  ratio: number;
  wrapperRatio: number;
  windowsRatio: number;
}> {
  const calls = Math.max(20, Math.round(WINDOWS_PER_BLOCK / c.batch));
  const row = new Float32Array(c.batch * FEATURE_COUNT);
  const range = detector.intervalRange;
  const agentOp = async () => {
    for (let d = 0; d < c.batch; d++) {
      const device = c.devices[d] as Case['devices'][number];
      device.window.push(device.next());
      if (typeof device.window.extract(row, d * FEATURE_COUNT, range) !== 'number') return 0;
    }
    return ((await detector.scoreFeatures(row.slice(), c.batch))[0] ?? 0) + 1;
  };
  const windowsOp = async () => {
    const scores = await detector.score(c.windows);
    return scores[0]?.ok ? scores[0].score + 1 : 0;
  };
  const wrapperOp = async () => ((await detector.scoreFeatures(c.features, c.batch))[0] ?? 0) + 1;
  const bareOp = async () => {
    const out = (await raw.run({ [inputName]: c.tensor }))[outputName];
    return ((out?.data as Float32Array | undefined)?.[0] ?? 0) + 1;
  };
  await timeIt(agentOp, calls);
  await timeIt(wrapperOp, calls);
  await timeIt(windowsOp, calls);
  await timeIt(bareOp, calls);
  const agent: number[] = [];
  const wrapper: number[] = [];
  const bare: number[] = [];
  const ratios: number[] = [];
  const wrapperRatios: number[] = [];
  const windowsRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither path always runs on a warmer or cooler machine.
    const b1 = await timeIt(bareOp, calls);
    const a = await timeIt(agentOp, calls);
    const w = await timeIt(wrapperOp, calls);
    const b2 = await timeIt(bareOp, calls);
    const ws = await timeIt(windowsOp, calls);
    const b = (b1 + b2) / 2;
    agent.push(a);
    wrapper.push(w);
    bare.push(b);
    ratios.push(a / b);
    wrapperRatios.push(w / b);
    windowsRatios.push(ws / b);
  }
  return {
    agent: median(agent),
    wrapper: median(wrapper),
    bare: median(bare),
    ratio: median(ratios),
    wrapperRatio: median(wrapperRatios),
    windowsRatio: median(windowsRatios),
  };
}

const started = performance.now();
const headline = await measure(makeCase(BATCH));
progress(
  `batch ${BATCH}: agent ${(headline.agent * 1000).toFixed(1)} µs/call, from features ${(headline.wrapper * 1000).toFixed(1)} µs, bare run ${(headline.bare * 1000).toFixed(1)} µs`,
);
metric('inference_vs_raw_ort_ratio', headline.wrapperRatio);
metric('scoring_from_readings_vs_raw_ort_ratio', headline.ratio);
metric('scoring_from_windows_vs_raw_ort_ratio', headline.windowsRatio);
metric('feature_extraction_us_per_reading', ((headline.agent - headline.wrapper) / BATCH) * 1000);
metric('scoring_windows_per_s', (BATCH / headline.agent) * 1000);
metric('raw_ort_windows_per_s', (BATCH / headline.bare) * 1000);
metric('scoring_us_per_window', (headline.agent / BATCH) * 1000);

for (const batch of OTHER_BATCHES) {
  const r = await measure(makeCase(batch));
  progress(
    `batch ${batch}: agent ${(r.agent * 1000).toFixed(1)} µs/call, from features ${(r.wrapper * 1000).toFixed(1)} µs, bare run ${(r.bare * 1000).toFixed(1)} µs`,
  );
  metric(`inference_vs_raw_ort_ratio_batch_${batch}`, r.wrapperRatio);
  metric(`scoring_from_readings_vs_raw_ort_ratio_batch_${batch}`, r.ratio);
  metric(`scoring_from_windows_vs_raw_ort_ratio_batch_${batch}`, r.windowsRatio);
  metric(`scoring_windows_per_s_batch_${batch}`, (batch / r.agent) * 1000);
}
progress(`took ${((performance.now() - started) / 1000).toFixed(1)} s`);
await detector.close();
await raw.release();
