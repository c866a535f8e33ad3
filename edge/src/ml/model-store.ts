import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { version as semanticVersion } from '../../../lib/protocol/messages.ts';
import { modelRef } from '../../../lib/protocol/model.ts';
import { readFileIfExists, syncDirectory, writeFileAtomic } from '../ota/atomic-file.ts';
import type { DeliveredModel, ModelInstaller, ModelStagingFile, SlotWriter } from '../ota/ports.ts';
import { AnomalyDetector, type AnomalyDetectorOptions, type ModelSource } from './anomaly-detector.ts';
import { ModelRejectedError } from './errors.ts';

/** `current.json`: the installed model the agent loads at start. */
const currentPointer = modelRef.extend({ file: z.string().regex(/^[\w.+-]+\.onnx$/) });

/** A model version that cannot be a file name here (it must be a semantic version). */
export class InvalidModelVersionError extends Error {
  override readonly name = 'InvalidModelVersionError';
  constructor(readonly version: string) {
    super(`model version '${version}' is not a semantic version such as 1.4.2`);
  }
}

/** The installed model at start: which one, and why the factory model was chosen instead. */
export interface StartupModel {
  readonly source: ModelSource;
  readonly origin: 'installed' | 'factory';
  /** Why the installed model was not used (absent when there is none, or it was used). */
  readonly problem?: string;
}

/**
 * Anomaly models delivered over the air, in one directory: `<version>.onnx` for each installed
 * version, `current.json` naming the one to load at start (replaced atomically, so a power cut leaves
 * the old or the new pointer), and `incoming/<version>.onnx.part` for downloads in progress. A staging
 * file is never loaded: only {@link ModelStore.promote} makes it `<version>.onnx`, after the agent
 * verified it, and only {@link ModelStore.setCurrent} (after the detector accepted it) points at it.
 */
export class ModelStore {
  readonly currentPath: string;
  private readonly incoming: string;

  constructor(readonly dir: string) {
    this.currentPath = join(dir, 'current.json');
    this.incoming = join(dir, 'incoming');
  }

  /** Where `version` is installed. */
  pathOf(version: string): string {
    return join(this.dir, `${checkVersion(version)}.onnx`);
  }

  /** The staging file `version` downloads to; what an earlier attempt left there is kept (resume). */
  async staging(version: string): Promise<ModelStagingFile> {
    await mkdir(this.incoming, { recursive: true });
    const path = join(this.incoming, `${checkVersion(version)}.onnx.part`);
    return {
      path,
      size: () => fileSize(path),
      discard: () => rm(path, { force: true }),
      openForWrite: (offset) => openAppending(path, offset),
      read: () => createReadStream(path),
    };
  }

  /** Moves a verified staging file to `<version>.onnx` (atomic rename in the same file system). */
  async promote(stagingPath: string, version: string): Promise<string> {
    const path = this.pathOf(version);
    await rename(stagingPath, path);
    await syncDirectory(this.dir);
    return path;
  }

  /** Removes an installed version's file (one the detector refused, or one no longer current). */
  async remove(version: string): Promise<void> {
    await rm(this.pathOf(version), { force: true });
  }

  /** Points `current.json` at `model`, atomically. */
  async setCurrent(model: { version: string; sha256: string; sizeBytes?: number }): Promise<void> {
    const pointer = currentPointer.parse({ ...model, file: `${checkVersion(model.version)}.onnx` });
    await writeFileAtomic(this.currentPath, `${JSON.stringify(pointer, null, 2)}\n`);
  }

  /**
   * The model `current.json` names, if its file is there and still has the recorded size and
   * SHA-256; otherwise `problem` says what is wrong.
   */
  async current(): Promise<{ source: ModelSource } | { problem: string } | undefined> {
    const text = await readFileIfExists(this.currentPath);
    if (text === undefined) return undefined;
    let pointer: z.output<typeof currentPointer>;
    try {
      pointer = currentPointer.parse(JSON.parse(text));
    } catch (error) {
      return { problem: `${this.currentPath} does not parse: ${(error as Error).message}` };
    }
    const path = join(this.dir, pointer.file);
    let digest: { sha256: string; size: number };
    try {
      digest = await sha256OfFile(path);
    } catch (error) {
      return { problem: `cannot read ${path}: ${(error as Error).message}` };
    }
    if (digest.sha256 !== pointer.sha256)
      return { problem: `${path} has SHA-256 ${digest.sha256}, current.json records ${pointer.sha256}` };
    if (pointer.sizeBytes !== undefined && digest.size !== pointer.sizeBytes)
      return { problem: `${path} has ${digest.size} bytes, current.json records ${pointer.sizeBytes}` };
    return {
      source: {
        path,
        version: pointer.version,
        sha256: pointer.sha256,
        ...(pointer.sizeBytes === undefined ? {} : { sizeBytes: pointer.sizeBytes }),
      },
    };
  }

