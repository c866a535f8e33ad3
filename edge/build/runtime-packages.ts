import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { NativeBinaryMissingError, RuntimePackageMissingError } from './errors.ts';

/**
 * The packages the bundled agent loads from `node_modules` at run time, and which of their files go
 * into the artifact.
 *
 * esbuild cannot inline a native addon: `onnxruntime-node` loads
 * `bin/napi-v6/${process.platform}/${process.arch}/onnxruntime_binding.node` relative to its own `dist/`,
 * and `@serialport/bindings-cpp` finds its prebuild through `node-gyp-build` relative to its own
 * directory. So they stay external, and the artifact carries them — with their runtime dependencies,
 * at the same relative paths npm gave them, so Node resolves them as it does here — minus the
 * binaries of platforms a Greengrass core of this component never is.
 */

/** A platform the component runs on (`process.platform` / `process.arch` spelling). */
export interface Target {
  readonly os: 'linux';
  readonly arch: 'x64' | 'arm64';
}

/** linux x64 (Greengrass `amd64`) and linux arm64 (`aarch64`), the recipe's two manifests. */
export const TARGETS: readonly Target[] = [
  { os: 'linux', arch: 'x64' },
  { os: 'linux', arch: 'arm64' },
];

/** What differs, per package, from "copy the package's files and its dependencies". */
interface PackageRule {
  /** Dependencies only the package's install script uses; left out with their own dependencies. */
  readonly installOnly?: readonly string[];
  /** Leaves out a file (path relative to the package, `/`-separated) the agent never loads. */
  readonly skip?: (path: string) => boolean;
  /** Whether the kept files include the native binary for a target. */
  readonly hasBinary?: (paths: readonly string[], target: Target) => boolean;
  /** Where the binary was looked for, for the error message. */
  readonly binaryPattern?: (target: Target) => string;
}

const isTarget = (os: string, arch: string) => TARGETS.some((t) => t.os === os && t.arch === arch);

const RULES: Readonly<Record<string, PackageRule>> = {
  'onnxruntime-node': {
    // script/install fetches optional GPU binaries with adm-zip through global-agent; dist/ never loads them.
    installOnly: ['adm-zip', 'global-agent'],
    skip: (path) => {
      if (path.startsWith('script/') || path.startsWith('lib/')) return true;
      const bin = /^bin\/napi-v\d+\/([^/]+)\/([^/]+)\//.exec(path);
      return bin !== null && !isTarget(bin[1] ?? '', bin[2] ?? '');
    },
    hasBinary: (paths, target) =>
      paths.some((p) =>
        new RegExp(`^bin/napi-v\\d+/${target.os}/${target.arch}/onnxruntime_binding\\.node$`).test(p),
      ) &&
      paths.some((p) =>
        new RegExp(`^bin/napi-v\\d+/${target.os}/${target.arch}/libonnxruntime\\.so`).test(p),
      ),
    binaryPattern: (t) => `bin/napi-v*/${t.os}/${t.arch}/{onnxruntime_binding.node,libonnxruntime.so*}`,
  },
  '@serialport/bindings-cpp': {
    // node-addon-api is C++ headers for node-gyp; the prebuilds make building unnecessary.
    installOnly: ['node-addon-api'],
    skip: (path) => {
      if (path.startsWith('src/') || path === 'binding.gyp') return true;
      // prebuilds/<os>-<arch>[+<arch>]/…: node-gyp-build picks the glibc or musl file at run time.
      const prebuild = /^prebuilds\/([^-/]+)-([^/]+)\//.exec(path);
      return prebuild !== null && !isTarget(prebuild[1] ?? '', prebuild[2] ?? '');
    },
    hasBinary: (paths, target) =>
      paths.some((p) => p.startsWith(`prebuilds/${target.os}-${target.arch}/`) && p.endsWith('.glibc.node')),
    binaryPattern: (t) => `prebuilds/${t.os}-${t.arch}/*.glibc.node`,
  },
  'aws-crt': {
    // The IPC client's native CRT (aws-iot-device-sdk-v2, Greengrass mode). dist/bin holds one addon per
    // platform; the browser build, the C sources and the build scripts are never loaded on a device.
    skip: (path) => {
      if (/^(dist\.browser|source|scripts|crt)\//.test(path) || path === 'CMakeLists.txt') return true;
      const bin = /^dist\/bin\/([^-/]+)-([^-/]+)-([^/]+)\//.exec(path);
      return bin !== null && (bin[3] !== 'glibc' || !isTarget(bin[1] ?? '', bin[2] ?? ''));
    },
    hasBinary: (paths, target) =>
      paths.includes(`dist/bin/${target.os}-${target.arch}-glibc/aws-crt-nodejs.node`),
    binaryPattern: (t) => `dist/bin/${t.os}-${t.arch}-glibc/aws-crt-nodejs.node`,
  },
};

/** Files no package needs at run time: type declarations, TypeScript sources, source maps, docs. */
function isDevelopmentFile(path: string): boolean {
  return /\.(d\.[cm]?ts|[cm]?ts|map|md)$/i.test(path) && !/^licen[cs]e/i.test(path.split('/').pop() ?? '');
}

/** One installed package that goes into the artifact. */
export interface RuntimePackage {
  readonly name: string;
  readonly version: string;
  /** Absolute path of the installed package. */
  readonly dir: string;
  /** Where it goes in the artifact: its path relative to the project root (`node_modules/...`). */
  readonly artifactDir: string;
  /** Its kept files, relative to {@link dir}, `/`-separated, sorted. */
  readonly files: readonly string[];
  /** Sum of the kept files' sizes. */
  readonly sizeBytes: number;
}

/** Finds `name` as Node would from `fromDir`: the nearest `node_modules/<name>` up to `root`. */
function findPackageDir(name: string, fromDir: string, root: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dirname(dir) === dir) return undefined;
  }
}

