import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { esbuildOptions } from '../../lib/constructs/bundling.ts';
import { FleetFunction } from '../../lib/constructs/fleet-function.ts';

/**
 * The one test that bundles for real, with the local esbuild, for one function: placeholder bundling
 * everywhere else keeps synth fast.
 */
describe('FleetFunction bundling', () => {
  let outdir: string;
  let bundle: string;

  beforeAll(() => {
    // Prepare
    outdir = mkdtempSync(join(tmpdir(), 'fleetkit-bundle-'));
    const app = new App({ outdir, builtinCloudFormationValidation: false });
    new FleetFunction(new Stack(app, 'Bundle'), 'IngestStatus', {
      handler: 'ingest-status',
      environment: { REGISTRY_TABLE_NAME: 'registry', FLEET_HEALTH_TABLE_NAME: 'fleet-health' },
    });
    // Act
    app.synth();
    const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
    if (assets.length !== 1) throw new Error(`expected one asset, got ${assets.join(', ')}`);
    bundle = join(outdir, assets[0] as string, 'index.mjs');
  }, 120_000);

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('emits an ESM handler that reads its table from the env, with a source map', () => {
    // Assess
    const code = readFileSync(bundle, 'utf8');
    expect(code).toContain('REGISTRY_TABLE_NAME');
    expect(code.startsWith('import { createRequire')).toBe(true);
    expect(existsSync(`${bundle}.map`)).toBe(true);
  });

  it('is what esbuildOptions builds, so the cold-start bench measures the deployed bundle', async () => {
    // Act
    const outfile = join(outdir, 'bench', 'index.mjs');
    await build({
      ...esbuildOptions(join('lambdas', 'handlers', 'ingest-status', 'index.ts'), outfile),
      logLevel: 'error',
    });
    // Assess
    expect(readFileSync(outfile, 'utf8')).toBe(readFileSync(bundle, 'utf8'));
  });

  it('loads under Node as a module and exports the handler', () => {
    // Act: a child process, so the bundle runs as Lambda would load it, outside the test's loader.
    const exported = execFileSync(
      process.execPath,
      [
        '-e',
        `import(${JSON.stringify(pathToFileURL(bundle).href)}).then((m) => console.log(typeof m.handler))`,
      ],
      {
        env: {
          ...process.env,
          REGISTRY_TABLE_NAME: 'registry',
          FLEET_HEALTH_TABLE_NAME: 'fleet-health',
          ALERTS_TABLE_NAME: 'alerts',
          AWS_REGION: 'us-east-1',
          NODE_NO_WARNINGS: '1',
        },
        encoding: 'utf8',
      },
    );
    // Assess
    expect(exported.trim()).toBe('function');
  });
});
