// Module loading hooks for bin/ts-loader.mjs: a `.ts` or `.mts` file is transformed by esbuild to an ES
// module, types removed, names as written. Everything else loads as Node loads it.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const TYPESCRIPT = /\.m?ts$/;
const OPTIONS = {
  loader: 'ts',
  format: 'esm',
  target: `node${process.versions.node}`,
  sourcemap: 'inline',
  // The map names the file; its text, which V8 would hold in every module's source, stays on disk.
  sourcesContent: false,
  // Source maps keep the lines; the module's text held by V8 is smaller without the layout.
  minifyWhitespace: true,
  // Class fields as tsconfig.json's target (ES2022) has them, as tsc and tsx compile them here.
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
};

/** @type {import('node:module').LoadHook} */
export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !TYPESCRIPT.test(new URL(url).pathname)) return nextLoad(url, context);
  const file = fileURLToPath(url);
  const { code } = await transform(await readFile(file, 'utf8'), { ...OPTIONS, sourcefile: file });
  return { format: 'module', source: code, shortCircuit: true };
}
