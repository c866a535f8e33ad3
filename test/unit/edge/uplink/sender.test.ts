import { describe, expect, it } from 'vitest';
import { DiskQueue } from '../../../../edge/src/uplink/disk-queue.ts';
import { type SendQueue, UplinkSender } from '../../../../edge/src/uplink/sender.ts';
import { FakeTransport, InstantClock, labelOf, payloadOf, settle, tempDir, until } from './support.ts';

const TOPIC = 'devices/sensor/dev-1/telemetry';

async function queueWith(count: number): Promise<DiskQueue> {
  const queue = await DiskQueue.open({ directory: await tempDir() });
  for (let i = 0; i < count; i++) await queue.append((id) => payloadOf(id));
  return queue;
}

describe('UplinkSender', () => {
  it('sends every record once, in order, on the device topic, and acknowledges each', async () => {
    // Prepare
    const queue = await queueWith(5);
    const transport = new FakeTransport();
    const sender = new UplinkSender({ queue, transport, topic: TOPIC, clock: new InstantClock() });

    // Act
    sender.start();
    await until(() => queue.metrics().sentRecords === 5);
    await sender.stop();

    // Assess
    expect(transport.delivered.map((d) => labelOf(d.payload))).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(transport.delivered.map((d) => d.topic))).toEqual(new Set([TOPIC]));
    expect(sender.metrics()).toMatchObject({ publishedRecords: 5, publishedBytes: 500, failedPublishes: 0 });
  });

  it('sends what is appended while it waits', async () => {
    // Prepare
    const queue = await queueWith(0);
    const transport = new FakeTransport();
    const sender = new UplinkSender({ queue, transport, topic: TOPIC, clock: new InstantClock() });
    sender.start();
    await settle();

    // Act
    await queue.append((id) => payloadOf(id));

    // Assess
    await until(() => transport.delivered.length === 1);
    await sender.stop();
    expect(queue.metrics().queuedRecords).toBe(0);
  });

  it('backs off exponentially while the transport fails, capped, and from the start after a success', async () => {
    // Prepare: 7 failures, one success, 2 failures, then success
    const queue = await queueWith(2);
    const failing = new Set([1, 2, 3, 4, 5, 6, 7, 9, 10]);
    const transport = new FakeTransport((attempt) => (failing.has(attempt) ? 'fail' : 'deliver'));
    const clock = new InstantClock();
    const sender = new UplinkSender({
      queue,
      transport,
      topic: TOPIC,
      clock,
      random: () => 0.5,
      backoff: { initialMs: 1_000, maxMs: 16_000, multiplier: 2 },
    });

    // Act
    sender.start();
    await until(() => queue.metrics().sentRecords === 2);
    await sender.stop();

    // Assess: delay = ceiling × 0.75 with random 0.5 (equal jitter)
    expect(clock.sleeps.filter((ms) => ms !== 30_000)).toEqual([
      750, 1500, 3000, 6000, 12000, 12000, 12000, 750, 1500,
    ]);
    expect(sender.metrics()).toMatchObject({
      failedPublishes: 9,
      consecutiveFailures: 0,
      lastError: 'connection lost',
    });
  });

  it.each<[string, number]>([
    ['the low end', 0],
    ['the high end', 0.999_999],
  ])('keeps the jittered delay within half to all of the ceiling: %s', (_name, r) => {
    const sender = new UplinkSender({
      queue: {} as SendQueue,
      transport: new FakeTransport(),
      topic: TOPIC,
      random: () => r,
      backoff: { initialMs: 1_000, maxMs: 60_000 },
    });
    const delays = [1, 2, 3, 10].map((n) => sender.backoffMs(n));
    const ceilings = [1_000, 2_000, 4_000, 60_000];
    delays.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual((ceilings[i] as number) / 2);
      expect(d).toBeLessThanOrEqual(ceilings[i] as number);
    });
  });

  it('times out a publish that never settles, and sends the record again (at least once)', async () => {
    // Prepare: the first attempt hangs
    const queue = await queueWith(2);
    const transport = new FakeTransport((attempt) => (attempt === 1 ? 'hang' : 'deliver'));
    const clock = new InstantClock();
    const sender = new UplinkSender({ queue, transport, topic: TOPIC, clock, publishTimeoutMs: 5_000 });

    // Act
    sender.start();
    await until(() => queue.metrics().sentRecords === 2);
    await sender.stop();

    // Assess
    expect(transport.delivered.map((d) => labelOf(d.payload))).toEqual([1, 2]);
    expect(sender.metrics()).toMatchObject({
      failedPublishes: 1,
      lastError: 'publish not confirmed within 5000 ms',
    });
  });

  it('resends a batch whose acknowledgement was lost with the same id, so the receiver can tell', async () => {
    // Prepare: the broker gets the first attempt but its PUBACK never comes
    const queue = await queueWith(1);
    const transport = new FakeTransport((attempt) => (attempt === 1 ? 'deliver-late' : 'deliver'));
    const sender = new UplinkSender({
      queue,
      transport,
      topic: TOPIC,
      clock: new InstantClock(),
      publishTimeoutMs: 1_000,
    });

    // Act
    sender.start();
    await until(() => queue.metrics().sentRecords === 1);
    await sender.stop();

    // Assess
    expect(transport.delivered.map((d) => labelOf(d.payload))).toEqual([1, 1]);
    expect(transport.delivered[0]?.payload).toEqual(transport.delivered[1]?.payload);
  });

  describe('stops cleanly', () => {
    it('while waiting for records', async () => {
      // Prepare
      const sender = new UplinkSender({
        queue: await queueWith(0),
        transport: new FakeTransport(),
        topic: TOPIC,
      });
      sender.start();
      await settle();

      // Act
      const stopped = sender.stop();

      // Assess
      await expect(stopped).resolves.toBeUndefined();
    });

    it('during a backoff, with a real clock and a five-minute delay', async () => {
      // Prepare
      const queue = await queueWith(1);
      const transport = new FakeTransport(() => 'fail');
      const sender = new UplinkSender({ queue, transport, topic: TOPIC, backoff: { initialMs: 300_000 } });
      sender.start();
      await until(() => transport.attempts === 1);

      // Act
      await sender.stop();

      // Assess
      expect(queue.metrics().queuedRecords).toBe(1);
    });

    it('with a publish in flight: it is abandoned, and its record stays first in the queue', async () => {
      // Prepare
      const queue = await queueWith(2);
      const transport = new FakeTransport(() => 'hang');
      const sender = new UplinkSender({ queue, transport, topic: TOPIC, publishTimeoutMs: 600_000 });
      sender.start();
      await until(() => transport.attempts === 1);

      // Act
      await sender.stop();

      // Assess
      expect((await queue.peek())?.id).toBe(1);
      expect(sender.metrics().publishedRecords).toBe(0);
    });
  });
});
