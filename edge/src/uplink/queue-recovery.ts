import { open, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from '../ota/atomic-file.ts';
import { scanFrames } from './frame.ts';
import type { QueueLog } from './queue-options.ts';

/** Where one record's frame sits in its segment, and its payload length. */
export interface RecordRef {
  readonly id: number;
  readonly offset: number;
  readonly length: number;
}

/** One segment file and the records in it, oldest first. */
export interface Segment {
  readonly path: string;
  bytes: number;
  readonly records: RecordRef[];
}

const SEGMENT_NAME = /^(\d{16})\.seg$/;

/** A segment's file name: the id of its first record, 16 digits, so names sort in id order. */
export const segmentName = (firstId: number) => `${String(firstId).padStart(16, '0')}.seg`;

/** What opening a queue directory found. */
export interface RecoveredQueue {
  /** Segments with something left to send, oldest first. */
  readonly segments: Segment[];
  /** Index in `segments[0].records` of the oldest record not yet acknowledged. */
  readonly head: number;
  /** Highest id found in any segment (0 when none). */
  readonly lastId: number;
  readonly queuedRecords: number;
  readonly queuedBytes: number;
  readonly tornTails: number;
  readonly tornBytes: number;
}

/**
 * Rebuilds the index from the segments: each is scanned, cut at its first bad frame (counted), and
 * deleted when nothing in it is left to send. Leftover temporary files of atomic writes are removed.
 */
export async function recoverSegments(
  directory: string,
  acked: number,
  fsync: boolean,
  log: QueueLog,
): Promise<RecoveredQueue> {
  const segments: Segment[] = [];
  let head = 0;
  let queuedRecords = 0;
  let queuedBytes = 0;
  let tornTails = 0;
  let tornBytes = 0;
  const names = await readdir(directory);
  for (const name of names) if (name.endsWith('.tmp')) await rm(join(directory, name), { force: true });
  let lastId = 0;
  for (const name of names.filter((n) => SEGMENT_NAME.test(n)).sort()) {
    const path = join(directory, name);
    const bytes = new Uint8Array(await readFile(path));
    const scan = scanFrames(bytes, lastId);
    if (scan.problem !== undefined) {
      tornTails++;
      tornBytes += bytes.length - scan.validBytes;
      log('uplink-queue-torn-tail', {
        segment: name,
        problem: scan.problem,
        keptBytes: scan.validBytes,
        cutBytes: bytes.length - scan.validBytes,
      });
      await truncate(path, scan.validBytes);
      if (fsync) {
        const handle = await open(path, 'r+');
        await handle.datasync().finally(() => handle.close());
      }
    }
    lastId = scan.frames.at(-1)?.id ?? lastId;
    const records = scan.frames.filter((f) => f.id > acked);
    if (records.length === 0) {
      await rm(path, { force: true });
      continue;
    }
    segments.push({ path, bytes: scan.validBytes, records: scan.frames });
    if (segments.length === 1) head = scan.frames.length - records.length;
    queuedRecords += records.length;
    queuedBytes += records.reduce((n, r) => n + r.length, 0);
  }
  if (fsync) await syncDirectory(directory);
  return { segments, head, lastId, queuedRecords, queuedBytes, tornTails, tornBytes };
}
