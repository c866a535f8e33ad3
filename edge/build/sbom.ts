import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Metafile } from 'esbuild';
import type { RuntimePackage } from './runtime-packages.ts';

/**
 * The edge artifact's software bill of materials (issue 12): CycloneDX 1.5 JSON
 * (https://cyclonedx.org/docs/1.5/json/), written by `npm run build:edge` into the zip and beside it.
 *
 * Every component is what the artifact really carries, with its exact version and a SHA-256:
 * - npm packages esbuild inlined into `agent.mjs` (found in the bundle's metafile, so an import that
 *   tree-shaking kept is listed and a dependency nothing imports is not), hashed over the very source
 *   files the bundle read;
 * - packages copied as they are (native addons), hashed over the files copied;
 * - the bundle itself and the anomaly model (`machine-learning-model`), hashed as files.
 * A package's hash is SHA-256 over its files sorted by path, each as `path NUL bytes NUL` — the property
 * `fleetkit:hash-scope` says so, since CycloneDX leaves the scope of a component hash to the producer.
 *
 * The document is deterministic (no timestamp; the serial number is derived from its content), so the
 * same sources give the same SBOM and the same artifact digest.
 */

/** File name of the SBOM, inside the artifact and next to it. */
export const SBOM_FILE_NAME = 'fleetkit-edge.cdx.json';

interface PackageFiles {
  readonly name: string;
  readonly version: string;
  /** `path → bytes`, paths relative to the package, `/`-separated. */
  readonly files: Map<string, Buffer>;
}

/** SHA-256 over files sorted by path, each as `path NUL bytes NUL`. */
export function filesDigest(files: ReadonlyMap<string, Uint8Array>): string {
  const hash = createHash('sha256');
  for (const path of [...files.keys()].sort()) {
    hash
      .update(path)
      .update('\0')
      .update(files.get(path) as Uint8Array)
      .update('\0');
  }
  return hash.digest('hex');
}

/** `node_modules/@scope/name/dist/x.js` → the package's directory and name, from the last node_modules. */
function packageOf(input: string): { dir: string; name: string; rest: string } | undefined {
  const parts = input.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  const scoped = parts[at + 1]?.startsWith('@') ?? false;
  const nameParts = parts.slice(at + 1, at + (scoped ? 3 : 2));
  if (nameParts.length === 0) return undefined;
  return {
    dir: parts.slice(0, at + 1 + nameParts.length).join('/'),
    name: nameParts.join('/'),
    rest: parts.slice(at + 1 + nameParts.length).join('/'),
  };
}

/** The npm packages esbuild read into the bundle, with the files it read of each. */
export function bundledPackages(metafile: Metafile, workingDir: string): PackageFiles[] {
  const byDir = new Map<string, PackageFiles>();
  for (const input of Object.keys(metafile.inputs)) {
    const found = packageOf(input);
    if (found === undefined) continue;
    const dir = isAbsolute(found.dir) ? found.dir : join(workingDir, found.dir);
    let entry = byDir.get(dir);
    if (entry === undefined) {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string };
      entry = { name: found.name, version: manifest.version ?? 'unknown', files: new Map() };
      byDir.set(dir, entry);
    }
    const path = isAbsolute(input) ? input : join(workingDir, input);
    entry.files.set(found.rest, readFileSync(path));
  }
  return [...byDir.values()].sort(
    (a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
  );
}

/** What the SBOM describes. */
export interface SbomInput {
  readonly componentName: string;
  readonly componentVersion: string;
  readonly bundle: { readonly name: string; readonly bytes: Uint8Array };
  readonly bundled: readonly PackageFiles[];
  readonly copied: readonly RuntimePackage[];
  readonly model: {
    readonly name: string;
    readonly version: string;
    readonly file: string;
    readonly sha256: string;
  };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const purl = (name: string, version: string) =>
  `pkg:npm/${name.startsWith('@') ? `%40${name.slice(1)}` : name}@${version}`;

/** The CycloneDX document, deterministic for the same input. */
export function buildSbom(input: SbomInput): Record<string, unknown> {
  const npm = (pkg: PackageFiles, inclusion: 'bundled' | 'copied') => ({
    type: 'library',
    'bom-ref': `${purl(pkg.name, pkg.version)}#${inclusion}`,
    name: pkg.name,
    version: pkg.version,
    purl: purl(pkg.name, pkg.version),
    hashes: [{ alg: 'SHA-256', content: filesDigest(pkg.files) }],
    properties: [
      { name: 'fleetkit:inclusion', value: inclusion },
      {
        name: 'fleetkit:hash-scope',
        value: `${pkg.files.size} files, sorted by path, each as path NUL bytes NUL`,
      },
    ],
  });
  const copied = input.copied.map((pkg) => {
    const files = new Map(pkg.files.map((file) => [file, readFileSync(join(pkg.dir, file))]));
    return npm({ name: pkg.name, version: pkg.version, files }, 'copied');
  });
  const components = [
    {
      type: 'file',
      'bom-ref': input.bundle.name,
      name: input.bundle.name,
      hashes: [{ alg: 'SHA-256', content: sha256(input.bundle.bytes) }],
    },
    {
      type: 'machine-learning-model',
      'bom-ref': input.model.file,
      name: input.model.name,
      version: input.model.version,
      hashes: [{ alg: 'SHA-256', content: input.model.sha256 }],
      properties: [{ name: 'fleetkit:path', value: input.model.file }],
    },
    ...input.bundled.map((pkg) => npm(pkg, 'bundled')),
    ...copied,
  ];
  const body = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: {
      tools: { components: [{ type: 'application', name: 'fleetkit build:edge' }] },
      component: {
        type: 'application',
        'bom-ref': input.componentName,
        name: input.componentName,
        version: input.componentVersion,
      },
    },
    components,
  };
  // A serial number of RFC 4122 shape derived from the content: the same build, the same document.
  const hex = sha256(Buffer.from(JSON.stringify(body)));
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  const { bomFormat, specVersion, ...rest } = body;
  return { bomFormat, specVersion, serialNumber: `urn:uuid:${uuid}`, ...rest };
}
