import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDirectory } from '../ota/atomic-file.ts';
import { encodeFrame, FRAME_HEADER_BYTES } from './frame.ts';
import { readCursor, writeCursor } from './queue-cursor.ts';
import {
  type DiskQueueOptions,
  type FullPolicy,
  type QueueLog,
  validateQueueOptions,
} from './queue-options.ts';
import { recoverSegments, type Segment, segmentName } from './queue-recovery.ts';

export { type DiskQueueOptions, type FullPolicy, QueueOptionsError } from './queue-options.ts';

/**
 * Store-and-forward on disk: records (encoded batches) appended while the link is down, handed out
 * oldest first, forgotten once acknowledged.
 *
 * Layout of the directory:
 * - `{firstId:16 digits}.seg` — append-only segment files of frames (`frame.ts`: length, CRC-32, id,
 *   payload). Only the newest segment is written; a segment is deleted once every record in it is
 *   acknowledged (or dropped by the full policy).
 * - `cursor.json` — `{"acked": id}`, the last acknowledged id, replaced atomically (write, fsync, rename,
 *   fsync the directory). Records at or below it are never handed out again.
 *
 * Guarantees:
 * - **Ordering and at-least-once**: records are handed out in id order, one head at a time; the head
 *   moves only on {@link DiskQueue.ack}. A crash between a send and its ack resends the same record —
 *   same id, same bytes — so the receiver can recognise it.
 * - **Ids** rise by one per append and never repeat for a directory, across restarts (the cursor keeps
 *   the highest acknowledged id even when every segment has been deleted).
 * - **Durability** (`fsync`): `always` (default) fsyncs each append before it resolves and the directory
 *   after a segment is created or deleted: once `append` resolves, a power cut loses nothing. `never`
 *   leaves writes to the OS: a process crash loses nothing, a power cut may lose the last seconds.
 *   At one batch every few minutes `always` costs one flash page write per batch.
 * - **Recovery**: opening scans every segment; the first frame that fails its checks ends the segment,
 *   which is truncated there (a torn tail from a crash mid-append), and counted.
 * - **Bounded**: at most `maxBytes` of segments. When an append would pass it, the full policy decides:
 *   `drop-oldest` (default) deletes the oldest segment, acknowledged or not, counting the records lost;
 *   `refuse-newest` refuses the append with {@link QueueFullError}, counted. Drop-oldest is the default
 *   because on a device the recent readings are the ones an operator acts on (the alert rules look at
 *   the present state), and an outage long enough to fill the queue has already made its oldest data
 *   history; refuse-newest suits fleets that need an unbroken record from the start of an outage.
 */

/** One record handed out by {@link DiskQueue.peek}. */
export interface QueuedRecord {
  readonly id: number;
  readonly payload: Uint8Array;
}

/** Counters since the queue was opened, and what it holds now. */
export interface UplinkQueueMetrics {
  /** Records appended and not yet acknowledged or dropped. */
  readonly queuedRecords: number;
  /** Payload bytes of those records. */
  readonly queuedBytes: number;
  /** Bytes of all segment files (acknowledged records stay until their segment is deleted). */
  readonly diskBytes: number;
  readonly appendedRecords: number;
  readonly appendedBytes: number;
  /** Acknowledged: sent and confirmed. */
  readonly sentRecords: number;
  readonly sentBytes: number;
  /** Lost to the drop-oldest policy. */
  readonly droppedRecords: number;
  readonly droppedBytes: number;
  /** Refused by the refuse-newest policy. */
  readonly refusedRecords: number;
  readonly refusedBytes: number;
  /** Segments found with a damaged tail when the queue was opened, and the bytes cut off. */
  readonly tornTails: number;
  readonly tornBytes: number;
}

/** The queue is full and its policy is `refuse-newest`: the record was not stored. */
export class QueueFullError extends Error {
  override readonly name = 'QueueFullError';
}

export class DiskQueue {
  private readonly directory: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly fullPolicy: FullPolicy;
  private readonly fsync: boolean;
  private readonly log: QueueLog;
  /** Oldest first; the last one is the active segment (appended to) while `activeHandle` is open. */
  private readonly segments: Segment[] = [];
  /** Index in `segments[0].records` of the head: the oldest record neither acknowledged nor dropped. */
  private head = 0;
  private acked: number;
  private next: number;
  private activeHandle: FileHandle | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private waiters: (() => void)[] = [];
  private closed = false;
  private counters = {
    queuedRecords: 0,
    queuedBytes: 0,
    appendedRecords: 0,
    appendedBytes: 0,
    sentRecords: 0,
    sentBytes: 0,
    droppedRecords: 0,
    droppedBytes: 0,
    refusedRecords: 0,
    refusedBytes: 0,
    tornTails: 0,
    tornBytes: 0,
  };

