import { appendFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BatchQueue, UplinkBatcher, UplinkReadingError } from '../../../../edge/src/uplink/batcher.ts';
import { DiskQueue, type DiskQueueOptions } from '../../../../edge/src/uplink/disk-queue.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { decodeUplinkBatch, type UplinkBatch } from '../../../../lib/protocol/uplink/codec.ts';
import { ManualClock, readingsFrom, settle, T0, tempDir, until } from './support.ts';

/** Every batch in the queue, decoded, oldest first (acknowledging them). */
async function queuedBatches(queue: DiskQueue): Promise<UplinkBatch[]> {
  const batches: UplinkBatch[] = [];
  for (let record = await queue.peek(); record !== undefined; record = await queue.peek()) {
    const decoded = decodeUplinkBatch(record.payload);
    if (!decoded.ok) throw new Error(decoded.reason);
    expect(decoded.batch.batchId).toBe(record.id);
    batches.push(decoded.batch);
    await queue.ack(record.id);
  }
  return batches;
}

async function openPair(
  directory: string,
  options: { maxReadings?: number; clock?: ManualClock } = {},
  queueOptions: Partial<DiskQueueOptions> = {},
) {
  const queue = await DiskQueue.open({ directory, ...queueOptions });
  const batcher = await UplinkBatcher.open({
    queue,
    journalPath: join(directory, 'open-batch.journal'),
    clock: options.clock ?? new ManualClock(),
    maxReadings: options.maxReadings ?? 60,
  });
  return { queue, batcher };
}

