import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { finished } from 'node:stream/promises';
import { build, type Metafile } from 'esbuild';
import { ZipFile } from 'yazl';
import { EdgeBundleError, EdgeEntryMissingError, ModelDigestMismatchError } from './errors.ts';
import { ARTIFACT_FILE_NAME, readComponentSource, renderPublishRecipe } from './recipe.ts';
import { collectRuntimePackages, type RuntimePackage, TARGETS } from './runtime-packages.ts';
import { buildSbom, bundledPackages, SBOM_FILE_NAME } from './sbom.ts';

/** The bundle's file name inside the artifact; the recipe's Run step starts it. */
export const AGENT_FILE_NAME = 'agent.mjs';
/** Model files copied from `edge/model/` into the artifact's `model/`. */
export const MODEL_FILES = ['anomaly-detector.onnx', 'anomaly-detector.json'] as const;
/** What the artifact says about itself, at its root. */
export const BUILD_INFO_FILE_NAME = 'fleetkit-edge.json';

/** Packages with native addons: never inlined, copied into the artifact when the bundle imports them. */
const NATIVE_PACKAGES = ['onnxruntime-node', '@serialport/bindings-cpp'];
/**
 * Loaded by name with `import(specifier)` in Greengrass mode (edge/src/transport), so esbuild cannot see
 * it: copied when installed, reported when not.
 */
const RUNTIME_LOADED_PACKAGES = ['aws-iot-device-sdk-v2'];

/** Lets bundled CommonJS dependencies `require` Node built-ins from an ES module. */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __fleetkitCreateRequire } from 'node:module'; const require = __fleetkitCreateRequire(import.meta.url);";

/** Fixed entry time, so the same inputs give the same zip and the same SHA-256. */
const ZIP_MTIME = new Date('2020-01-01T00:00:00Z');

export interface BuildEdgeOptions {
  /** The project root (package.json, node_modules). */
  readonly root: string;
  /** @default `<root>/edge/src/main.ts` */
  readonly entry?: string;
  /** GDK's build folder: `recipes/` and `artifacts/<component>/<version>/` go there. @default `<root>/edge/greengrass-build` */
  readonly outDir?: string;
  /** @default `<root>/edge/recipe.yaml` */
  readonly recipeFile?: string;
  /** @default `<root>/edge/gdk-config.json` */
  readonly gdkConfigFile?: string;
  /** @default `<root>/edge/model` */
  readonly modelDir?: string;
  /** S3 bucket of the published artifact. @default `BUCKET_NAME`, which `gdk component publish` replaces */
  readonly bucket?: string;
  /** Progress lines. @default nothing is printed */
  readonly log?: (line: string) => void;
}

export interface EdgeBuildResult {
  readonly componentName: string;
  readonly componentVersion: string;
  readonly artifactFile: string;
  readonly artifactUri: string;
  readonly sizeBytes: number;
  readonly sha256Hex: string;
  readonly sha256Base64: string;
  /** The recipe to publish, URI and digest filled in. */
  readonly recipeFile: string;
  readonly bundleBytes: number;
  readonly runtimePackages: readonly RuntimePackage[];
  /** Runtime-loaded packages that were not installed, so are not in the artifact. */
  readonly missingOptionalPackages: readonly string[];
  /** Every file name in the zip. */
  readonly entries: readonly string[];
}