  private constructor(options: DiskQueueOptions, acked: number) {
    this.directory = options.directory;
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.segmentBytes = options.segmentBytes ?? 256 * 1024;
    this.fullPolicy = options.fullPolicy ?? 'drop-oldest';
    this.fsync = (options.fsync ?? 'always') === 'always';
    this.log = options.log ?? (() => {});
    this.acked = acked;
    this.next = acked + 1;
  }

  /** Opens (or creates) the queue in `options.directory`, recovering whatever a crash left. */
  static async open(options: DiskQueueOptions): Promise<DiskQueue> {
    validateQueueOptions(options);
    await mkdir(options.directory, { recursive: true });
    const queue = new DiskQueue(options, await readCursor(options.directory, options.log));
    await queue.recover();
    return queue;
  }

  /** The id the next append will get. */
  get nextId(): number {
    return this.next;
  }

  metrics(): UplinkQueueMetrics {
    const diskBytes = this.segments.reduce((n, s) => n + s.bytes, 0);
    return { ...this.counters, diskBytes };
  }

  /**
   * Appends one record. `build` gets the record's id and returns its payload, so a payload can carry
   * its own id (the batch id a receiver deduplicates on). Resolves once the record is stored (fsynced
   * under `fsync: 'always'`) with its id.
   *
   * @throws QueueFullError when full under `refuse-newest`
   * @throws RangeError when the payload is empty or does not fit one segment
   */
  append(build: (id: number) => Uint8Array): Promise<number> {
    return this.serialized(async () => {
      const id = this.next;
      const payload = build(id);
      const frame = encodeFrame(id, payload);
      if (frame.length > this.segmentBytes)
        throw new RangeError(
          `a record of ${payload.length} bytes does not fit a segment of ${this.segmentBytes} bytes`,
        );
      await this.makeRoom(frame.length, payload.length);
      const segment = await this.activeSegment(id, frame.length);
      const handle = this.activeHandle as FileHandle;
      try {
        await handle.write(frame, 0, frame.length, segment.bytes);
        if (this.fsync) await handle.datasync();
      } catch (error) {
        // Leave no partial frame behind for the next append to follow.
        await handle.truncate(segment.bytes).catch(() => {});
        throw error;
      }
      segment.records.push({ id, offset: segment.bytes, length: payload.length });
      segment.bytes += frame.length;
      this.next = id + 1;
      this.counters.appendedRecords++;
      this.counters.appendedBytes += payload.length;
      this.counters.queuedRecords++;
      this.counters.queuedBytes += payload.length;
      for (const wake of this.waiters.splice(0)) wake();
      return id;
    });
  }

  /** The oldest record not yet acknowledged (nor dropped), or undefined when there is none. */
  peek(): Promise<QueuedRecord | undefined> {
    return this.serialized(async () => {
      const segment = this.segments[0];
      const ref = segment?.records[this.head];
      if (segment === undefined || ref === undefined) return undefined;
      const handle = await open(segment.path, 'r');
      try {
        const payload = new Uint8Array(ref.length);
        await handle.read(payload, 0, ref.length, ref.offset + FRAME_HEADER_BYTES);
        return { id: ref.id, payload };
      } finally {
        await handle.close();
      }
    });
  }

  /**
   * Acknowledges the head record: it is never handed out again, across restarts. An id below the head
   * (a record the full policy dropped while it was being sent) is ignored.
   *
   * @throws RangeError for an id above the head: acknowledging out of order would lose records
   */
  ack(id: number): Promise<void> {
    return this.serialized(async () => {
      const segment = this.segments[0];
      const ref = segment?.records[this.head];
      if (segment === undefined || ref === undefined || id < ref.id) return;
      if (id > ref.id) throw new RangeError(`ack of ${id} while the head is ${ref.id}: acks go in order`);
      await writeCursor(this.directory, id, this.fsync ? 'always' : 'never');
      this.acked = id;
      this.head++;
      this.counters.queuedRecords--;
      this.counters.queuedBytes -= ref.length;
      this.counters.sentRecords++;
      this.counters.sentBytes += ref.length;
      await this.deleteSentSegments();
    });
  }

