import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEdge } from '../edge/build/build-edge.ts';
import { metric, progress } from './support.ts';

/**
 * Delta images (issue 12, step 5): how many bytes a device would download as a VCDIFF delta (RFC 3284)
 * from the artifact it runs instead of the whole next artifact, for two consecutive builds of the edge
 * component. Both builds are made by `buildEdge` (the `npm run build:edge` path: esbuild bundle, source
 * map, model, native packages, one zip) from the edge and protocol sources of two commits of this
 * repository; the change between them is a real one of a few modules (the OTA agent's split into
 * modules and the feature window's device seconds). The delta is made by xdelta3 in standard VCDIFF (no
 * secondary compression, no application header, no checksum extension: what any RFC 3284 decoder reads),
 * and counts only if decoding it onto the base reproduces the next artifact's SHA-256.
 *
 * ota_delta_vs_full_bytes_ratio = delta bytes ÷ next artifact bytes (goal ≤ 0.25)
 *
 * Needs git with both commits in the history (a merge keeps them; a squash does not: then name two
 * others) and xdelta3 (`apt-get install xdelta3`).
 */
const BASE = '1fbe253';
const NEXT = '9d63164';

const root = fileURLToPath(new URL('..', import.meta.url));
function run(command: string, args: readonly string[]): Buffer {
  try {
    return execFileSync(command, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${command} is not installed (apt-get install ${command})` : String(error));
  }
}

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

/** The artifact as `npm run build:edge` makes it, from the edge and protocol sources of `revision`. */
async function buildAt(work: string, revision: string): Promise<{ file: string; bytes: number }> {
  const source = join(work, `src-${revision}`);
  await mkdir(source, { recursive: true });
  const archive = join(work, `${revision}.tar`);
  run('git', ['archive', '--format=tar', '-o', archive, revision, 'edge', 'lib']);
  run('tar', ['-xf', archive, '-C', source]);
  const built = await buildEdge({
    root,
    entry: join(source, 'edge/src/main.ts'),
    outDir: join(work, `out-${revision}`),
  });
  progress(`${revision}: ${built.artifactFile} ${built.sizeBytes} bytes, bundle ${built.bundleBytes} bytes`);
  return { file: built.artifactFile, bytes: built.sizeBytes };
}

const work = await mkdtemp(join(tmpdir(), 'fleetkit-ota-delta-'));
try {
  const changed = run('git', ['diff', '--name-only', BASE, NEXT, '--', 'edge/src', 'lib/protocol'])
    .toString()
    .split('\n')
    .filter((line) => line.endsWith('.ts'));
  progress(`${BASE} → ${NEXT}: ${changed.length} modules changed (${changed.join(', ')})`);
  const base = await buildAt(work, BASE);
  const next = await buildAt(work, NEXT);
  const delta = join(work, 'next.vcdiff');
  run('xdelta3', ['-e', '-f', '-S', 'none', '-A', '-n', '-s', base.file, next.file, delta]);
  const patched = join(work, 'patched.zip');
  run('xdelta3', ['-d', '-f', '-s', base.file, delta, patched]);
  if ((await sha256(patched)) !== (await sha256(next.file)))
    throw new Error('the delta applied to the base does not reproduce the next artifact');
  const deltaBytes = (await stat(delta)).size;
  progress(`delta ${deltaBytes} bytes for a ${next.bytes}-byte artifact`);
  metric('ota_delta_vs_full_bytes_ratio', deltaBytes / next.bytes);
} finally {
  await rm(work, { recursive: true, force: true });
}
