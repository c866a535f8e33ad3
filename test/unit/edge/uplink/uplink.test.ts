import { appendFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../../edge/src/uplink/frame.ts';
import { Uplink } from '../../../../edge/src/uplink/uplink.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { FakeTransport, ManualClock, readingsFrom, settle, T0, tempDir } from './support.ts';

const TOPIC = 'devices/sensor/dev-1/telemetry';

/** Moves the clock a second per macrotask until `done`, so backoffs and age limits run in virtual time. */
async function runUntil(clock: ManualClock, done: () => boolean, limitSeconds = 24 * 3600): Promise<void> {
  for (let s = 0; s < limitSeconds; s++) {
    if (done()) return;
    clock.advance(1_000);
    await settle(2);
  }
  throw new Error(`not done after ${limitSeconds} virtual seconds`);
}

async function addAll(uplink: Uplink, readings: readonly Reading[]): Promise<void> {
  for (const reading of readings) await uplink.add(reading);
}

/**
 * The device's processes die: the sender stops where it is (no ack for a publish in flight) and nothing
 * else runs — the open batch is not queued, the files are not closed. A clock nobody advances again
 * keeps the dead batcher's age timer from firing.
 */
async function crash(uplink: Uplink): Promise<void> {
  await uplink.sender.stop();
}

describe('the uplink across an outage and a restart', () => {
  it('delivers every reading, in order, once per batch id, with the torn tail cut and the open batch kept', async () => {
    // Prepare: the link is down
    const directory = await tempDir();
    let linkUp = false;
    const transport = new FakeTransport(() => (linkUp ? 'deliver' : 'fail'));
    const clockA = new ManualClock();
    const first = await Uplink.open({ directory, transport, topic: TOPIC, clock: clockA });
    first.start();

    // Act: 150 readings (two batches queued, 30 in the open batch), five minutes of failing retries
    await addAll(first, readingsFrom(0, 150));
    await runUntil(clockA, () => clockA.now() >= T0 + 300_000);
    const failedBeforeCrash = first.metrics().sender.failedPublishes;

    // Act: the device loses power mid-append (a torn frame at the end of the segment) and restarts
    await crash(first);
    const segment = (await readdir(directory))
      .filter((n) => n.endsWith('.seg'))
      .sort()
      .at(-1) as string;
    await appendFile(join(directory, segment), encodeFrame(3, new Uint8Array(200)).subarray(0, 90));
    const clockB = new ManualClock(T0 + 300_000);
    const second = await Uplink.open({ directory, transport, topic: TOPIC, clock: clockB });
    second.start();
    await addAll(second, readingsFrom(150, 90));
    await runUntil(clockB, () => clockB.now() >= T0 + 900_000);
    const deliveredWhileDown = transport.delivered.length;

    // Act: the link comes back
    linkUp = true;
    await runUntil(clockB, () => second.metrics().queue.queuedRecords === 0);
    await second.stop();

    // Assess
    const batches = transport.batches();
    expect(deliveredWhileDown).toBe(0);
    // It kept trying while the link was down. How many tries fit in five virtual minutes depends on how
    // fast the file reads finish between clock steps, so only that it tried is asserted.
    expect(failedBeforeCrash).toBeGreaterThan(0);
    expect(batches.map((b) => b.batchId)).toEqual([1, 2, 3, 4]);
    expect(batches.flatMap((b) => b.readings)).toEqual(readingsFrom(0, 240));
    expect(second.metrics()).toMatchObject({
      batcher: { restoredReadings: 30, batches: 2, pendingReadings: 0 },
      queue: { tornTails: 1, tornBytes: 90, queuedRecords: 0, sentRecords: 4, droppedRecords: 0 },
      sender: { publishedRecords: 4, consecutiveFailures: 0 },
    });
  });

  it('resends a batch published just before a crash with its batch id, so the receiver drops the copy', async () => {
    // Prepare: the broker receives batch 1 but the device dies before the PUBACK reaches it
    const directory = await tempDir();
    const transport = new FakeTransport((attempt) => (attempt === 1 ? 'deliver-late' : 'deliver'));
    const clockA = new ManualClock();
    const first = await Uplink.open({ directory, transport, topic: TOPIC, clock: clockA });
    first.start();
    await addAll(first, readingsFrom(0, 60));
    await runUntil(clockA, () => transport.delivered.length === 1);

    // Act
    await crash(first);
    const clockB = new ManualClock();
    const second = await Uplink.open({ directory, transport, topic: TOPIC, clock: clockB });
    second.start();
    await addAll(second, readingsFrom(60, 60));
    await runUntil(clockB, () => second.metrics().queue.queuedRecords === 0);
    await second.stop();

    // Assess: batch 1 arrived twice, byte for byte; keyed by batch id, every reading once
    const batches = transport.batches();
    expect(batches.map((b) => b.batchId)).toEqual([1, 1, 2]);
    expect(transport.delivered[0]?.payload).toEqual(transport.delivered[1]?.payload);
    const byId = new Map(batches.map((b) => [b.batchId, b.readings]));
    expect([...byId.values()].flat()).toEqual(readingsFrom(0, 120));
  });

  it('on stop queues the open batch, and sends it after the next start', async () => {
    // Prepare
    const directory = await tempDir();
    const transport = new FakeTransport();
    const first = await Uplink.open({ directory, transport, topic: TOPIC, clock: new ManualClock() });
    await addAll(first, readingsFrom(0, 10));

    // Act
    await first.stop();
    const clock = new ManualClock();
    const second = await Uplink.open({ directory, transport, topic: TOPIC, clock });
    second.start();
    await runUntil(clock, () => transport.delivered.length === 1);
    await second.stop();

    // Assess
    expect(transport.batches().map((b) => b.readings)).toEqual([readingsFrom(0, 10)]);
  });
});
