import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as z from 'zod';
import { configErrorReport, deviceConfig } from '../../../lib/protocol/device-config.ts';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
import { type FsyncPolicy, readFileIfExists, writeFileAtomic } from '../ota/atomic-file.ts';
import type { JsonValue } from './json.ts';
import type { ShadowCopyStore, ShadowLocalCopy } from './ports.ts';

const localCopy = z.object({
  config: deviceConfig,
  desiredVersion: z.number().int().min(0),
  refused: z.object({ candidate: z.unknown(), report: configErrorReport }).optional(),
});

/**
 * {@link ShadowCopyStore} in one JSON file, replaced atomically (temporary file, fsync, rename), so a
 * power cut leaves either the old or the new copy. `fsync: 'never'` (a simulated device) keeps the
 * atomic replacement and leaves out the fsyncs.
 */
export class FileShadowCopyStore implements ShadowCopyStore {
  constructor(
    private readonly path: string,
    private readonly fsync: FsyncPolicy = 'always',
  ) {}

  async load(): Promise<ShadowLocalCopy | undefined> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return undefined;
    const copy = parseWith(localCopy, decodeJson(text, 'shadow local copy'), 'shadow local copy');
    const { refused, ...rest } = copy;
    return refused === undefined
      ? rest
      : { ...rest, refused: { candidate: refused.candidate as JsonValue, report: refused.report } };
  }

  async save(copy: ShadowLocalCopy): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await writeFileAtomic(this.path, `${JSON.stringify(copy)}\n`, this.fsync);
  }
}

/** {@link ShadowCopyStore} in memory (tests, or a device without storage). */
export class MemoryShadowCopyStore implements ShadowCopyStore {
  constructor(public copy: ShadowLocalCopy | undefined = undefined) {}

  async load(): Promise<ShadowLocalCopy | undefined> {
    return this.copy;
  }

  async save(copy: ShadowLocalCopy): Promise<void> {
    this.copy = structuredClone(copy);
  }
}