  /** Removes every installed version but `keep`, and staging files of other versions. */
  async prune(keep: string): Promise<void> {
    const keepFile = `${keep}.onnx`;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (name.endsWith('.onnx') && name !== keepFile) await rm(join(this.dir, name), { force: true });
    }
  }
}

/**
 * The model the agent loads at start: the installed current one if its file still verifies against
 * the SHA-256 recorded when it was installed, else the factory model shipped with the agent (read
 * with `factory`, e.g. `() => readModelSource(defaultModelDir())`).
 */
export async function resolveStartupModel(
  store: ModelStore,
  factory: () => Promise<ModelSource>,
): Promise<StartupModel> {
  const installed = await store.current();
  if (installed !== undefined && 'source' in installed)
    return { source: installed.source, origin: 'installed' };
  return {
    source: await factory(),
    origin: 'factory',
    ...(installed === undefined ? {} : { problem: installed.problem }),
  };
}

/**
 * A detector for the agent's start: {@link resolveStartupModel}'s choice, and the factory model if the
 * detector refuses the installed one (an agent update that changed the features it extracts, say).
 *
 * @throws ModelRejectedError only when the factory model itself is refused
 */
export async function loadStartupDetector(
  store: ModelStore,
  factory: () => Promise<ModelSource>,
  options: AnomalyDetectorOptions = {},
): Promise<{ detector: AnomalyDetector } & StartupModel> {
  const startup = await resolveStartupModel(store, factory);
  if (startup.origin === 'factory')
    return { ...startup, detector: await AnomalyDetector.load(startup.source, options) };
  try {
    return { ...startup, detector: await AnomalyDetector.load(startup.source, options) };
  } catch (error) {
    if (!(error instanceof ModelRejectedError)) throw error;
    const source = await factory();
    return {
      source,
      origin: 'factory',
      problem: error.message,
      detector: await AnomalyDetector.load(source, options),
    };
  }
}

export interface DetectorModelInstallerOptions {
  readonly store: ModelStore;
  readonly detector: AnomalyDetector;
}

/**
 * The OTA agent's {@link ModelInstaller} for the anomaly detector: promotes the verified staging file
 * to `<version>.onnx`, asks the detector to swap to it (which checks it again: digest, ONNX metadata,
 * a session that loads, a probe run), and only then points `current.json` at it. A refused file is
 * deleted and the detector's {@link ModelRejectedError} goes back to the agent; the old model serves.
 */
export class DetectorModelInstaller implements ModelInstaller {
  constructor(private readonly options: DetectorModelInstallerOptions) {}

  servingVersion(): string | undefined {
    return this.options.detector.info.version;
  }

  staging(version: string): Promise<ModelStagingFile> {
    return this.options.store.staging(version);
  }

  async install(model: DeliveredModel, signal: AbortSignal): Promise<void> {
    const { store, detector } = this.options;
    signal.throwIfAborted();
    const path = await store.promote(model.path, model.version);
    try {
      await detector.swap({ path, version: model.version, sha256: model.sha256, sizeBytes: model.sizeBytes });
    } catch (error) {
      await store.remove(model.version);
      throw error;
    }
    await store.setCurrent({ version: model.version, sha256: model.sha256, sizeBytes: model.sizeBytes });
    await store.prune(model.version);
  }
}

function checkVersion(version: string): string {
  if (!semanticVersion.safeParse(version).success) throw new InvalidModelVersionError(version);
  return version;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** Truncates `path` to `offset` bytes (creating it) and appends; `close` fsyncs, so resume finds what was written. */
async function openAppending(path: string, offset: number): Promise<SlotWriter> {
  const handle = await open(path, 'a+', 0o600);
  try {
    await handle.truncate(offset);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return {
    write: async (bytes) => {
      await handle.write(bytes);
    },
    close: async () => {
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
  };
}

async function sha256OfFile(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}
