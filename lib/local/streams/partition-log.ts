import { type FileHandle, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StreamClosedError } from './errors.ts';
import { fsyncDir, WakeList } from './fs-util.ts';
import { encodeRecords, SEGMENT_MAGIC, type StoredRecord } from './record-codec.ts';
import { readSegmentRecords, recoverSegment, writeNewSegment } from './segment-file.ts';

/** Segment size and retention of one partition. */
export interface PartitionLogLimits {
  /** A segment is closed and a new one started once it holds this many bytes. */
  readonly segmentBytes: number;
  /** ... or this many records. */
  readonly segmentRecords: number;
  /** Whole old segments are deleted while the rest still holds at least this many bytes ... */
  readonly retentionBytes: number;
  /** ... or at least this many records (Kafka's `retention.bytes` rule, applied to both). */
  readonly retentionRecords: number;
}

interface Segment {
  readonly base: number;
  readonly path: string;
  /** Durable size: everything up to here is fsync'd and whole. */
  bytes: number;
}

/** Remembered file positions of offsets (where the last read or append ended), so reads need not scan. */
const MAX_POSITION_HINTS = 1024;

const SEGMENT_FILE = /^(\d{20})\.log$/;
const segmentName = (base: number) => `${String(base).padStart(20, '0')}.log`;

/**
 * One partition of the embedded log: append-only segment files `<dir>/<baseOffset>.log` (the base
 * offset zero-padded to 20 digits, as Kafka names them), the last one open for appends.
 *
 * Appends are serialized, written with one positional write and made durable with one `fdatasync`
 * per call before they are visible to readers or acknowledged. Opening recovers the last segment:
 * everything after its last whole, CRC-valid record (a torn write) is cut off.
 */
export class PartitionLog {
  readonly partition: number;
  private readonly dir: string;
  private readonly limits: PartitionLogLimits;
  private readonly segments: Segment[];
  private active: FileHandle;
  private nextOffset: number;
  private appending: Promise<unknown> = Promise.resolve();
  private readonly hints = new Map<number, { base: number; position: number }>();
  private readonly wakeList = new WakeList();
  private closed = false;

  private constructor(
    partition: number,
    dir: string,
    limits: PartitionLogLimits,
    segments: Segment[],
    active: FileHandle,
    nextOffset: number,
  ) {
    this.partition = partition;
    this.dir = dir;
    this.limits = limits;
    this.segments = segments;
    this.active = active;
    this.nextOffset = nextOffset;
  }