describe('UplinkBatcher', () => {
  it('closes a batch when it holds maxReadings, numbered by the queue', async () => {
    // Prepare
    const { queue, batcher } = await openPair(await tempDir(), { maxReadings: 60 });
    const readings = readingsFrom(0, 150);

    // Act
    for (const reading of readings) await batcher.add(reading);

    // Assess
    const batches = await queuedBatches(queue);
    expect(batches.map((b) => [b.batchId, b.readings.length])).toEqual([
      [1, 60],
      [2, 60],
    ]);
    expect(batches.flatMap((b) => b.readings)).toEqual(readings.slice(0, 120));
    expect(batcher.metrics()).toMatchObject({ acceptedReadings: 150, pendingReadings: 30, batches: 2 });
  });

  it('closes a batch when its first reading has waited maxAgeMs, not before', async () => {
    // Prepare
    const clock = new ManualClock();
    const { queue, batcher } = await openPair(await tempDir(), { clock });
    for (const reading of readingsFrom(0, 5)) await batcher.add(reading);

    // Act
    clock.advance(3_599_999);
    await settle();
    const early = queue.metrics().queuedRecords;
    clock.advance(1);
    await until(() => queue.metrics().queuedRecords === 1);

    // Assess
    expect(early).toBe(0);
    expect((await queuedBatches(queue)).map((b) => b.readings.length)).toEqual([5]);
    expect(clock.pending).toBe(0);
  });

  it('closes the open batch at once after an urgent reading, and starts the next one empty', async () => {
    // Prepare
    const { queue, batcher } = await openPair(await tempDir());
    const readings = readingsFrom(0, 6);
    for (const reading of readings.slice(0, 3)) await batcher.add(reading);

    // Act
    await batcher.add(readings[3] as Reading, { urgent: true });
    for (const reading of readings.slice(4)) await batcher.add(reading);
    await batcher.flush();

    // Assess
    expect((await queuedBatches(queue)).map((b) => b.readings.length)).toEqual([4, 2]);
  });

  it('starts the age over with the next batch', async () => {
    // Prepare
    const clock = new ManualClock();
    const { queue, batcher } = await openPair(await tempDir(), { clock, maxReadings: 3 });
    for (const reading of readingsFrom(0, 3)) await batcher.add(reading);
    clock.advance(3_000_000);

    // Act
    await batcher.add(readingsFrom(3, 1)[0] as Reading);
    clock.advance(3_000_000);
    await settle();

    // Assess: the fourth reading has waited 3,000 s, not the hour
    expect(queue.metrics().queuedRecords).toBe(1);
    clock.advance(600_000);
    await until(() => queue.metrics().queuedRecords === 2);
  });

  it.each<[string, Reading, RegExp]>([
    [
      'a time in seconds',
      { ts: 1_764_196_380, values: { temperature: 20 } },
      /ts: must be epoch milliseconds/,
    ],
    ['no values', { ts: T0, values: {} }, /values: must hold at least one metric/],
    ['a value that is not finite', { ts: T0, values: { temperature: Number.NaN } }, /values\.temperature/],
    ['a metric without a resolution', { ts: T0, values: { lux: 300 } }, /metric 'lux' has no resolution/],
  ])('refuses a reading with %s, with a reason, and keeps going', async (_name, reading, reason) => {
    // Prepare
    const { queue, batcher } = await openPair(await tempDir(), { maxReadings: 2 });

    // Act
    const refused = await batcher.add(reading).then(
      () => undefined,
      (error: unknown) => error,
    );
    for (const good of readingsFrom(0, 2)) await batcher.add(good);

    // Assess
    expect(refused).toBeInstanceOf(UplinkReadingError);
    expect((refused as Error).message).toMatch(reason);
    expect(batcher.metrics()).toMatchObject({ rejectedReadings: 1, acceptedReadings: 2 });
    expect((await queuedBatches(queue)).map((b) => b.readings)).toEqual([readingsFrom(0, 2)]);
  });

  it('accepts a metric outside the known ones when its resolution is declared', async () => {
    // Prepare
    const directory = await tempDir();
    const queue = await DiskQueue.open({ directory });
    const batcher = await UplinkBatcher.open({
      queue,
      maxReadings: 1,
      resolutions: { lux: { decimals: 1 } },
    });

    // Act
    await batcher.add({ ts: T0, values: { lux: 312.5 } });

    // Assess
    expect((await queuedBatches(queue))[0]?.readings).toEqual([{ ts: T0, values: { lux: 312.5 } }]);
  });

  it('queues the open batch on stop', async () => {
    // Prepare
    const { queue, batcher } = await openPair(await tempDir());
    for (const reading of readingsFrom(0, 7)) await batcher.add(reading);

    // Act
    await batcher.stop();

    // Assess
    expect((await queuedBatches(queue)).map((b) => b.readings)).toEqual([readingsFrom(0, 7)]);
  });

  describe('across a crash (a new instance on the same directory)', () => {
    it('loses none of the open batch: its readings come back from the journal', async () => {
      // Prepare: a full batch queued and 25 readings of the next one added, then the process dies
      const directory = await tempDir();
      const before = await openPair(directory);
      for (const reading of readingsFrom(0, 85)) await before.batcher.add(reading);

      // Act
      const after = await openPair(directory);
      for (const reading of readingsFrom(85, 35)) await after.batcher.add(reading);

      // Assess
      expect(after.batcher.metrics()).toMatchObject({ restoredReadings: 25, batches: 1 });
      const batches = await queuedBatches(after.queue);
      expect(batches.map((b) => b.batchId)).toEqual([1, 2]);
      expect(batches.flatMap((b) => b.readings)).toEqual(readingsFrom(0, 120));
    });

    it('does not queue readings twice when the crash came after the batch was queued and before the journal was emptied', async () => {
      // Prepare: the queue stores the batch, then the process dies before the batcher hears back
      const directory = await tempDir();
      const queue = await DiskQueue.open({ directory });
      const dying: BatchQueue = {
        get nextId() {
          return queue.nextId;
        },
        async append(build) {
          await queue.append(build);
          throw new Error('power lost');
        },
      };
      const before = await UplinkBatcher.open({
        queue: dying,
        journalPath: join(directory, 'open-batch.journal'),
        maxReadings: 10,
      });
      for (const reading of readingsFrom(0, 9)) await before.add(reading);
      await expect(before.add(readingsFrom(9, 1)[0] as Reading)).rejects.toThrow('power lost');

      // Act
      const after = await openPair(directory, { maxReadings: 10 });
      await after.batcher.stop();

      // Assess
      expect(after.batcher.metrics()).toMatchObject({ restoredReadings: 0, pendingReadings: 0 });
      const batches = await queuedBatches(after.queue);
      expect(batches.map((b) => b.readings)).toEqual([readingsFrom(0, 10)]);
    });

    it('cuts a torn journal tail and restores the readings before it', async () => {
      // Prepare
      const directory = await tempDir();
      const journal = join(directory, 'open-batch.journal');
      const before = await openPair(directory);
      for (const reading of readingsFrom(0, 4)) await before.batcher.add(reading);
      const size = (await stat(journal)).size;
      await appendFile(journal, new Uint8Array([0x30, 0, 0, 0, 0x12, 0x34]));

      // Act
      const after = await openPair(directory);
      await after.batcher.stop();

      // Assess
      expect(after.batcher.metrics().restoredReadings).toBe(4);
      expect((await queuedBatches(after.queue)).map((b) => b.readings)).toEqual([readingsFrom(0, 4)]);
      expect((await stat(journal)).size).toBe(0);
      expect(size).toBeGreaterThan(0);
    });
  });

  it('counts a batch a full queue refuses under refuse-newest, and empties the journal', async () => {
    // Prepare: a queue of 2 KiB filled to within 10 bytes
    const directory = await tempDir();
    const { queue, batcher } = await openPair(
      directory,
      { maxReadings: 5 },
      {
        segmentBytes: 1024,
        maxBytes: 2048,
        fullPolicy: 'refuse-newest',
      },
    );
    for (let i = 0; i < 17; i++) await queue.append(() => new Uint8Array(100));
    await queue.append(() => new Uint8Array(50));
    expect(queue.metrics().diskBytes).toBe(2038);

    // Act
    for (const reading of readingsFrom(0, 5)) await batcher.add(reading);

    // Assess
    expect(batcher.metrics()).toMatchObject({ refusedBatches: 1, refusedReadings: 5, pendingReadings: 0 });
    expect(queue.metrics().refusedRecords).toBe(1);
    expect((await stat(join(directory, 'open-batch.journal'))).size).toBe(0);
  });
});