function listFiles(dir: string, prefix = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    // Nested node_modules are dependencies: each is collected as its own package, if it is one.
    if (entry.isDirectory() && entry.name !== 'node_modules') files.push(...listFiles(dir, path));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

/**
 * Collects `names` and their runtime dependencies from the project's `node_modules`.
 *
 * @param root the project root (where `node_modules` is)
 * @param names the packages the bundle imports but does not contain
 * @throws RuntimePackageMissingError when a package or a required dependency is not installed
 * @throws NativeBinaryMissingError when a native package lacks a {@link TARGETS} binary
 */
export function collectRuntimePackages(root: string, names: readonly string[]): RuntimePackage[] {
  const found = new Map<string, RuntimePackage>();
  const queue: { name: string; fromDir: string; requiredBy: string; optional: boolean }[] = names.map(
    (name) => ({ name, fromDir: root, requiredBy: 'the bundled agent', optional: false }),
  );
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const dir = findPackageDir(next.name, next.fromDir, root);
    if (dir === undefined) {
      if (next.optional) continue;
      throw new RuntimePackageMissingError(next.name, next.requiredBy);
    }
    const artifactDir = relative(root, dir).split(sep).join('/');
    if (found.has(artifactDir)) continue;
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    const rule = RULES[manifest.name] ?? {};
    const files = listFiles(dir)
      .filter((path) => !isDevelopmentFile(path) && !(rule.skip?.(path) ?? false))
      .sort();
    for (const target of TARGETS) {
      if (rule.hasBinary !== undefined && !rule.hasBinary(files, target)) {
        throw new NativeBinaryMissingError(
          manifest.name,
          `${target.os}-${target.arch}`,
          rule.binaryPattern?.(target) ?? '?',
        );
      }
    }
    const sizeBytes = files.reduce((sum, path) => sum + statSync(join(dir, path)).size, 0);
    found.set(artifactDir, {
      name: manifest.name,
      version: manifest.version,
      dir,
      artifactDir,
      files,
      sizeBytes,
    });
    const skipped = new Set(rule.installOnly ?? []);
    const dependencies = [
      ...Object.keys(manifest.dependencies ?? {}).map((name) => ({ name, optional: false })),
      ...Object.keys(manifest.optionalDependencies ?? {}).map((name) => ({ name, optional: true })),
    ];
    for (const dependency of dependencies) {
      if (skipped.has(dependency.name)) continue;
      queue.push({ ...dependency, fromDir: dir, requiredBy: `${manifest.name}@${manifest.version}` });
    }
  }
  return [...found.values()].sort((a, b) => a.artifactDir.localeCompare(b.artifactDir));
}
