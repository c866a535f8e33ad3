import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AnomalyDetector } from '../src/ml/anomaly-detector.ts';
import {
  buildAnomalyModel,
  featureMatrix,
  HELD_OUT_SET,
  MANIFEST_FILE,
  MODEL_FILE,
  MODEL_VERSION,
  TRAIN_SET,
} from './anomaly-model.ts';
import { generateWindows } from './dataset.ts';
import { type Evaluation, evaluate } from './evaluate.ts';
import { predictMlp } from './mlp.ts';

/**
 * Trains the edge anomaly model and writes `edge/model/anomaly-detector.onnx` and its manifest
 * (version, SHA-256, size, held-out scores): `npx tsx edge/model/train.ts`.
 *
 * With `--check`, writes nothing and exits 1 if the committed model differs from what the recipe
 * produces now (features, generator or training changed without retraining).
 *
 * The held-out evaluation runs the written file through the agent's own path (AnomalyDetector on
 * onnxruntime-node), so the printed precision and recall are those of the artifact that ships.
 */
const dir = fileURLToPath(new URL('.', import.meta.url));
const modelPath = `${dir}${MODEL_FILE}`;
const manifestPath = `${dir}${MANIFEST_FILE}`;
const check = process.argv.includes('--check');

const started = performance.now();
const { bytes, mlp, curve } = buildAnomalyModel();
const sha256 = createHash('sha256').update(bytes).digest('hex');
log(
  `trained on ${TRAIN_SET.count} windows (${TRAIN_SET.anomalyRate * 100}% anomalous) in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
    `loss ${curve[0]?.toFixed(4)} → ${curve.at(-1)?.toFixed(4)}`,
);
log(`model: ${bytes.length} bytes, sha256 ${sha256}`);

if (check) {
  const committed = await readFile(modelPath).catch(() => undefined);
  const same = committed !== undefined && Buffer.compare(committed, Buffer.from(bytes)) === 0;
  log(same ? `${MODEL_FILE} is up to date` : `${MODEL_FILE} is stale: run npx tsx edge/model/train.ts`);
  process.exit(same ? 0 : 1);
}

await writeFile(modelPath, bytes);
const heldOut = generateWindows(HELD_OUT_SET);
const detector = await AnomalyDetector.load({ path: modelPath, version: MODEL_VERSION, sha256 });
const results = await detector.score(heldOut.map((w) => w.readings));
await detector.close();
const scores = results.map((r, i) => {
  if (!r.ok) throw new Error(`held-out window ${i} refused: ${r.reason}: ${r.detail}`);
  return r.score;
});
const onnx = evaluate(heldOut, scores, detector.info.threshold);
const atAlertRule = evaluate(heldOut, scores, 0.8);

// onnxruntime (float32) against the training code's own forward pass (float64): the graph must be the model.
const reference = predictMlp(mlp, featureMatrix(heldOut), heldOut.length);
const maxDifference = scores.reduce((max, s, i) => Math.max(max, Math.abs(s - (reference[i] ?? 0))), 0);
log(`onnxruntime vs training forward pass: max |Δscore| = ${maxDifference.toExponential(2)}`);
if (!(maxDifference < 1e-4)) throw new Error('the ONNX graph does not compute the trained model');

report(`held-out (seed ${HELD_OUT_SET.seed}) at threshold ${detector.info.threshold}`, onnx);
report('held-out at the cloud anomaly rule’s default 0.8', atAlertRule);

const manifest = {
  name: detector.info.name,
  version: MODEL_VERSION,
  file: MODEL_FILE,
  sha256,
  sizeBytes: bytes.length,
  featureSet: detector.info.featureSet,
  threshold: detector.info.threshold,
  inputs: detector.info.inputs,
  outputs: detector.info.outputs,
  heldOut: {
    seed: HELD_OUT_SET.seed,
    windows: onnx.windows,
    anomalies: onnx.anomalies,
    precision: round(onnx.precision),
    recall: round(onnx.recall),
    falsePositiveRate: round(onnx.falsePositiveRate),
    recallByKind: Object.fromEntries(Object.entries(onnx.recallByKind).map(([k, v]) => [k, round(v)])),
  },
};
await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
log(`wrote ${MODEL_FILE} and ${MANIFEST_FILE}`);

function report(title: string, e: Evaluation): void {
  log(`${title}: ${e.windows} windows, ${e.anomalies} anomalous`);
  log(
    `  precision ${e.precision.toFixed(4)}  recall ${e.recall.toFixed(4)}  F1 ${e.f1.toFixed(4)}  ` +
      `false-positive rate ${e.falsePositiveRate.toFixed(4)}  (TP ${e.truePositives}, FP ${e.falsePositives}, FN ${e.falseNegatives})`,
  );
  log(
    `  recall by kind: ${Object.entries(e.recallByKind)
      .map(([k, v]) => `${k} ${v.toFixed(3)}`)
      .join(', ')}`,
  );
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}