  /** Opens (creating if needed) the partition in `dir`, truncating a torn tail. */
  static async open(dir: string, partition: number, limits: PartitionLogLimits): Promise<PartitionLog> {
    await mkdir(dir, { recursive: true });
    const bases = (await readdir(dir))
      .map((name) => SEGMENT_FILE.exec(name)?.[1])
      .filter((base): base is string => base !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const segments: Segment[] = [];
    for (const base of bases) {
      const path = join(dir, segmentName(base));
      segments.push({ base, path, bytes: (await stat(path)).size });
    }
    if (segments.length === 0) {
      const path = join(dir, segmentName(0));
      await writeNewSegment(path);
      await fsyncDir(dir);
      segments.push({ base: 0, path, bytes: SEGMENT_MAGIC.length });
    }
    const last = segments[segments.length - 1] as Segment;
    const { handle, count, bytes } = await recoverSegment(last.path, last.base);
    last.bytes = bytes;
    const log = new PartitionLog(partition, dir, limits, segments, handle, last.base + count);
    await log.applyRetention();
    return log;
  }

  /** The oldest offset still held (older ones were deleted by retention). */
  get startOffset(): number {
    return (this.segments[0] as Segment).base;
  }

  /** The offset the next record gets; everything below it is durable. */
  get endOffset(): number {
    return this.nextOffset;
  }

  /** Segment files currently held, oldest first (for tests and diagnostics). */
  segmentBases(): number[] {
    return this.segments.map((segment) => segment.base);
  }

  /**
   * Appends records in order; resolves with the first one's offset once all are fsync'd.
   * Calls are applied in the order they are made.
   */
  append(records: readonly Omit<StoredRecord, 'offset'>[]): Promise<number> {
    const result = this.appending.then(() => this.appendNow(records));
    this.appending = result.catch(() => undefined);
    return result;
  }

  private async appendNow(records: readonly Omit<StoredRecord, 'offset'>[]): Promise<number> {
    if (this.closed) throw new StreamClosedError(`partition ${this.partition} is closed`);
    let segment = this.segments[this.segments.length - 1] as Segment;
    if (
      segment.bytes >= this.limits.segmentBytes ||
      this.nextOffset - segment.base >= this.limits.segmentRecords
    ) {
      segment = await this.roll();
    }
    const first = this.nextOffset;
    const frames = encodeRecords(records.map((record, index) => ({ ...record, offset: first + index })));
    try {
      let written = 0;
      while (written < frames.length) {
        const { bytesWritten } = await this.active.write(
          frames,
          written,
          frames.length - written,
          segment.bytes + written,
        );
        written += bytesWritten;
      }
      await this.active.datasync();
    } catch (error) {
      // Whatever part made it to the file is not acknowledged: cut it, so the next append starts clean.
      await this.active.truncate(segment.bytes).catch(() => undefined);
      throw error;
    }
    this.remember(first, segment.base, segment.bytes);
    segment.bytes += frames.length;
    this.nextOffset += records.length;
    this.remember(this.nextOffset, segment.base, segment.bytes);
    this.wakeList.wakeAll();
    // Checked on every append rather than on a timer (Kafka's way), so the bound holds at all times.
    await this.applyRetention();
    return first;
  }

  /** Closes the full active segment, starts the next one at the end offset, applies retention. */
  private async roll(): Promise<Segment> {
    const path = join(this.dir, segmentName(this.nextOffset));
    await writeNewSegment(path);
    await fsyncDir(this.dir);
    const handle = await open(path, 'r+');
    await this.active.close();
    this.active = handle;
    const segment: Segment = { base: this.nextOffset, path, bytes: SEGMENT_MAGIC.length };
    this.segments.push(segment);
    await this.applyRetention();
    return segment;
  }

  /** Deletes whole old segments while what remains still meets the byte or the record bound. */
  private async applyRetention(): Promise<void> {
    let deleted = false;
    while (this.segments.length > 1) {
      const [oldest, next] = this.segments as [Segment, Segment];
      const totalBytes = this.segments.reduce((sum, segment) => sum + segment.bytes, 0);
      const totalRecords = this.nextOffset - oldest.base;
      const overBytes = totalBytes - oldest.bytes >= this.limits.retentionBytes;
      const overRecords = totalRecords - (next.base - oldest.base) >= this.limits.retentionRecords;
      if (!overBytes && !overRecords) break;
      this.segments.shift();
      await unlink(oldest.path);
      deleted = true;
    }
    if (deleted) {
      for (const offset of [...this.hints.keys()]) if (offset < this.startOffset) this.hints.delete(offset);
      await fsyncDir(this.dir);
    }
  }

  /**
   * Reads up to `max` records from `from` (moved up to {@link startOffset} when retention has deleted
   * it); only durable records are returned.
   */
  async read(from: number, max: number): Promise<StoredRecord[]> {
    const records: StoredRecord[] = [];
    let cursor = Math.max(from, this.startOffset);
    const upto = Math.min(this.nextOffset, cursor + max);
    while (cursor < upto) {
      const index = this.segmentIndexOf(cursor);
      const segment = this.segments[index] as Segment;
      const segmentEnd = this.segments[index + 1]?.base ?? this.nextOffset;
      let found: StoredRecord[];
      try {
        found = await this.readSegment(segment, cursor, Math.min(upto, segmentEnd));
      } catch (error) {
        // Retention deleted the segment while it was being read: continue from the new start.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' && cursor < this.startOffset) {
          cursor = this.startOffset;
          continue;
        }
        throw error;
      }
      records.push(...found);
      cursor += found.length;
      if (found.length === 0) break;
    }
    return records;
  }

  private segmentIndexOf(offset: number): number {
    let index = this.segments.length - 1;
    while (index > 0 && (this.segments[index] as Segment).base > offset) index--;
    return index;
  }

  private async readSegment(segment: Segment, from: number, upto: number): Promise<StoredRecord[]> {
    const hint = this.hints.get(from);
    const start =
      hint?.base === segment.base
        ? { offset: from, position: hint.position }
        : { offset: segment.base, position: SEGMENT_MAGIC.length };
    // The durable size now: an append in flight writes past it, and that part is not read.
    const { records, end } = await readSegmentRecords(segment.path, segment.bytes, start, from, upto);
    this.remember(end.offset, segment.base, end.position);
    return records;
  }

  private remember(offset: number, base: number, position: number): void {
    this.hints.delete(offset);
    this.hints.set(offset, { base, position });
    if (this.hints.size > MAX_POSITION_HINTS) {
      const oldest = this.hints.keys().next();
      if (!oldest.done) this.hints.delete(oldest.value);
    }
  }

  /** Resolves when the end offset moves past `offset`, after `timeoutMs`, or when `signal` aborts. */
  async waitForData(offset: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.nextOffset > offset) return;
    await this.wakeList.wait(timeoutMs, signal);
  }

  /** Waits for appends in progress, then closes the segment file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.appending;
    await this.active.close();
    this.wakeList.wakeAll();
  }
}
