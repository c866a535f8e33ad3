import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from '../ota/atomic-file.ts';
import type { QueueLog } from './queue-options.ts';

/**
 * The queue's cursor: `cursor.json` in its directory, `{"acked": id}`, the last acknowledged id.
 * Records at or below it are never handed out again, and it keeps the highest acknowledged id even
 * when every segment has been deleted, so ids never repeat for a directory.
 */
const CURSOR_FILE = 'cursor.json';

/** The last acknowledged id, 0 when there is no cursor or it cannot be read (logged). */
export async function readCursor(directory: string, log: QueueLog | undefined): Promise<number> {
  const text = await readFileIfExists(join(directory, CURSOR_FILE));
  if (text === undefined) return 0;
  try {
    const acked = (JSON.parse(text) as { acked?: unknown }).acked;
    if (typeof acked === 'number' && Number.isSafeInteger(acked) && acked >= 0) return acked;
  } catch {
    // fall through: a cursor that does not parse is treated as none
  }
  // Resending everything is the safe direction: a duplicate is recognisable by its id, a gap is not.
  log?.('uplink-queue-cursor-unreadable', { text: text.slice(0, 100) });
  return 0;
}

/** Replaces the cursor atomically (write, fsync, rename, fsync the directory under `always`). */
export async function writeCursor(
  directory: string,
  acked: number,
  fsync: 'always' | 'never',
): Promise<void> {
  await writeFileAtomic(join(directory, CURSOR_FILE), JSON.stringify({ acked }), fsync);
}
