import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, buildSync, type OutputFile } from 'esbuild';

/** The console's sources: `console/index.html`, `console/src/main.tsx` and what it imports. */
export const CONSOLE_SOURCE_DIR = fileURLToPath(new URL('../../../console/', import.meta.url));

/** The built console: file name → bytes (`index.html`, `app.js`, `app.css`). */
export type ConsoleAssets = ReadonlyMap<string, Uint8Array>;

const options = (minify: boolean): BuildOptions => ({
  entryPoints: { app: join(CONSOLE_SOURCE_DIR, 'src/main.tsx') },
  bundle: true,
  format: 'esm',
  // Evergreen browsers (the phone's too); no polyfills.
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  platform: 'browser',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify,
  legalComments: 'none',
  write: false,
  outdir: join(CONSOLE_SOURCE_DIR, 'out'),
  logLevel: 'silent',
});

function collect(outputFiles: readonly OutputFile[]): ConsoleAssets {
  const assets = new Map<string, Uint8Array>();
  assets.set('index.html', readFileSync(join(CONSOLE_SOURCE_DIR, 'index.html')));
  for (const file of outputFiles) assets.set(file.path.slice(file.path.lastIndexOf('/') + 1), file.contents);
  return assets;
}

/** Bundles the console with esbuild (Preact, uPlot, aws4fetch and the pages) into memory. */
export async function buildConsole(minify = true): Promise<ConsoleAssets> {
  const result = await build(options(minify));
  return collect(result.outputFiles ?? []);
}

/** The same, synchronously: for CDK's local bundling, which cannot wait on a promise. */
export function buildConsoleSync(minify = true): ConsoleAssets {
  return collect(buildSync(options(minify)).outputFiles ?? []);
}

/** Writes a built console to `outDir` (the static site's files). */
export async function writeConsole(assets: ConsoleAssets, outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const [name, bytes] of assets) await writeFile(join(outDir, name), bytes);
}

/** Builds and writes the console synchronously (CDK's local bundling of the static site). */
export function writeConsoleSync(outDir: string): void {
  mkdirSync(outDir, { recursive: true });
  for (const [name, bytes] of buildConsoleSync()) writeFileSync(join(outDir, name), bytes);
}
