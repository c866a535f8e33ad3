import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FirmwareView } from '../protocol/firmware.ts';
import { MAX_DELTA_IMAGE_BYTES, MAX_DELTAS_PER_VERSION } from '../protocol/firmware-deltas.ts';
import { compareVersions } from '../protocol/semver.ts';
import type { ApiClient } from './api.ts';
import { formatBytes, type Output } from './progress.ts';

/** Deltas `firmware upload` makes unless `--max-deltas` says otherwise. */
export const DEFAULT_MAX_DELTAS = 3;

/** What deltas are made to: the image just uploaded. */
export interface DeltaTarget {
  readonly version: string;
  readonly deviceTypes: readonly string[];
  readonly minVersion?: string;
  readonly size: number;
  /** The deltas it has already (`firmware deltas` run again): those bases are skipped. */
  readonly deltas?: readonly { readonly fromVersion: string }[];
}

/**
 * The versions a rollout of `target` may start from, which get a delta: available images that share a
 * device type with it, are older than it and at or above its `minVersion` (a device below cannot take
 * it at all), and are small enough to patch in memory; the newest first, at most `max` — devices
 * usually run one of the last few releases, and each delta costs an upload and a verification.
 */
export function chooseDeltaBases(
  catalog: readonly FirmwareView[],
  target: DeltaTarget,
  max = DEFAULT_MAX_DELTAS,
): readonly FirmwareView[] {
  const older = (a: string, b: string) => (compareVersions(a, b) ?? 0) < 0;
  if (target.size > MAX_DELTA_IMAGE_BYTES) return [];
  return catalog
    .filter((base) => base.status === 'available')
    .filter((base) => base.deviceTypes.some((type) => target.deviceTypes.includes(type)))
    .filter((base) => older(base.version, target.version))
    .filter((base) => target.minVersion === undefined || !older(base.version, target.minVersion))
    .filter((base) => base.size <= MAX_DELTA_IMAGE_BYTES)
    .sort((a, b) => compareVersions(b.version, a.version) ?? 0)
    .slice(0, Math.min(max, MAX_DELTAS_PER_VERSION));
}

/** How deltas are made: xdelta3's command, and where earlier images may be found on disk. */
export interface DeltaOptions {
  /** The new image's file. */
  readonly file: string;
  /** A directory holding earlier images named by version (`1.0.0`); others are downloaded. */
  readonly baseDir?: string;
  /** @default {@link DEFAULT_MAX_DELTAS} */
  readonly maxDeltas?: number;
  /** @default 'xdelta3' */
  readonly xdelta3?: string;
}

const run = promisify(execFile);
const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Every image of the catalog (all pages). */
async function catalogOf(api: ApiClient): Promise<FirmwareView[]> {
  const all: FirmwareView[] = [];
  let token: string | undefined;
  do {
    const query = `firmware?status=available&limit=100${token === undefined ? '' : `&nextToken=${encodeURIComponent(token)}`}`;
    const page = await api.call('GET', query);
    all.push(...(page.firmware as FirmwareView[]));
    token = page.nextToken;
  } while (token !== undefined);
  return all;
}

/** The base image's bytes: from `baseDir` if it holds the signed image, else downloaded through the API. */
async function baseImage(api: ApiClient, base: FirmwareView, baseDir: string | undefined): Promise<Buffer> {
  if (baseDir !== undefined) {
    const local = await readFile(join(baseDir, base.version)).catch(() => undefined);
    if (local !== undefined && sha256Of(local) === base.sha256) return local;
  }
  const { url } = await api.call('GET', `firmware/${encodeURIComponent(base.version)}/download`);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`downloading ${base.version} answered HTTP ${response.status}`);
  const bytes = Buffer.from(await response.arrayBuffer());
  if (sha256Of(bytes) !== base.sha256) throw new Error(`the image of ${base.version} is not the signed one`);
  return bytes;
}

/**
 * Makes, uploads and has the registry verify a VCDIFF delta (RFC 3284) from each base
 * {@link chooseDeltaBases} picks to the image just uploaded, with xdelta3 (`-e -9`, no secondary
 * compression, no application header, no checksum: what the device's pure-JS decoder reads). Without
 * xdelta3 it says so in one line and makes none; a delta that fails is reported and skipped — devices
 * then download the full image, which is uploaded already.
 *
 * @returns the base versions whose delta the registry verified
 */
export async function uploadDeltas(
  api: ApiClient,
  target: DeltaTarget,
  options: DeltaOptions,
  out: Output,
): Promise<readonly string[]> {
  const xdelta3 = options.xdelta3 ?? 'xdelta3';
  const made = new Set((target.deltas ?? []).map((delta) => delta.fromVersion));
  const bases = chooseDeltaBases(await catalogOf(api), target, options.maxDeltas).filter(
    (base) => !made.has(base.version),
  );
  if (bases.length === 0) return [];
  if (spawnSync(xdelta3, ['-V'], { stdio: 'ignore' }).error !== undefined) {
    out.write(`${xdelta3} not found: uploading the full image only, no deltas (apt-get install xdelta3)\n`);
    return [];
  }
  const work = await mkdtemp(join(tmpdir(), 'fleetkit-delta-'));
  const verified: string[] = [];
  try {
    for (const base of bases) {
      try {
        const baseFile = join(work, `${base.version}.base`);
        const deltaFile = join(work, `${base.version}.vcdiff`);
        await writeFile(baseFile, await baseImage(api, base, options.baseDir));
        await run(xdelta3, [
          '-e',
          '-9',
          '-f',
          '-S',
          'none',
          '-A',
          '-n',
          '-s',
          baseFile,
          options.file,
          deltaFile,
        ]);
        const delta = await readFile(deltaFile);
        if (delta.length >= target.size) {
          out.write(`delta from ${base.version}: ${formatBytes(delta.length)} saves nothing, skipped\n`);
          continue;
        }
        const path = `firmware/${encodeURIComponent(target.version)}/deltas`;
        const { upload } = await api.call('POST', path, { fromVersion: base.version, size: delta.length });
        const put = await fetch(upload.url, { method: 'PUT', body: delta });
        if (!put.ok) throw new Error(`the object store refused the delta (HTTP ${put.status})`);
        await api.call('POST', `${path}/${encodeURIComponent(base.version)}/complete`);
        verified.push(base.version);
        out.write(
          `delta from ${base.version}: ${formatBytes(delta.length)} (${((100 * delta.length) / target.size).toFixed(1)} % of the image), verified\n`,
        );
      } catch (error) {
        out.write(
          `delta from ${base.version} not made: ${error instanceof Error ? error.message : String(error)}\n`,
        );
      }
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return verified;
}
