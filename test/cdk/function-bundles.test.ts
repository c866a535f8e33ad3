import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { esbuildOptions } from '../../lib/constructs/bundling.ts';
import { type FunctionSpec, type Topology, usesOf } from '../../lib/topology/index.ts';
import { topology } from '../../lib/topology.ts';

const table: Topology = topology;
const outdir = mkdtempSync(join(tmpdir(), 'fleetkit-function-bundles-'));

/** The packages and source files one function's bundle holds, with their bytes in it, from esbuild's metafile. */
async function bundledInputs(spec: FunctionSpec): Promise<Array<[string, number]>> {
  const result = await build({
    ...esbuildOptions(
      join('lambdas', 'handlers', spec.handler, 'index.ts'),
      join(outdir, spec.handler, 'index.mjs'),
    ),
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  // The output's inputs with bytes in it: the metafile's top-level inputs also list what tree shaking dropped.
  return Object.values(result.metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path, input]): [string, number] => [path, input.bytesInOutput]),
  );
}

const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];

/**
 * Cold starts grow with the bundle (V8 compiles what it loads): a function bundles an SDK client only if
 * its topology entry uses a resource of that kind, and never zod's locales (each ~6 KB; a `{ z }`
 * import pulls in all of them).
 */
describe('function bundles', () => {
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it.each(Object.entries(table.functions))('%s bundles only the clients it uses', async (_name, spec) => {
    // Prepare
    const kinds = new Set(usesOf(table, spec).map((use) => use.resource.kind));
    const producer = usesOf(table, spec).some(
      (use) => use.resource.kind === 'stream' && use.access !== 'read',
    );
    // Act
    const inputs = await bundledInputs(spec);
    const packages = new Set(inputs.map(([path]) => packageOf(path)));
    // Assess
    expect({
      s3: packages.has('@aws-sdk/client-s3'),
      kms: packages.has('@aws-sdk/client-kms'),
      iotData: packages.has('@aws-sdk/client-iot-data-plane'),
      kafka: packages.has('kafkajs'),
      // A locale is ~6 KB; the few bytes of the locales' index a lazily loaded module may keep are not one.
      zodLocales: inputs
        .filter(([path, bytes]) => /zod\/v4\/locales\/(?!en\.js)/.test(path) && bytes > 1024)
        .map(([path]) => path),
    }).toEqual({
      s3: kinds.has('bucket'),
      kms: kinds.has('signingKey'),
      iotData: kinds.has('topics'),
      kafka: producer,
      zodLocales: [],
    });
  });
});
