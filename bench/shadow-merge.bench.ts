import { seededRandom } from '../edge/src/sensors/random.ts';
import { computeDelta } from '../lambdas/domain/shadow/delta.ts';
import type { JsonObject } from '../lambdas/domain/shadow/json.ts';
import { mergeSection } from '../lambdas/domain/shadow/merge.ts';
import { median, metric, progress } from './support.ts';

/**
 * Merge + delta of an 8 KB shadow against JSON.parse + JSON.stringify of the same document, side by
 * side: how much the shadow semantics cost over just reading and writing the JSON.
 *
 * shadow_merge_vs_json_ratio = time(merge desired and reported patches + delta) ÷ time(parse + stringify).
 */
const random = seededRandom('shadow-merge-bench');

/** A config-like section: nested groups of scalars and short arrays, as device shadows hold. */
function section(groups: number): JsonObject {
  const out: JsonObject = {};
  for (let g = 0; g < groups; g++) {
    const group: JsonObject = {};
    for (let k = 0; k < 8; k++) {
      const r = random();
      group[`setting_${k}`] =
        r < 0.4
          ? Math.round(r * 1000) / 10
          : r < 0.7
            ? `value-${Math.floor(r * 1e4)}`
            : r < 0.85
              ? r > 0.8
              : [1, 2, Math.floor(r * 10)];
    }
    out[`group_${g}`] = group;
  }
  return out;
}

const desired = section(23);
const reported = structuredClone(desired);
for (const [g, group] of Object.entries(reported).slice(0, 6))
  (group as JsonObject).setting_0 = `changed-${g}`;
const document = { state: { desired, reported } };
const text = JSON.stringify(document);
// The update: the device reports its whole state again, as many firmwares do on every change.
const patch = structuredClone(reported);
const timestamp = 1_800_000_000;
const metadataOf = (s: JsonObject) => mergeSection(undefined, undefined, s, timestamp - 10).metadata;
const desiredMeta = metadataOf(desired);
const reportedMeta = metadataOf(reported);
progress(`document: ${Buffer.byteLength(text)} bytes of state`);

function shadowOp(): number {
  const merged = mergeSection(reported, reportedMeta, patch, timestamp);
  const delta = computeDelta(desired, merged.state);
  return Object.keys(delta ?? {}).length + Object.keys(desiredMeta).length;
}
function jsonOp(): number {
  return JSON.stringify(JSON.parse(text)).length;
}

function timeIt(op: () => number, iterations: number): number {
  let sink = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) sink += op();
  const elapsed = performance.now() - start;
  if (sink === 0) throw new Error('benchmark body was optimised away');
  return elapsed / iterations;
}

const ITERATIONS = 4_000;
timeIt(shadowOp, ITERATIONS);
timeIt(jsonOp, ITERATIONS);
const ratios: number[] = [];
const shadowTimes: number[] = [];
const jsonTimes: number[] = [];
for (let round = 0; round < 7; round++) {
  const s = timeIt(shadowOp, ITERATIONS);
  const j = timeIt(jsonOp, ITERATIONS);
  shadowTimes.push(s);
  jsonTimes.push(j);
  ratios.push(s / j);
}
metric('shadow_merge_us', median(shadowTimes) * 1000);
metric('shadow_json_roundtrip_us', median(jsonTimes) * 1000);
metric('shadow_merge_vs_json_ratio', median(ratios));
