import { appendFile, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  DiskQueue,
  type DiskQueueOptions,
  QueueFullError,
  QueueOptionsError,
} from '../../../../edge/src/uplink/disk-queue.ts';
import { encodeFrame, FRAME_HEADER_BYTES } from '../../../../edge/src/uplink/frame.ts';
import { labelOf, payloadOf, tempDir } from './support.ts';

/** Appends payloads labelled `from`…`from + count − 1`. */
async function appendLabels(queue: DiskQueue, from: number, count: number, size = 100): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(await queue.append(() => payloadOf(from + i, size)));
  return ids;
}

/** Takes everything from the queue in order, acking each; returns the labels. */
async function drain(queue: DiskQueue): Promise<number[]> {
  const labels: number[] = [];
  for (let record = await queue.peek(); record !== undefined; record = await queue.peek()) {
    labels.push(labelOf(record.payload));
    await queue.ack(record.id);
  }
  return labels;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
}

describe('DiskQueue', () => {
  it('hands records out oldest first and forgets each once acknowledged', async () => {
    // Prepare
    const queue = await DiskQueue.open({ directory: await tempDir() });
    const ids = await appendLabels(queue, 100, 5);

    // Act
    const labels = await drain(queue);

    // Assess
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(labels).toEqual(range(100, 5));
    expect(await queue.peek()).toBeUndefined();
    expect(queue.metrics()).toMatchObject({
      queuedRecords: 0,
      queuedBytes: 0,
      appendedRecords: 5,
      appendedBytes: 500,
      sentRecords: 5,
      sentBytes: 500,
      droppedRecords: 0,
    });
  });

  it('gives the payload builder the id it stores the record under', async () => {
    // Prepare
    const queue = await DiskQueue.open({ directory: await tempDir() });

    // Act
    const id = await queue.append((given) => payloadOf(given));
    const record = await queue.peek();

    // Assess
    expect(record?.id).toBe(id);
    expect(labelOf(record?.payload ?? new Uint8Array(4))).toBe(id);
  });

  it('keeps what was not acknowledged across a restart, and goes on numbering after it', async () => {
    // Prepare: 6 appended, 2 acknowledged, then the process dies (no close)
    const directory = await tempDir();
    const before = await DiskQueue.open({ directory });
    await appendLabels(before, 0, 6);
    for (let i = 0; i < 2; i++) await before.ack(((await before.peek()) as { id: number }).id);

    // Act
    const after = await DiskQueue.open({ directory });
    const id = await after.append(() => payloadOf(6));

    // Assess
    expect(after.metrics()).toMatchObject({ queuedRecords: 5, tornTails: 0 });
    expect(id).toBe(7);
    expect(await drain(after)).toEqual(range(2, 5));
  });

  it('hands out the same record, id and bytes, again after a crash between its send and its ack', async () => {
    // Prepare
    const directory = await tempDir();
    const before = await DiskQueue.open({ directory });
    await appendLabels(before, 0, 3);
    const sent = await before.peek();

    // Act: the process dies before ack
    const after = await DiskQueue.open({ directory });
    const again = await after.peek();

    // Assess
    expect(again).toEqual(sent);
  });

  it('keeps the numbering when every segment is gone: ids never repeat for a directory', async () => {
    // Prepare
    const directory = await tempDir();
    const before = await DiskQueue.open({ directory, segmentBytes: 1024, maxBytes: 4096 });
    await appendLabels(before, 0, 30);
    await drain(before);

    // Act
    const after = await DiskQueue.open({ directory, segmentBytes: 1024, maxBytes: 4096 });
    const id = await after.append(() => payloadOf(30));

    // Assess
    expect(id).toBe(31);
    expect(await segmentFiles(directory)).toHaveLength(1);
  });

  it('rolls over to new segments and deletes each once all its records are acknowledged', async () => {
    // Prepare: 116-byte frames, 8 to a 1 KiB segment
    const directory = await tempDir();
    const queue = await DiskQueue.open({ directory, segmentBytes: 1024, maxBytes: 8192 });
    await appendLabels(queue, 0, 20);
    const filesBefore = await segmentFiles(directory);

    // Act
    for (let i = 0; i < 17; i++) await queue.ack(((await queue.peek()) as { id: number }).id);

    // Assess
    expect(filesBefore).toEqual(['0000000000000001.seg', '0000000000000009.seg', '0000000000000017.seg']);
    expect(await segmentFiles(directory)).toEqual(['0000000000000017.seg']);
    expect(await drain(queue)).toEqual([17, 18, 19]);
  });

  describe('recovers from a crash in the middle of an append', () => {
    const lastFrame = encodeFrame(4, payloadOf(3));
    it.each<[string, (segment: string) => Promise<void>, number]>([
      ['half a header', (s) => appendFile(s, lastFrame.subarray(0, 7)), 7],
      [
        'a header and part of the payload',
        (s) => appendFile(s, lastFrame.subarray(0, FRAME_HEADER_BYTES + 40)),
        56,
      ],
      [
        'a whole frame with a byte of it wrong (CRC)',
        (s) =>
          appendFile(
            s,
            lastFrame.map((b, i) => (i === 50 ? b ^ 1 : b)),
          ),
        lastFrame.length,
      ],
      ['zeros where the file grew before its data landed', (s) => appendFile(s, new Uint8Array(300)), 300],
      ['a frame that repeats an id', (s) => appendFile(s, encodeFrame(3, payloadOf(99))), lastFrame.length],
    ])('%s: cut off, counted, the records before it kept', async (_name, damage, tornBytes) => {
      // Prepare: three records on disk, then the tail damaged by hand
      const directory = await tempDir();
      const before = await DiskQueue.open({ directory });
      await appendLabels(before, 0, 3);
      const [segment] = await segmentFiles(directory);
      const path = join(directory, segment as string);
      const goodSize = (await stat(path)).size;
      await damage(path);

      // Act
      const after = await DiskQueue.open({ directory });
      const next = await after.append(() => payloadOf(3));

      // Assess
      expect(after.metrics()).toMatchObject({ tornTails: 1, tornBytes, queuedRecords: 4 });
      expect((await stat(path)).size).toBe(goodSize);
      expect(next).toBe(4);
      expect(await drain(after)).toEqual([0, 1, 2, 3]);
    });
  });

  it('resends everything when the cursor file is unreadable, rather than skip anything', async () => {
    // Prepare
    const directory = await tempDir();
    const before = await DiskQueue.open({ directory });
    await appendLabels(before, 0, 3);
    await before.ack(1);
    await writeFile(join(directory, 'cursor.json'), '{"acked":');
    const events: string[] = [];

    // Act
    const after = await DiskQueue.open({ directory, log: (event) => events.push(event) });

    // Assess
    expect(events).toContain('uplink-queue-cursor-unreadable');
    expect(await drain(after)).toEqual([0, 1, 2]);
  });

  it('persists the cursor as the last acknowledged id', async () => {
    // Prepare
    const directory = await tempDir();
    const queue = await DiskQueue.open({ directory });
    await appendLabels(queue, 0, 3);

    // Act
    await queue.ack(1);
    await queue.ack(2);

    // Assess
    expect(JSON.parse(await readFile(join(directory, 'cursor.json'), 'utf8'))).toEqual({ acked: 2 });
  });

  it.each([
    ['always', true],
    ['never', false],
  ] as const)('under fsync %s, an append and an ack (the cursor) fsync: %s', async (fsync, expected) => {
    // Prepare: count fsync and fdatasync on every file handle the queue opens
    const directory = await tempDir();
    const probe = await open(join(directory, 'probe'), 'w');
    const handle = Object.getPrototypeOf(probe) as {
      sync: () => Promise<void>;
      datasync: () => Promise<void>;
    };
    await probe.close();
    const syncs = vi.spyOn(handle, 'sync');
    const datasyncs = vi.spyOn(handle, 'datasync');
    try {
      const queue = await DiskQueue.open({ directory, fsync });
      const [id] = await appendLabels(queue, 0, 1);
      const beforeAck = syncs.mock.calls.length + datasyncs.mock.calls.length;

      // Act
      await queue.ack(id ?? 0);

      // Assess
      expect(beforeAck > 0).toBe(expected);
      expect(syncs.mock.calls.length + datasyncs.mock.calls.length > beforeAck).toBe(expected);
      expect(JSON.parse(await readFile(join(directory, 'cursor.json'), 'utf8'))).toEqual({ acked: id });
    } finally {
      syncs.mockRestore();
      datasyncs.mockRestore();
    }
  });

  it('refuses an ack past the head, and ignores one below it', async () => {
    // Prepare
    const queue = await DiskQueue.open({ directory: await tempDir() });
    await appendLabels(queue, 0, 3);
    await queue.ack(1);

    // Act
    await queue.ack(1);
    const ahead = queue.ack(3);

    // Assess
    await expect(ahead).rejects.toThrow(/ack of 3 while the head is 2/);
    expect((await queue.peek())?.id).toBe(2);
  });

  describe('when full', () => {
    const small: Omit<DiskQueueOptions, 'directory'> = { segmentBytes: 1024, maxBytes: 3072 };

    it('drops the oldest segment under drop-oldest, counting what it lost, and keeps the newest in order', async () => {
      // Prepare: 24 frames of 116 bytes fill three 1 KiB segments (8 each) to 2784 of 3072 bytes
      const events: Record<string, unknown>[] = [];
      const queue = await DiskQueue.open({
        ...small,
        directory: await tempDir(),
        fullPolicy: 'drop-oldest',
        log: (event, detail) => events.push({ event, ...detail }),
      });
      await appendLabels(queue, 0, 24);

      // Act
      await appendLabels(queue, 24, 3);

      // Assess
      expect(queue.metrics()).toMatchObject({
        droppedRecords: 8,
        droppedBytes: 800,
        queuedRecords: 19,
        refusedRecords: 0,
      });
      expect(queue.metrics().diskBytes).toBeLessThanOrEqual(3072);
      expect(events).toContainEqual(
        expect.objectContaining({ event: 'uplink-queue-dropped', records: 8, firstId: 1, lastId: 8 }),
      );
      expect(await drain(queue)).toEqual(range(8, 19));
    });

    it('counts only unacknowledged records as dropped', async () => {
      // Prepare
      const queue = await DiskQueue.open({ ...small, directory: await tempDir() });
      await appendLabels(queue, 0, 24);
      for (let i = 0; i < 5; i++) await queue.ack(((await queue.peek()) as { id: number }).id);

      // Act
      await appendLabels(queue, 24, 3);

      // Assess
      expect(queue.metrics()).toMatchObject({ droppedRecords: 3, sentRecords: 5 });
      expect((await queue.peek())?.id).toBe(9);
    });

    it('refuses the newest under refuse-newest, counted, keeping what it has', async () => {
      // Prepare
      const queue = await DiskQueue.open({
        ...small,
        directory: await tempDir(),
        fullPolicy: 'refuse-newest',
      });
      await appendLabels(queue, 0, 24);

      // Act
      const refused = appendLabels(queue, 24, 3);

      // Assess
      await expect(refused).rejects.toThrow(QueueFullError);
      expect(queue.metrics()).toMatchObject({ refusedRecords: 1, refusedBytes: 100, droppedRecords: 0 });
      expect(queue.nextId).toBe(27);
      expect(await drain(queue)).toEqual(range(0, 26));
      expect(await queue.append(() => payloadOf(26))).toBe(27);
    });
  });

  it.each<[string, Partial<DiskQueueOptions>, RegExp]>([
    [
      'segments under 1 KiB',
      { segmentBytes: 100 },
      /segmentBytes must be an integer of at least 1024, got 100/,
    ],
    [
      'a bound under two segments',
      { segmentBytes: 4096, maxBytes: 5000 },
      /maxBytes must be at least twice segmentBytes \(8192\), got 5000/,
    ],
    [
      'an unknown policy',
      { fullPolicy: 'drop-newest' as never },
      /fullPolicy must be 'drop-oldest' or 'refuse-newest', got 'drop-newest'/,
    ],
  ])('refuses options that cannot work: %s', async (_name, options, reason) => {
    await expect(DiskQueue.open({ directory: await tempDir(), ...options })).rejects.toThrow(
      QueueOptionsError,
    );
    await expect(DiskQueue.open({ directory: await tempDir(), ...options })).rejects.toThrow(reason);
  });

  it('refuses a record larger than a segment, and an empty one, storing nothing', async () => {
    // Prepare
    const queue = await DiskQueue.open({ directory: await tempDir(), segmentBytes: 1024, maxBytes: 2048 });

    // Act
    const big = queue.append(() => new Uint8Array(2000));
    const empty = queue.append(() => new Uint8Array(0));

    // Assess
    await expect(big).rejects.toThrow(/does not fit a segment of 1024 bytes/);
    await expect(empty).rejects.toThrow(/1 to 2\^32-1 bytes, got 0/);
    expect(queue.metrics().queuedRecords).toBe(0);
    expect(await queue.append(() => payloadOf(0))).toBe(1);
  });

  it('wakes a waiter when a record arrives, and lets it go on abort', async () => {
    // Prepare
    const queue = await DiskQueue.open({ directory: await tempDir() });
    const aborted = new AbortController();
    const gaveUp = queue.whenNotEmpty(aborted.signal).then(
      () => 'woken',
      (error: Error) => error.message,
    );
    const waiting = queue.whenNotEmpty();

    // Act
    aborted.abort(new Error('stop'));
    await appendLabels(queue, 0, 1);

    // Assess
    expect(await gaveUp).toBe('stop');
    await expect(waiting).resolves.toBeUndefined();
  });
});
