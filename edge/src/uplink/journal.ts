import type { FileHandle } from 'node:fs/promises';
import { open, readFile } from 'node:fs/promises';
import { type Reading, reading as readingSchema } from '../../../lib/protocol/messages.ts';
import { encodeFrame, FRAME_HEADER_BYTES, scanFrames } from './frame.ts';

/**
 * The readings of the batch still being filled, on disk, so that a crash before the batch reaches the
 * queue loses none of them. Each entry is a frame (`frame.ts`) holding `{"b": batchId, "r": reading}`:
 * the id the queue will give the batch. After a restart, entries whose batch id the queue has already
 * used belong to a batch that made it into the queue before the crash, and are dropped; the others
 * fill the batch again. The journal is emptied after every batch.
 */
export class ReadingJournal {
  private handle: FileHandle | undefined;
  private size = 0;
  private entries = 0;

  private constructor(private readonly fsync: boolean) {}

  /**
   * Opens the journal at `path`, cutting off a torn tail, and returns the readings still owed to batch
   * `nextBatchId` with how many bytes of damage were cut off.
   */
  static async open(
    path: string,
    nextBatchId: number,
    fsync: boolean,
  ): Promise<{ journal: ReadingJournal; readings: Reading[]; tornBytes: number; staleReadings: number }> {
    const journal = new ReadingJournal(fsync);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      bytes = new Uint8Array(0);
    }
    const scan = scanFrames(bytes);
    const readings: Reading[] = [];
    let staleReadings = 0;
    for (const frame of scan.frames) {
      const start = frame.offset + FRAME_HEADER_BYTES;
      const entry = parseEntry(Buffer.from(bytes.subarray(start, start + frame.length)).toString());
      if (entry?.batchId === nextBatchId) readings.push(entry.reading);
      else staleReadings++;
    }
    journal.handle = await open(path, 'a+');
    // Rewritten whenever it holds anything but the readings owed: a torn tail, or a batch already queued.
    if (scan.problem !== undefined || staleReadings > 0) {
      await journal.reset();
      for (const reading of readings) await journal.append(nextBatchId, reading);
    } else {
      journal.size = scan.validBytes;
      journal.entries = scan.frames.length;
    }
    return { journal, readings, tornBytes: bytes.length - scan.validBytes, staleReadings };
  }

  /** Records one reading of batch `batchId`; durable when it resolves under fsync. */
  async append(batchId: number, reading: Reading): Promise<void> {
    const handle = this.handle as FileHandle;
    const frame = encodeFrame(this.entries + 1, Buffer.from(JSON.stringify({ b: batchId, r: reading })));
    await handle.write(frame, 0, frame.length, this.size);
    if (this.fsync) await handle.datasync();
    this.size += frame.length;
    this.entries++;
  }

  /** Empties the journal: its batch is in the queue (or was refused by it). */
  async reset(): Promise<void> {
    const handle = this.handle as FileHandle;
    await handle.truncate(0);
    if (this.fsync) await handle.datasync();
    this.size = 0;
    this.entries = 0;
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

/** An entry's batch id and reading, or undefined for one this code did not write. */
function parseEntry(text: string): { batchId: unknown; reading: Reading } | undefined {
  try {
    const entry = JSON.parse(text) as { b?: unknown; r?: unknown };
    const parsed = readingSchema.safeParse(entry.r);
    return parsed.success ? { batchId: entry.b, reading: parsed.data } : undefined;
  } catch {
    return undefined;
  }
}
