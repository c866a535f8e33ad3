import { type FileHandle, open } from 'node:fs/promises';
import { LogCorruptionError } from './errors.ts';
import {
  decodeFrames,
  FRAME_HEADER_BYTES,
  frameLength,
  SEGMENT_MAGIC,
  type StoredRecord,
} from './record-codec.ts';

/** Reading, creating and recovering one segment file (format: `record-codec.ts`). */

/** How much a read takes from a segment file at a time. */
const READ_CHUNK_BYTES = 256 * 1024;

/** A place in a segment file: the record with `offset` starts at byte `position`. */
export interface SegmentPosition {
  readonly offset: number;
  readonly position: number;
}

/**
 * Reads the records `from` ≤ offset < `upto` of a segment, walking from `start` (a known record
 * boundary at or before `from`) and never past byte `limit` (the durable size). Frames before `from`
 * are walked by their length only; returned ones are CRC-checked.
 *
 * @returns the records, and where the walk ended (the next record's offset and byte)
 * @throws LogCorruptionError when the file ends early or a record is invalid: only a torn tail can
 *   be, and that was cut when the log was opened
 */
export async function readSegmentRecords(
  path: string,
  limit: number,
  start: SegmentPosition,
  from: number,
  upto: number,
): Promise<{ records: StoredRecord[]; end: SegmentPosition }> {
  let cursor = start.offset;
  let position = start.position;
  const records: StoredRecord[] = [];
  const handle = await open(path, 'r');
  try {
    let buffer = Buffer.alloc(0);
    while (cursor < upto) {
      const length = frameLength(buffer);
      if (length === undefined || length > buffer.length) {
        const wanted = Math.max(READ_CHUNK_BYTES, (length ?? FRAME_HEADER_BYTES) - buffer.length);
        const size = Math.min(wanted, limit - position - buffer.length);
        const chunk = Buffer.allocUnsafe(Math.max(size, 0));
        const { bytesRead } =
          size > 0 ? await handle.read(chunk, 0, size, position + buffer.length) : { bytesRead: 0 };
        if (bytesRead === 0) {
          throw new LogCorruptionError(
            `${path} ends at byte ${position + buffer.length} before offset ${cursor}, which the log holds`,
          );
        }
        buffer = Buffer.concat([buffer, chunk.subarray(0, bytesRead)]);
        continue;
      }
      if (cursor >= from) {
        const record = decodeFrames(buffer.subarray(0, length), cursor, 1).records[0];
        if (record === undefined) {
          throw new LogCorruptionError(`${path}: record at byte ${position} (offset ${cursor}) is invalid`);
        }
        records.push(record);
      }
      buffer = buffer.subarray(length);
      position += length;
      cursor++;
    }
  } finally {
    await handle.close();
  }
  return { records, end: { offset: cursor, position } };
}

/** Creates an empty segment file (just the magic), fsync'd; the caller fsyncs the directory. */
export async function writeNewSegment(path: string): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/**
 * Validates the last segment record by record and cuts it after the last valid one: a crash during an
 * append leaves a partial frame (or one whose CRC does not match) that was never acknowledged.
 */
export async function recoverSegment(
  path: string,
  base: number,
): Promise<{ handle: FileHandle; count: number; bytes: number }> {
  const handle = await open(path, 'r+');
  try {
    const content = await handle.readFile();
    const header = content.subarray(0, SEGMENT_MAGIC.length);
    if (!header.equals(SEGMENT_MAGIC)) {
      if (
        content.length >= SEGMENT_MAGIC.length ||
        !SEGMENT_MAGIC.subarray(0, header.length).equals(header)
      ) {
        throw new LogCorruptionError(`${path} is not a fleetkit log segment (unknown header)`);
      }
      // Torn while the segment was being created: nothing was ever appended to it.
      await handle.truncate(0);
      await handle.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
      await handle.datasync();
      return { handle, count: 0, bytes: SEGMENT_MAGIC.length };
    }
    const decoded = decodeFrames(content.subarray(SEGMENT_MAGIC.length), base);
    const valid = SEGMENT_MAGIC.length + decoded.bytesUsed;
    if (valid < content.length) {
      await handle.truncate(valid);
      await handle.datasync();
    }
    return { handle, count: decoded.records.length, bytes: valid };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
