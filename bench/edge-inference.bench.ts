import { readFile } from 'node:fs/promises';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { HELD_OUT_SET, MANIFEST_FILE, MODEL_FILE } from '../edge/model/anomaly-model.ts';
import { generateWindows } from '../edge/model/dataset.ts';
import { AnomalyDetector } from '../edge/src/ml/anomaly-detector.ts';
import { createFeatureScratch, extractFeatures, FEATURE_COUNT } from '../edge/src/ml/features.ts';
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
 * scoring_from_readings_vs_raw_ort_ratio is the whole path from windows of readings
 * (AnomalyDetector.score: every reading validated, features extracted, then inference) against the same
 * bare run. The model is a 25-input MLP that runs in well under a microsecond per window, so on this
 * path feature extraction, not inference, takes most of the time: read it as the cost of the
 * features, `feature_extraction_us_per_window`.
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

interface Case {
  readonly batch: number;
  readonly windows: (typeof pool)[number][];
  readonly features: Float32Array;
  readonly tensor: Tensor;
}

function makeCase(batch: number): Case {
  const windows = pool.slice(0, batch);
  const features = new Float32Array(batch * FEATURE_COUNT);
  const scratch = createFeatureScratch();
  windows.forEach((w, i) => {
    if (typeof extractFeatures(w, features, i * FEATURE_COUNT, scratch) !== 'number')
      throw new Error(`window ${i} refused`);
  });
  return { batch, windows, features, tensor: new Tensor('float32', features, [batch, FEATURE_COUNT]) };
}

async function timeIt(op: () => Promise<number>, calls: number): Promise<number> {
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < calls; i++) sink += await op();
  const elapsed = performance.now() - start;
  if (!(sink > 0)) throw new Error('benchmark body returned no scores');
  return elapsed / calls;
}

async function measure(
  c: Case,
): Promise<{ agent: number; wrapper: number; bare: number; ratio: number; wrapperRatio: number }> {
  const calls = Math.max(20, Math.round(WINDOWS_PER_BLOCK / c.batch));
  const agentOp = async () => {
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
  await timeIt(bareOp, calls);
  const agent: number[] = [];
  const wrapper: number[] = [];
  const bare: number[] = [];
  const ratios: number[] = [];
  const wrapperRatios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate the order so neither path always runs on a warmer or cooler machine.
    const b1 = await timeIt(bareOp, calls);
    const a = await timeIt(agentOp, calls);
    const w = await timeIt(wrapperOp, calls);
    const b2 = await timeIt(bareOp, calls);
    const b = (b1 + b2) / 2;
    agent.push(a);
    wrapper.push(w);
    bare.push(b);
    ratios.push(a / b);
    wrapperRatios.push(w / b);
  }
  return {
    agent: median(agent),
    wrapper: median(wrapper),
    bare: median(bare),
    ratio: median(ratios),
    wrapperRatio: median(wrapperRatios),
  };
}

const started = performance.now();
const headline = await measure(makeCase(BATCH));
progress(
  `batch ${BATCH}: agent ${(headline.agent * 1000).toFixed(1)} µs/call, from features ${(headline.wrapper * 1000).toFixed(1)} µs, bare run ${(headline.bare * 1000).toFixed(1)} µs`,
);
metric('inference_vs_raw_ort_ratio', headline.wrapperRatio);
metric('scoring_from_readings_vs_raw_ort_ratio', headline.ratio);
metric('feature_extraction_us_per_window', ((headline.agent - headline.wrapper) / BATCH) * 1000);
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
  metric(`scoring_windows_per_s_batch_${batch}`, (batch / r.agent) * 1000);
}
progress(`took ${((performance.now() - started) / 1000).toFixed(1)} s`);
await detector.close();
await raw.release();