/** Human-readable size: `27.4 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

interface ModelManifest {
  readonly sha256: string;
  readonly sizeBytes: number;
}

function readModel(modelDir: string): {
  readonly onnx: Buffer;
  readonly manifest: Buffer;
  readonly sha256: string;
} {
  const [onnxName, manifestName] = MODEL_FILES;
  const onnx = readFileSync(join(modelDir, onnxName));
  const manifest = readFileSync(join(modelDir, manifestName));
  const expected = (JSON.parse(manifest.toString('utf8')) as ModelManifest).sha256;
  const actual = createHash('sha256').update(onnx).digest('hex');
  if (actual !== expected) throw new ModelDigestMismatchError(join(modelDir, onnxName), expected, actual);
  return { onnx, manifest, sha256: actual };
}

async function bundle(
  root: string,
  entry: string,
  outDir: string,
): Promise<{ code: Buffer; map: Buffer; metafile: Metafile }> {
  const outfile = join(outDir, AGENT_FILE_NAME);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    sourcemap: 'linked',
    banner: { js: ESM_REQUIRE_BANNER },
    external: [...NATIVE_PACKAGES, ...RUNTIME_LOADED_PACKAGES],
    // The project's packages, also for an entry outside the project (a test's throwaway entry).
    nodePaths: [join(root, 'node_modules')],
    legalComments: 'none',
    metafile: true,
    write: false,
    logLevel: 'silent',
  }).catch((error: unknown) => {
    const errors = (error as { errors?: { text: string; location?: { file: string; line: number } }[] })
      .errors;
    throw new EdgeBundleError(
      entry,
      errors?.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)) ?? [
        String(error),
      ],
    );
  });
  const code = result.outputFiles.find((file) => file.path === outfile);
  const map = result.outputFiles.find((file) => file.path === `${outfile}.map`);
  if (code === undefined || map === undefined) throw new EdgeBundleError(entry, ['esbuild wrote no bundle']);
  return { code: Buffer.from(code.contents), map: Buffer.from(map.contents), metafile: result.metafile };
}

/** The external packages the bundle imports by a literal specifier (`onnxruntime-node`, `@serialport/bindings-cpp`). */
function importedExternals(metafile: Metafile): string[] {
  const imported = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external) continue;
      const name = NATIVE_PACKAGES.find((pkg) => path === pkg || path.startsWith(`${pkg}/`));
      if (name !== undefined) imported.add(name);
    }
  }
  return [...imported].sort();
}

function isInstalled(root: string, name: string): boolean {
  return existsSync(join(root, 'node_modules', name, 'package.json'));
}

/**
 * Builds the component artifact — the agent bundled by esbuild (ESM, Node 20, source map), the anomaly
 * model, and the native packages for linux x64 and arm64 — as one zip, and the recipe to publish it.
 *
 * @throws EdgeBuildError subclasses, each saying what to do next
 */
