import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fromBuffer, type ZipFile } from 'yauzl';
import { buildEdge, type EdgeBuildResult } from '../../../edge/build/build-edge.ts';
import {
  EdgeEntryMissingError,
  ModelDigestMismatchError,
  NativeBinaryMissingError,
  RecipeFormatError,
  RuntimePackageMissingError,
} from '../../../edge/build/errors.ts';
import { collectRuntimePackages } from '../../../edge/build/runtime-packages.ts';
import { filesDigest } from '../../../edge/build/sbom.ts';

/**
 * `npm run build:edge` for real: esbuild bundles edge/src/main.ts, and the zip is opened and its agent
 * run, as a Greengrass core would after unpacking it.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'fleetkit-edge-build-'));
const modelManifest = JSON.parse(readFileSync(join(root, 'edge/model/anomaly-detector.json'), 'utf8')) as {
  sha256: string;
  sizeBytes: number;
};

/** Every file of a zip, by name. */
async function readZip(file: string): Promise<Map<string, Buffer>> {
  const zip = await new Promise<ZipFile>((resolve, reject) =>
    fromBuffer(readFileSync(file), { lazyEntries: true }, (error, z) => (error ? reject(error) : resolve(z))),
  );
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry) => {
      zip.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          files.set(entry.fileName, Buffer.concat(chunks));
          zip.readEntry();
        });
      });
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return files;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('build:edge with the agent (edge/src/main.ts)', () => {
  let result: EdgeBuildResult;
  let files: Map<string, Buffer>;
  let unpacked: string;
  const lines: string[] = [];

  beforeAll(async () => {
    // Act
    result = await buildEdge({
      root,
      outDir: join(temp, 'gg'),
      bucket: 'my-bucket',
      log: (l) => lines.push(l),
    });
    files = await readZip(result.artifactFile);
    unpacked = join(temp, 'unpacked', 'fleetkit-edge');
    for (const [name, data] of files) {
      mkdirSync(dirname(join(unpacked, name)), { recursive: true });
      writeFileSync(join(unpacked, name), data);
    }
  }, 120_000);

  afterAll(() => {
    rmSync(temp, { recursive: true, force: true });
  });

  it('writes the artifact where gdk publish looks: artifacts/<component>/<version>/fleetkit-edge.zip', () => {
    expect(result.artifactFile).toBe(
      join(temp, 'gg/artifacts/com.fleetkit.EdgeAgent', result.componentVersion, 'fleetkit-edge.zip'),
    );
  });

  it('prints progress, the size and the SHA-256 of the artifact, which are the file’s', () => {
    // Assess
    const zip = readFileSync(result.artifactFile);
    expect(result.sizeBytes).toBe(statSync(result.artifactFile).size);
    expect(result.sha256Hex).toBe(sha256(zip));
    expect(lines.some((l) => l.startsWith('bundle'))).toBe(true);
    expect(lines).toContain(`sha256    ${result.sha256Hex}`);
    expect(lines.some((l) => l.startsWith('artifact') && l.includes(' MB '))).toBe(true);
  });

  it('holds the bundled agent as ESM with its source map', () => {
    // Assess
    const agent = files.get('agent.mjs')?.toString('utf8') ?? '';
    expect(agent.startsWith('import { createRequire')).toBe(true);
    expect(agent).toContain('//# sourceMappingURL=agent.mjs.map');
    const map = JSON.parse(files.get('agent.mjs.map')?.toString('utf8') ?? '{}') as { sources?: string[] };
    expect(map.sources?.some((s) => s.endsWith('edge/src/main.ts'))).toBe(true);
  });

  it('holds the model with the SHA-256 and size its manifest names', () => {
    // Assess
    const model = files.get('model/anomaly-detector.onnx');
    expect(model?.length).toBe(modelManifest.sizeBytes);
    expect(sha256(model ?? Buffer.alloc(0))).toBe(modelManifest.sha256);
    expect(files.get('model/anomaly-detector.json')?.toString('utf8')).toBe(
      readFileSync(join(root, 'edge/model/anomaly-detector.json'), 'utf8'),
    );
  });

  it.each([
    'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
    'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
    'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
    'node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1',
    'node_modules/onnxruntime-node/dist/index.js',
    'node_modules/onnxruntime-common/package.json',
    'node_modules/@serialport/bindings-cpp/prebuilds/linux-x64/@serialport+bindings-cpp.glibc.node',
    'node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/@serialport+bindings-cpp.armv8.glibc.node',
    'node_modules/node-gyp-build/index.js',
  ])('holds %s', (name) => {
    expect(files.has(name)).toBe(true);
  });

  it('leaves out other platforms, install-only packages, sources and type declarations', () => {
    // Assess
    const names = [...files.keys()];
    const natives = names.filter((n) => /\.(node|so(\.\d+)*|dylib|dll)$/.test(n));
    expect(natives.length).toBeGreaterThanOrEqual(6);
    expect(natives.filter((n) => !/\/linux[-/](x64|arm64)([-/]|-glibc\/)/.test(n))).toEqual([]);
    // aws-iot-device-sdk-v2's CRT, for the Greengrass IPC transport: glibc builds of the two targets only.
    expect(natives.filter((n) => n.includes('/aws-crt/')).sort()).toEqual([
      'node_modules/aws-crt/dist/bin/linux-arm64-glibc/aws-crt-nodejs.node',
      'node_modules/aws-crt/dist/bin/linux-x64-glibc/aws-crt-nodejs.node',
    ]);
    expect(names.filter((n) => /node_modules\/(adm-zip|global-agent|node-addon-api)\//.test(n))).toEqual([]);
    expect(names.filter((n) => /\.d\.ts$|\/src\/.*\.cc$|binding\.gyp$/.test(n))).toEqual([]);
    expect(result.sizeBytes).toBeLessThan(40 * 1024 * 1024);
  });

  it('records what it bundles in a CycloneDX SBOM: exact versions and SHA-256s that match the artifact', () => {
    // Prepare
    const sbom = JSON.parse((files.get('fleetkit-edge.cdx.json') as Buffer).toString('utf8'));
    const component = (name: string, inclusion?: string) =>
      sbom.components.find(
        (c: { name: string; properties?: Array<{ name: string; value: string }> }) =>
          c.name === name && (inclusion === undefined || c.properties?.some((p) => p.value === inclusion)),
      );
    const version = (name: string) =>
      JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    // Assess: the document
    expect(sbom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.5', version: 1 });
    expect(sbom.serialNumber).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(sbom.metadata.component).toMatchObject({
      name: 'com.fleetkit.EdgeAgent',
      version: result.componentVersion,
    });
    // The bundle and the model, by the SHA-256 of the files in the zip
    expect(component('agent.mjs').hashes).toEqual([
      { alg: 'SHA-256', content: sha256(files.get('agent.mjs') as Buffer) },
    ]);
    expect(component('fleetkit_anomaly_mlp')).toMatchObject({
      type: 'machine-learning-model',
      hashes: [{ alg: 'SHA-256', content: sha256(files.get('model/anomaly-detector.onnx') as Buffer) }],
    });
    // An inlined package, at its installed version, and a copied one hashed over the files in the zip
    expect(component('zod', 'bundled')).toMatchObject({
      version: version('zod'),
      purl: `pkg:npm/zod@${version('zod')}`,
    });
    const onnx = component('onnxruntime-node', 'copied');
    expect(onnx.version).toBe(version('onnxruntime-node'));
    const prefix = 'node_modules/onnxruntime-node/';
    const copied = new Map(
      [...files].filter(([n]) => n.startsWith(prefix)).map(([n, d]) => [n.slice(prefix.length), d]),
    );
    expect(onnx.hashes).toEqual([{ alg: 'SHA-256', content: filesDigest(copied) }]);
    // And beside the zip, the same document
    expect(readFileSync(join(dirname(result.artifactFile), 'fleetkit-edge.cdx.json'))).toEqual(
      files.get('fleetkit-edge.cdx.json'),
    );
  });

  it('writes the publish recipe with the artifact URI and its digest', () => {
    // Assess
    const published = parse(readFileSync(result.recipeFile, 'utf8')) as {
      Manifests: { Artifacts: { URI: string; Digest: string; Algorithm: string; Unarchive: string }[] }[];
    };
    expect(result.recipeFile).toBe(join(temp, 'gg/recipes/recipe.yaml'));
    for (const manifest of published.Manifests) {
      expect(manifest.Artifacts).toEqual([
        expect.objectContaining({
          URI: `s3://my-bucket/com.fleetkit.EdgeAgent/${result.componentVersion}/fleetkit-edge.zip`,
          Unarchive: 'ZIP',
          Digest: Buffer.from(result.sha256Hex, 'hex').toString('base64'),
          Algorithm: 'SHA-256',
        }),
      ]);
    }
    expect(readFileSync(result.recipeFile, 'utf8')).toContain('# IPC authorization');
  });

  it('runs from the unpacked archive alone: --check loads the model with onnxruntime from the artifact', () => {
    // Act: a child process in a folder with no node_modules above it, as on a core device.
    const output = execFileSync(process.execPath, [join(unpacked, 'agent.mjs'), '--check'], {
      cwd: unpacked,
      env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1' },
      encoding: 'utf8',
    });
    // Assess
    const report = JSON.parse(output) as { ok: boolean; model: { sha256: string } };
    expect(report.ok).toBe(true);
    expect(report.model.sha256).toBe(modelManifest.sha256);
  });

  it('loads the serialport binding for this platform from the artifact', () => {
    // Act
    const loaded = execFileSync(
      process.execPath,
      ['-e', "const b = require('@serialport/bindings-cpp'); console.log(typeof b.autoDetect().list)"],
      { cwd: unpacked, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' },
    );
    // Assess
    expect(loaded.trim()).toBe('function');
  });

  it('loads aws-iot-device-sdk-v2 (and its native CRT) from the artifact, for the Greengrass IPC transport', () => {
    // Act
    const loaded = execFileSync(
      process.execPath,
      ['-e', "console.log(typeof require('aws-iot-device-sdk-v2').greengrasscoreipc.createClient)"],
      { cwd: unpacked, env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' },
    );
    // Assess
    expect(loaded.trim()).toBe('function');
  });

  it('gives the same bytes, so the same SHA-256, when built again', async () => {
    // Act
    const again = await buildEdge({ root, outDir: join(temp, 'gg-again'), bucket: 'my-bucket' });
    // Assess
    expect(again.sha256Hex).toBe(result.sha256Hex);
  }, 120_000);
});

describe('build:edge with a throwaway entry', () => {
  it('copies only the native packages the bundle imports', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'fleetkit-edge-entry-'));
    const entry = join(dir, 'entry.ts');
    writeFileSync(
      entry,
      "import { Tensor } from 'onnxruntime-node';\nconsole.log(new Tensor('float32', [1]).dims);\n",
    );
    try {
      // Act
      const result = await buildEdge({ root, entry, outDir: join(dir, 'gg') });
      // Assess
      const names = result.runtimePackages.map((p) => p.name);
      expect(names).toContain('onnxruntime-node');
      expect(names).toContain('onnxruntime-common');
      expect(names.filter((n) => n.startsWith('@serialport/'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('build:edge errors say what to do', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleetkit-edge-errors-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('names a missing entry point', async () => {
    await expect(buildEdge({ root, entry: join(dir, 'nope.ts'), outDir: dir })).rejects.toThrow(
      EdgeEntryMissingError,
    );
  });

  it('refuses a model whose SHA-256 is not its manifest’s, and says how to regenerate it', async () => {
    // Prepare
    const modelDir = join(dir, 'model');
    cpSync(join(root, 'edge/model'), modelDir, { recursive: true });
    writeFileSync(join(modelDir, 'anomaly-detector.onnx'), 'not the model');
    // Act
    const build = buildEdge({ root, modelDir, outDir: dir });
    // Assess
    await expect(build).rejects.toThrow(ModelDigestMismatchError);
    await expect(build).rejects.toThrow(/edge\/model\/train\.ts/);
  });

  it('refuses a gdk-config.json whose version differs from the recipe’s', async () => {
    // Prepare
    const gdkConfigFile = join(dir, 'gdk-config.json');
    const gdk = JSON.parse(readFileSync(join(root, 'edge/gdk-config.json'), 'utf8'));
    gdk.component['com.fleetkit.EdgeAgent'].version = '9.9.9';
    writeFileSync(gdkConfigFile, JSON.stringify(gdk));
    // Act
    const build = buildEdge({ root, gdkConfigFile, outDir: dir });
    // Assess
    await expect(build).rejects.toThrow(RecipeFormatError);
    await expect(build).rejects.toThrow(/'9\.9\.9' differs from the recipe's ComponentVersion/);
  });

  it('refuses a native package without a linux arm64 binary (fixture project)', () => {
    // Prepare: an installed onnxruntime-node with only the x64 binaries.
    const project = join(dir, 'project');
    const pkg = join(project, 'node_modules/onnxruntime-node');
    mkdirSync(join(pkg, 'bin/napi-v6/linux/x64'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'onnxruntime-node', version: '0.0.0' }));
    writeFileSync(join(pkg, 'bin/napi-v6/linux/x64/onnxruntime_binding.node'), '');
    writeFileSync(join(pkg, 'bin/napi-v6/linux/x64/libonnxruntime.so.1'), '');
    // Act / Assess
    expect(() => collectRuntimePackages(project, ['onnxruntime-node'])).toThrow(NativeBinaryMissingError);
    expect(() => collectRuntimePackages(project, ['onnxruntime-node'])).toThrow(/no linux-arm64 binary/);
  });

  it('names a runtime dependency that is not installed, and who needs it (fixture project)', () => {
    // Prepare
    const project = join(dir, 'project-dep');
    const pkg = join(project, 'node_modules/needs-dep');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'needs-dep', version: '1.0.0', dependencies: { 'not-there': '^1' } }),
    );
    // Act / Assess
    expect(() => collectRuntimePackages(project, ['needs-dep'])).toThrow(RuntimePackageMissingError);
    expect(() => collectRuntimePackages(project, ['needs-dep'])).toThrow(
      /not-there \(needed by needs-dep@1\.0\.0\)/,
    );
  });
});