  /** Resolves when a record is waiting (at once if one is); rejects with the signal's reason on abort. */
  whenNotEmpty(signal?: AbortSignal): Promise<void> {
    if (this.counters.queuedRecords > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        reject(signal?.reason);
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Waits for operations in progress and closes the active segment. */
  close(): Promise<void> {
    return this.serialized(async () => {
      this.closed = true;
      await this.activeHandle?.close();
      this.activeHandle = undefined;
    });
  }

  private serialized<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      if (this.closed) throw new Error('the queue is closed');
      return operation();
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Applies the full policy so that `frameBytes` more fit under `maxBytes`. */
  private async makeRoom(frameBytes: number, payloadBytes: number): Promise<void> {
    const total = () => this.segments.reduce((n, s) => n + s.bytes, 0);
    if (total() + frameBytes <= this.maxBytes) return;
    if (this.fullPolicy === 'refuse-newest') {
      this.counters.refusedRecords++;
      this.counters.refusedBytes += payloadBytes;
      this.log('uplink-queue-refused', { bytes: payloadBytes, maxBytes: this.maxBytes });
      throw new QueueFullError(
        `the uplink queue holds ${total()} of ${this.maxBytes} bytes; refusing ${payloadBytes} more (policy refuse-newest)`,
      );
    }
    while (total() + frameBytes > this.maxBytes && this.segments.length > 0) {
      const oldest = this.segments.shift() as Segment;
      if (this.segments.length === 0) await this.closeActive();
      const lost = oldest.records.slice(this.head);
      this.head = 0;
      const lostBytes = lost.reduce((n, r) => n + r.length, 0);
      this.counters.droppedRecords += lost.length;
      this.counters.droppedBytes += lostBytes;
      this.counters.queuedRecords -= lost.length;
      this.counters.queuedBytes -= lostBytes;
      this.log('uplink-queue-dropped', {
        records: lost.length,
        firstId: lost[0]?.id,
        lastId: lost.at(-1)?.id,
        bytes: lostBytes,
      });
      await this.deleteFile(oldest.path);
    }
  }

  /** The segment to append `frameBytes` to: the active one if it has room, else a new one named by `id`. */
  private async activeSegment(id: number, frameBytes: number): Promise<Segment> {
    const last = this.segments.at(-1);
    if (last !== undefined && this.activeHandle !== undefined && last.bytes + frameBytes <= this.segmentBytes)
      return last;
    await this.closeActive();
    const segment: Segment = { path: join(this.directory, segmentName(id)), bytes: 0, records: [] };
    this.activeHandle = await open(segment.path, 'w');
    // The new file's directory entry must be durable before records in it are reported stored.
    if (this.fsync) await syncDirectory(this.directory);
    if (this.segments.length === 0) this.head = 0;
    this.segments.push(segment);
    await this.deleteSentSegments();
    return segment;
  }

  /** Deletes head segments whose records are all acknowledged, keeping the active (last) one. */
  private async deleteSentSegments(): Promise<void> {
    for (;;) {
      const segment = this.segments[0];
      if (segment === undefined || this.segments.length === 1 || this.head < segment.records.length) return;
      this.segments.shift();
      this.head = 0;
      await this.deleteFile(segment.path);
    }
  }

  private async closeActive(): Promise<void> {
    const handle = this.activeHandle;
    this.activeHandle = undefined;
    await handle?.close();
  }

  private async deleteFile(path: string): Promise<void> {
    await rm(path, { force: true });
    if (this.fsync) await syncDirectory(this.directory);
  }

  /** Rebuilds the index from the segments a crash (or a clean close) left: see {@link recoverSegments}. */
  private async recover(): Promise<void> {
    const found = await recoverSegments(this.directory, this.acked, this.fsync, this.log);
    this.segments.push(...found.segments);
    this.head = found.head;
    this.counters.queuedRecords += found.queuedRecords;
    this.counters.queuedBytes += found.queuedBytes;
    this.counters.tornTails += found.tornTails;
    this.counters.tornBytes += found.tornBytes;
    this.next = Math.max(found.lastId, this.acked) + 1;
  }
}
