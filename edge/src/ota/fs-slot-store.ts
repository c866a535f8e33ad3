import { constants, createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { type FsyncPolicy, readFileIfExists, syncDirectory, writeFileAtomic } from './atomic-file.ts';
import {
  assertWritable,
  bootTransition,
  commitTransition,
  initialBootState,
  markPendingTransition,
  rollbackTransition,
} from './boot-state.ts';
import type { BootState, SlotName, SlotStore, SlotWriter } from './ports.ts';

const slotName = z.enum(['a', 'b']);
const bootStateFile = z.object({
  booted: slotName,
  committed: slotName,
  pending: z.object({ slot: slotName, triesLeft: z.number().int().min(0) }).optional(),
  versions: z.object({ a: z.string().optional(), b: z.string().optional() }),
});

export interface FileSlotStoreOptions {
  /** Version recorded for slot a when the directory is new. */
  readonly initialVersion?: string;
  /** `never` for a simulated device: boot state and slot data are not fsynced. @default 'always' */
  readonly fsync?: FsyncPolicy;
}

/**
 * A/B slots as two files (`slot-a.img`, `slot-b.img`) and the bootloader's state as `boot.json`,
 * replaced atomically (temp + fsync + rename + directory fsync). Slot data is fsynced when a writer
 * closes; a power cut before that may lose the tail of a download, which then resumes from what
 * survived — the SHA-256 check catches anything torn.
 */
export class FileSlotStore implements SlotStore {
  private state: BootState;

  private constructor(
    readonly directory: string,
    state: BootState,
    private readonly fsync: FsyncPolicy,
  ) {
    this.state = state;
  }

  /** Opens (creating if new) the slots in `directory`. */
  static async open(directory: string, options: FileSlotStoreOptions = {}): Promise<FileSlotStore> {
    await mkdir(directory, { recursive: true });
    const path = join(directory, 'boot.json');
    const text = await readFileIfExists(path);
    const fsync = options.fsync ?? 'always';
    if (text === undefined) {
      const store = new FileSlotStore(directory, initialBootState(options.initialVersion), fsync);
      await store.persist(store.state);
      return store;
    }
    // A boot.json that does not parse is not repaired by guessing: a bootloader would refuse it too.
    const parsed = bootStateFile.parse(JSON.parse(text));
    const { pending, ...rest } = parsed;
    return new FileSlotStore(directory, pending === undefined ? rest : { ...rest, pending }, fsync);
  }

  private slotPath(slot: SlotName): string {
    return join(this.directory, `slot-${slot}.img`);
  }

  private async persist(next: BootState): Promise<void> {
    await writeFileAtomic(join(this.directory, 'boot.json'), serialize(next), this.fsync);
    this.state = next;
  }

  async bootState(): Promise<BootState> {
    return this.state;
  }

  async boot(): Promise<BootState> {
    const next = bootTransition(this.state);
    // An ordinary power-on (nothing pending) changes nothing: rewriting boot.json then would only wear
    // the flash, and cost every simulated device a file replacement per start.
    if (serialize(next) !== serialize(this.state)) await this.persist(next);
    return this.state;
  }

  async size(slot: SlotName): Promise<number> {
    try {
      return (await stat(this.slotPath(slot))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
  }

  async openForWrite(slot: SlotName, offset: number): Promise<SlotWriter> {
    assertWritable(this.state, slot);
    const file = await open(this.slotPath(slot), constants.O_RDWR | constants.O_CREAT, 0o600);
    const size = (await file.stat()).size;
    let position = Math.min(offset, size);
    await file.truncate(position);
    return {
      write: async (bytes) => {
        assertWritable(this.state, slot);
        let written = 0;
        while (written < bytes.length) {
          const { bytesWritten } = await file.write(bytes, written, bytes.length - written, position);
          written += bytesWritten;
          position += bytesWritten;
        }
      },
      close: async () => {
        try {
          if (this.fsync === 'always') await file.sync();
        } finally {
          await file.close();
        }
      },
    };
  }

  async *read(slot: SlotName): AsyncIterable<Uint8Array> {
    if ((await this.size(slot)) === 0) return;
    yield* createReadStream(this.slotPath(slot), { highWaterMark: 64 * 1024 });
  }

  async discard(slot: SlotName): Promise<void> {
    assertWritable(this.state, slot);
    await rm(this.slotPath(slot), { force: true });
    if (this.fsync === 'always') await syncDirectory(this.directory);
  }

  async markPending(slot: SlotName, version: string): Promise<void> {
    await this.persist(markPendingTransition(this.state, slot, version));
  }

  async commit(): Promise<void> {
    await this.persist(commitTransition(this.state));
  }

  async rollback(): Promise<void> {
    await this.persist(rollbackTransition(this.state));
  }
}

/** boot.json's text for a state (also how two states are compared: the same text, the same state). */
function serialize(state: BootState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}
