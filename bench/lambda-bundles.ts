import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { esbuildOptions } from '../lib/constructs/bundling.ts';
import { type FunctionSpec, functionEnv, type Topology, usesOf } from '../lib/topology/index.ts';
import { topology } from '../lib/topology.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** A function to bundle: its entry and the env its template gives it. */
export interface BundleSpec {
  readonly name: string;
  readonly entry: string;
  readonly env: Readonly<Record<string, string>>;
}

/** A bundle built with the functions' own bundling settings. */
export interface Bundle extends BundleSpec {
  readonly file: string;
  readonly bytes: number;
  readonly metafile: Metafile;
}

/**
 * The floor: a handler that builds a DynamoDB document client and nothing else, as the issue's
 * measurement defines it.
 */
export const BARE_SPEC: BundleSpec = {
  name: 'bare-dynamodb',
  entry: join(ROOT, 'bench', 'fixtures', 'bare-dynamodb-handler.ts'),
  env: {},
};

/**
 * Every function of the topology with the env the runtime stack gives it in AWS: its settings and
 * resource names (placeholders here; only their presence matters at import), the IoT data endpoint
 * for publishers, the cluster for stream users, the stage.
 */
export function functionSpecs(): BundleSpec[] {
  const table: Topology = topology;
  return Object.entries(table.functions).map(([name, spec]: [string, FunctionSpec]) => {
    const uses = usesOf(table, spec);
    const env: Record<string, string> = {
      ...functionEnv(table, spec, (resource) => `fleetkit-bench-${resource}`),
      ...(uses.some((use) => use.resource.kind === 'topics')
        ? { AWS_ENDPOINT_URL_IOT_DATA_PLANE: 'https://example-ats.iot.us-east-1.amazonaws.com' }
        : {}),
      ...(uses.some((use) => use.resource.kind === 'stream')
        ? {
            MSK_CLUSTER_ARN: 'arn:aws:kafka:us-east-1:123456789012:cluster/fleetkit-bench/0000-0000',
            KAFKA_SASL_MECHANISM: 'aws-msk-iam',
          }
        : {}),
      STAGE: 'bench',
    };
    return { name, entry: join(ROOT, 'lambdas', 'handlers', spec.handler, 'index.ts'), env };
  });
}

/** Bundles `spec` into `dir/<name>/index.mjs` with {@link esbuildOptions}, keeping esbuild's metafile. */
export async function bundle(spec: BundleSpec, dir: string): Promise<Bundle> {
  const file = join(dir, spec.name, 'index.mjs');
  const result = await build({
    ...esbuildOptions(spec.entry, file),
    absWorkingDir: ROOT,
    metafile: true,
    logLevel: 'error',
  });
  return { ...spec, file, bytes: statSync(file).size, metafile: result.metafile };
}

/** What one import of a bundle cost. */
export interface ImportCost {
  /** Wall-clock milliseconds from `import()` to the module being evaluated. */
  readonly ms: number;
  /** CPU milliseconds (user + system) the process spent in that import: less sensitive to a busy machine. */
  readonly cpuMs: number;
}

/**
 * Imports `bundle` in a fresh Node process with the function's env and what Lambda adds (region,
 * credentials, `NODE_OPTIONS=--enable-source-maps` from `FleetFunction`): what a cold start adds to
 * Node's own startup.
 */
export function importCost(bundle: Bundle): ImportCost {
  const script = `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(pathToFileURL(bundle.file).href)}); const ms = performance.now() - t; const u = process.cpuUsage(c); process.stderr.write('import-ms ' + ms + ' ' + (u.user + u.system) / 1000 + '\\n');`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDBENCH',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SESSION_TOKEN: 'bench',
      AWS_LAMBDA_FUNCTION_NAME: bundle.name,
      NODE_OPTIONS: '--enable-source-maps',
      // Lambda's Node 24 prints no SDK support warning; Node 20 here would, and printing is not init.
      NODE_NO_WARNINGS: '1',
      ...bundle.env,
    },
  });
  const match = /import-ms ([\d.]+) ([\d.]+)/.exec(child.stderr);
  if (child.status !== 0 || match === null) {
    throw new Error(`importing ${bundle.name} failed (exit ${child.status}): ${child.stderr.slice(0, 2000)}`);
  }
  return { ms: Number(match[1]), cpuMs: Number(match[2]) };
}

/** Bytes in the bundle per package (`node_modules/<pkg>`) or source folder, largest first. */
export function bytesBySource(bundle: Bundle): Array<[string, number]> {
  const output = Object.values(bundle.metafile.outputs).find((o) => o.entryPoint !== undefined);
  const groups = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1];
    const key = pkg ?? path.replace(/\/[^/]+$/, '/');
    groups.set(key, (groups.get(key) ?? 0) + bytesInOutput);
  }
  return [...groups].sort((a, b) => b[1] - a[1]);
}
