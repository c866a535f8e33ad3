import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildEdge } from './build-edge.ts';
import { EdgeBuildError } from './errors.ts';

/**
 * `npm run build:edge [-- --entry FILE --out DIR --bucket NAME]`: builds the Greengrass component
 * artifact and its publish recipe into `edge/greengrass-build/` — the folders `gdk component build`
 * expects a custom build to fill (gdk-config.json runs this script).
 */
const USAGE = `usage: npm run build:edge -- [--entry edge/src/main.ts] [--out edge/greengrass-build] [--bucket NAME]

  --entry   the agent's entry point (default edge/src/main.ts)
  --out     the GDK build folder: recipes/ and artifacts/<component>/<version>/ (default edge/greengrass-build)
  --bucket  S3 bucket for the artifact URI in the recipe (default BUCKET_NAME, which gdk component publish fills)`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function main(): Promise<number> {
  let values: { entry?: string; out?: string; bucket?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        entry: { type: 'string' },
        out: { type: 'string' },
        bucket: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const result = await buildEdge({
      root,
      ...(values.entry === undefined ? {} : { entry: resolve(values.entry) }),
      ...(values.out === undefined ? {} : { outDir: resolve(values.out) }),
      ...(values.bucket === undefined ? {} : { bucket: values.bucket }),
      log: (line) => console.log(line),
    });
    console.log(`built     ${result.componentName} ${result.componentVersion}`);
    return 0;
  } catch (error) {
    if (error instanceof EdgeBuildError) {
      console.error(`build:edge failed: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main();
