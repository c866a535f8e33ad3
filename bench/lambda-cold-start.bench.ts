import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BARE_SPEC,
  type Bundle,
  bundle,
  bytesBySource,
  functionSpecs,
  type ImportCost,
  importCost,
} from './lambda-bundles.ts';
import { median, metric, progress } from './support.ts';

/**
 * Lambda cold starts: every function of the topology and a bare handler that only builds a DynamoDB
 * document client, bundled with the functions' own bundling settings (lib/constructs/bundling.ts, what
 * `FleetFunction` gives `NodejsFunction`), each imported in a fresh Node process with its template's
 * env, rounds interleaved so all see the same machine.
 *
 * lambda_init_vs_bare_ratio = the slowest function's median import time ÷ the bare handler's (goal ≤ 1.5).
 * lambda_bundle_kb_max = the largest bundle in KB (goal ≤ 400).
 * lambda_init_cpu_vs_bare_ratio = the same in CPU time (user + system) of the import, the slowest by CPU:
 *   on a machine shared with other work it moves less than wall time.
 * Per function (stderr): KB, median import ms (wall and CPU), ratios, and the packages that weigh most
 * (esbuild's metafile).
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

const dir = await mkdtemp(join(tmpdir(), 'fleetkit-cold-start-'));
const specs = [BARE_SPEC, ...functionSpecs()];
progress(`bundling ${specs.length} handlers`);
const bundles: Bundle[] = [];
for (const spec of specs) bundles.push(await bundle(spec, dir));

const costs = new Map<string, ImportCost[]>(bundles.map((b) => [b.name, []]));
for (let round = 1; round <= ROUNDS; round++) {
  for (const b of bundles) costs.get(b.name)?.push(importCost(b));
  progress(`round ${round}/${ROUNDS}`);
}

const medianMs = (b: Bundle) => median((costs.get(b.name) ?? []).map((c) => c.ms));
const medianCpuMs = (b: Bundle) => median((costs.get(b.name) ?? []).map((c) => c.cpuMs));
const bare = bundles[0] as Bundle;
const bareMs = medianMs(bare);
const bareCpuMs = medianCpuMs(bare);
const kb = (bytes: number) => bytes / 1024;
const functions = bundles.slice(1).sort((a, b) => medianMs(b) - medianMs(a));
for (const b of [bare, ...functions]) {
  const heaviest = bytesBySource(b)
    .slice(0, 4)
    .map(([source, bytes]) => `${source} ${kb(bytes).toFixed(0)}`)
    .join(', ');
  progress(
    `${b.name.padEnd(18)} ${kb(b.bytes).toFixed(0).padStart(5)} KB ${medianMs(b).toFixed(1).padStart(6)} ms ${(medianMs(b) / bareMs).toFixed(2)}x  cpu ${medianCpuMs(b).toFixed(1).padStart(6)} ms ${(medianCpuMs(b) / bareCpuMs).toFixed(2)}x  [${heaviest}]`,
  );
}
const slowest = functions[0] as Bundle;
progress(
  `slowest: ${slowest.name}; largest: ${functions.reduce((a, b) => (b.bytes > a.bytes ? b : a)).name}`,
);
metric('lambda_bare_init_ms', bareMs);
metric('lambda_init_ms_max', medianMs(slowest));
metric('lambda_init_vs_bare_ratio', medianMs(slowest) / bareMs);
// The same in CPU time, which a machine shared with other work disturbs less than wall time.
metric('lambda_init_cpu_vs_bare_ratio', Math.max(...functions.map((b) => medianCpuMs(b))) / bareCpuMs);
metric('lambda_bundle_kb_max', kb(Math.max(...functions.map((b) => b.bytes))));
metric('lambda_bundle_kb_bare', kb(bare.bytes));

await rm(dir, { recursive: true, force: true });
