import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../edge/src/sensors/random.ts';
import { initialSensorState, stepSensors } from '../../edge/src/sensors/sensor-model.ts';
import { Uplink } from '../../edge/src/uplink/uplink.ts';
import type { Reading } from '../../lib/protocol/messages.ts';
import { deviceTopic } from '../../lib/protocol/topics.ts';
import {
  connectDevice,
  eventually,
  getJson,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';

/**
 * Exactly-once telemetry end to end: a device whose batch reached the broker, but which lost power
 * before the PUBACK came back, publishes the batch again after the restart — a second Kafka record,
 * with a new offset, that the stream processor must recognise by `(device, seq)`.
 */

interface Window {
  readonly start: number;
  readonly metrics: Record<string, { count: number; sum: number }>;
}

/** `count` readings of the simulated sensors every 10 s from `start` (no seq: the uplink numbers them). */
function readingsFrom(start: number, count: number): Reading[] {
  const random = seededRandom('exactly-once');
  const state = initialSensorState(random);
  return Array.from({ length: count }, (_, i) => {
    const { temperature, humidity, battery } = stepSensors(state, 10, random);
    return { ts: start + i * 10_000, values: { temperature, humidity, battery } };
  });
}

describe('a batch the device publishes again after a power cut', () => {
  let t: TestPlatform;
  let directory: string;

  beforeAll(async () => {
    t = await startTestPlatform();
    directory = await mkdtemp(join(tmpdir(), 'fleetkit-exactly-once-'));
  });
  afterAll(async () => {
    await t.dispose();
    await rm(directory, { recursive: true, force: true });
  });

  it('leaves the aggregates as they were: each reading counted once', async () => {
    // Prepare: 63 readings ending five minutes ago, so the last window (3 readings) stays open
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 16 * 60_000;
    const readings = readingsFrom(start, 64);
    const device = await connectDevice(t.platform, 'once-1', 'sensor');
    const topic = deviceTopic('telemetry', 'sensor', 'once-1');
    const uplinkDir = join(directory, 'once-1');
    // The broker takes the batch; the device dies before the PUBACK arrives.
    const dying = await Uplink.open({
      directory: uplinkDir,
      topic,
      batcher: { maxReadings: 63 },
      transport: {
        publish: async (to, payload) => {
          await device.publishAsync(to, Buffer.from(payload), { qos: 1 });
          await new Promise(() => {});
        },
      },
    });
    dying.start();
    for (const reading of readings.slice(0, 63)) await dying.add(reading);
    await eventually(async () => {
      const { body } = await getJson(t.platform, `/devices/once-1/aggregates?from=${start}&limit=100`);
      return (body.windows as Window[]).length >= 10 ? true : undefined;
    }, 15_000);
    await dying.stop();

    // Act: after the restart the queue sends its unacknowledged head again; then one more reading,
    // a minute on, closes the window the copy would have counted twice
    const restarted = await Uplink.open({
      directory: uplinkDir,
      topic,
      transport: {
        publish: async (to, payload) =>
          void (await device.publishAsync(to, Buffer.from(payload), { qos: 1 })),
      },
    });
    restarted.start();
    await eventually(async () => (restarted.metrics().queue.sentRecords >= 1 ? true : undefined), 15_000);
    await restarted.add({ ...(readings[63] as Reading), ts: start + 11 * 60_000 });
    await restarted.batcher.flush();

    // Assess
    const windows = await eventually(async () => {
      const { body } = await getJson(t.platform, `/devices/once-1/aggregates?from=${start}&limit=100`);
      const all = body.windows as Window[];
      return all.some((w) => w.start === start + 10 * 60_000) ? all : undefined;
    }, 15_000);
    const byMinute = [...windows].sort((a, b) => a.start - b.start);
    expect(byMinute.map((w) => [(w.start - start) / 60_000, w.metrics.temperature?.count])).toEqual(
      Array.from({ length: 11 }, (_, minute) => [minute, minute < 10 ? 6 : 3]),
    );
    // The handler emits its metrics after the writes: wait for the second record's line.
    const records = () => t.platform.metrics.total('TelemetryRecords', { Service: 'stream-processor' });
    await eventually(async () => (records() >= 3 ? true : undefined));
    expect(t.platform.metrics.total('DuplicateReadings')).toBe(63);
    await restarted.stop();
    await device.endAsync();
  });
});