export async function buildEdge(options: BuildEdgeOptions): Promise<EdgeBuildResult> {
  const { root } = options;
  const log = options.log ?? (() => {});
  const entry = options.entry ?? join(root, 'edge/src/main.ts');
  const outDir = options.outDir ?? join(root, 'edge/greengrass-build');
  const source = readComponentSource(
    options.recipeFile ?? join(root, 'edge/recipe.yaml'),
    options.gdkConfigFile ?? join(root, 'edge/gdk-config.json'),
  );
  const show = (path: string) => relative(process.cwd(), path) || '.';
  log(`component ${source.componentName} ${source.componentVersion}`);

  if (!existsSync(entry)) throw new EdgeEntryMissingError(entry);
  const model = readModel(options.modelDir ?? join(root, 'edge/model'));
  log(`model     ${MODEL_FILES[0]} sha256 ${model.sha256} (matches its manifest)`);

  const started = Date.now();
  const bundled = await bundle(root, entry, outDir);
  log(
    `bundle    ${show(entry)} → ${AGENT_FILE_NAME} ${formatBytes(bundled.code.length)} ` +
      `(+ source map ${formatBytes(bundled.map.length)}) in ${Date.now() - started} ms`,
  );

  const natives = importedExternals(bundled.metafile);
  const optional = RUNTIME_LOADED_PACKAGES.filter((name) => isInstalled(root, name));
  const missingOptionalPackages = RUNTIME_LOADED_PACKAGES.filter((name) => !optional.includes(name));
  const runtimePackages = collectRuntimePackages(root, [...natives, ...optional]);
  const targets = TARGETS.map((t) => `${t.os}-${t.arch}`).join(', ');
  for (const pkg of runtimePackages) {
    log(
      `package   ${pkg.artifactDir}@${pkg.version} ${pkg.files.length} files ${formatBytes(pkg.sizeBytes)}`,
    );
  }
  log(`natives   ${natives.join(', ') || 'none imported'} (binaries for ${targets} only)`);
  for (const name of missingOptionalPackages) {
    log(
      `warning   ${name} is not installed, so not in the artifact: the agent's Greengrass IPC transport ` +
        `loads it at run time. Install it (npm install ${name}) and build again, or run the agent with ` +
        'FLEETKIT_TRANSPORT=mqtt.',
    );
  }

  const buildInfo = {
    componentName: source.componentName,
    componentVersion: source.componentVersion,
    node: '>=20',
    targets,
    model: { file: `model/${MODEL_FILES[0]}`, sha256: model.sha256 },
    packages: Object.fromEntries(runtimePackages.map((pkg) => [pkg.artifactDir, pkg.version])),
  };
  const manifest = JSON.parse(model.manifest.toString('utf8')) as { name?: string; version?: string };
  const sbom = buildSbom({
    componentName: source.componentName,
    componentVersion: source.componentVersion,
    bundle: { name: AGENT_FILE_NAME, bytes: bundled.code },
    // esbuild names its inputs relative to its working directory, the process's.
    bundled: bundledPackages(bundled.metafile, process.cwd()),
    copied: runtimePackages,
    model: {
      name: manifest.name ?? MODEL_FILES[0],
      version: manifest.version ?? 'unknown',
      file: `model/${MODEL_FILES[0]}`,
      sha256: model.sha256,
    },
  });
  const sbomText = Buffer.from(`${JSON.stringify(sbom, null, 2)}\n`);
  const components = (sbom.components as unknown[]).length;
  log(`sbom      ${SBOM_FILE_NAME} CycloneDX 1.5, ${components} components with versions and SHA-256`);
  const zip = new ZipFile();
  const entries: string[] = [];
  const addBuffer = (buffer: Buffer, name: string) => {
    zip.addBuffer(buffer, name, { mtime: ZIP_MTIME, mode: 0o100644 });
    entries.push(name);
  };
  addBuffer(bundled.code, AGENT_FILE_NAME);
  addBuffer(bundled.map, `${AGENT_FILE_NAME}.map`);
  addBuffer(Buffer.from(`${JSON.stringify(buildInfo, null, 2)}\n`), BUILD_INFO_FILE_NAME);
  addBuffer(sbomText, SBOM_FILE_NAME);
  addBuffer(model.onnx, `model/${MODEL_FILES[0]}`);
  addBuffer(model.manifest, `model/${MODEL_FILES[1]}`);
  for (const pkg of runtimePackages) {
    for (const file of pkg.files) {
      const name = `${pkg.artifactDir}/${file}`;
      zip.addFile(join(pkg.dir, file), name, { mtime: ZIP_MTIME, mode: 0o100644 });
      entries.push(name);
    }
  }

  const version = source.gdkVersion;
  const artifactDir = join(outDir, 'artifacts', source.componentName, version);
  rmSync(artifactDir, { recursive: true, force: true });
  mkdirSync(artifactDir, { recursive: true });
  const artifactFile = join(artifactDir, ARTIFACT_FILE_NAME);
  // Beside the zip too, for scanners that read SBOMs without unpacking artifacts.
  writeFileSync(join(artifactDir, SBOM_FILE_NAME), sbomText);
  const hash = createHash('sha256');
  let sizeBytes = 0;
  zip.outputStream.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    sizeBytes += chunk.length;
  });
  const written = finished(zip.outputStream.pipe(createWriteStream(artifactFile)));
  zip.end();
  await written;
  const digest = hash.digest();
  const sha256Hex = digest.toString('hex');
  const sha256Base64 = digest.toString('base64');
  log(`artifact  ${show(artifactFile)} ${formatBytes(sizeBytes)} (${entries.length} files)`);
  log(`sha256    ${sha256Hex}`);

  const artifactUri = `s3://${options.bucket ?? 'BUCKET_NAME'}/${source.componentName}/${version}/${ARTIFACT_FILE_NAME}`;
  const recipesDir = join(outDir, 'recipes');
  mkdirSync(recipesDir, { recursive: true });
  const recipeFile = join(recipesDir, 'recipe.yaml');
  writeFileSync(recipeFile, renderPublishRecipe(source, { uri: artifactUri, sha256Base64 }));
  log(`recipe    ${show(recipeFile)} (URI ${artifactUri})`);

  return {
    componentName: source.componentName,
    componentVersion: source.componentVersion,
    artifactFile,
    artifactUri,
    sizeBytes,
    sha256Hex,
    sha256Base64,
    recipeFile,
    bundleBytes: bundled.code.length,
    runtimePackages,
    missingOptionalPackages,
    entries,
  };
}
