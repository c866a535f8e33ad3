import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gaussian, seededRandom } from '../../edge/src/sensors/random.ts';
import { initialSensorState, stepSensors } from '../../edge/src/sensors/sensor-model.ts';
import { Uplink } from '../../edge/src/uplink/uplink.ts';
import type { ConsumedRecord } from '../../lib/local/streams/backend.ts';
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
 * The compact uplink end to end on the local platform: a device's edge uplink (batcher, disk queue,
 * sender) publishes encoded batches over MQTT, and the stream processor turns them into the same
 * aggregates and alerts as the same readings sent as JSON.
 */

/** Ten minutes of the simulator's sensors every 10 s, ending two minutes ago, on minute boundaries. */
function tenMinutes(seed: string): Reading[] {
  const random = seededRandom(seed);
  const state = initialSensorState(random);
  const start = Math.floor(Date.now() / 60_000) * 60_000 - 12 * 60_000;
  return Array.from({ length: 60 }, (_, seq) => {
    const { temperature, humidity, pressure, battery, rsrp } = stepSensors(state, 10, random);
    const anomalyScore = Math.round(Math.min(1, Math.abs(gaussian(random)) * 0.2) * 1000) / 1000;
    return {
      ts: start + seq * 10_000,
      seq,
      values: { temperature, humidity, pressure, battery, rsrp, anomalyScore },
    };
  });
}

interface Window {
  readonly start: number;
  readonly metrics: Record<string, { count: number; sum: number; min: number; max: number }>;
}

async function closedWindows(
  t: TestPlatform,
  deviceId: string,
  readings: readonly Reading[],
): Promise<Window[]> {
  const from = (readings[0] as Reading).ts;
  const lastStart = Math.floor((readings.at(-1) as Reading).ts / 60_000) * 60_000;
  const expected = readings.filter((r) => r.ts < lastStart).length;
  return eventually(async () => {
    const { body } = await getJson(
      t.platform,
      `/devices/${deviceId}/aggregates?from=${from}&to=${lastStart}&limit=100`,
    );
    const windows = body.windows as Window[];
    const counted = windows.reduce((n, w) => n + (w.metrics.temperature?.count ?? 0), 0);
    return counted >= expected ? windows : undefined;
  }, 15_000);
}

describe('the edge uplink on the local platform', () => {
  let t: TestPlatform;
  let directory: string;

  beforeAll(async () => {
    t = await startTestPlatform();
    directory = await mkdtemp(join(tmpdir(), 'fleetkit-uplink-e2e-'));
  });
  afterAll(async () => {
    await t.dispose();
    await rm(directory, { recursive: true, force: true });
  });

  it('delivers an encoded batch whose readings show up in the aggregates exactly as their JSON twin’s', async () => {
    // Prepare: two devices with the same readings; one sends them through its edge uplink, one as JSON
    const readings = tenMinutes('uplink-e2e');
    const edge = await connectDevice(t.platform, 'cbor-1', 'sensor');
    const twin = await connectDevice(t.platform, 'json-1', 'sensor');
    const uplink = await Uplink.open({
      directory: join(directory, 'cbor-1'),
      topic: deviceTopic('telemetry', 'sensor', 'cbor-1'),
      transport: {
        publish: async (topic, payload) => {
          await edge.publishAsync(topic, Buffer.from(payload), { qos: 1 });
        },
      },
    });
    uplink.start();

    // Act
    for (const reading of readings) await uplink.add(reading);
    await twin.publishAsync(deviceTopic('telemetry', 'sensor', 'json-1'), JSON.stringify({ readings }), {
      qos: 1,
    });

    // Assess
    const viaUplink = await closedWindows(t, 'cbor-1', readings);
    const viaJson = await closedWindows(t, 'json-1', readings);
    expect(uplink.metrics()).toMatchObject({
      batcher: { batches: 1 },
      queue: { sentRecords: 1, queuedRecords: 0 },
    });
    expect(uplink.metrics().queue.sentBytes).toBeLessThan(readings.length * 8);
    expect(viaUplink.length).toBeGreaterThanOrEqual(9);
    expect(viaUplink.map((w) => [w.start, w.metrics])).toEqual(viaJson.map((w) => [w.start, w.metrics]));
    const first = viaUplink.reduce((a, b) => (a.start < b.start ? a : b));
    const inFirst = readings.filter((r) => r.ts >= first.start && r.ts < first.start + 60_000);
    expect(first.metrics.humidity?.sum).toBeCloseTo(
      inFirst.reduce((n, r) => n + (r.values.humidity as number), 0),
      6,
    );
    await uplink.stop();
    await edge.endAsync();
    await twin.endAsync();
  });

  it('raises an alert from a reading inside an encoded batch', async () => {
    // Prepare
    const readings = tenMinutes('uplink-hot').map((r, i) =>
      i === 30 ? { ...r, values: { ...r.values, temperature: 75.5 } } : r,
    );
    const device = await connectDevice(t.platform, 'cbor-hot', 'sensor');
    const uplink = await Uplink.open({
      directory: join(directory, 'cbor-hot'),
      topic: deviceTopic('telemetry', 'sensor', 'cbor-hot'),
      transport: {
        publish: async (topic, payload) =>
          void (await device.publishAsync(topic, Buffer.from(payload), { qos: 1 })),
      },
    });
    uplink.start();

    // Act
    for (const reading of readings) await uplink.add(reading);

    // Assess
    const alert = await eventually(async () => {
      const { body } = await getJson(t.platform, '/alerts?deviceId=cbor-hot');
      return body.alerts.find(
        (a: { type: string; state: string }) => a.type === 'HIGH_TEMPERATURE' && a.state === 'raised',
      );
    }, 15_000);
    expect(alert).toMatchObject({ deviceId: 'cbor-hot', value: 75.5, at: readings[30]?.ts });
    await uplink.stop();
    await device.endAsync();
  });

  it('counts a batch once when the device publishes it again after a power cut (a new record)', async () => {
    // Prepare: the broker takes the batch, the device dies before the PUBACK arrives. Its ten minutes
    // close nine windows and leave the tenth open, where a copy would count twice.
    const readings = tenMinutes('uplink-once').map(({ seq: _seq, ...r }) => r);
    const device = await connectDevice(t.platform, 'cbor-once', 'sensor');
    const topic = deviceTopic('telemetry', 'sensor', 'cbor-once');
    const send = async (to: string, payload: Uint8Array) =>
      void (await device.publishAsync(to, Buffer.from(payload), { qos: 1 }));
    const open = (publish: (to: string, payload: Uint8Array) => Promise<void>) =>
      Uplink.open({ directory: join(directory, 'cbor-once'), topic, transport: { publish } });
    const dying = await open(async (to, payload) => {
      await send(to, payload);
      await new Promise(() => {});
    });
    dying.start();
    for (const reading of readings) await dying.add(reading);
    await closedWindows(t, 'cbor-once', readings);
    await dying.stop();

    // Act: after the restart the queue sends its unacknowledged head again; a reading a minute on
    // then closes the tenth window
    const restarted = await open(send);
    restarted.start();
    await eventually(async () => (restarted.metrics().queue.sentRecords >= 1 ? true : undefined), 15_000);
    const tenth = (readings[0] as Reading).ts + 9 * 60_000;
    await restarted.add({ ...(readings[0] as Reading), ts: tenth + 60_000 });
    await restarted.batcher.flush();

    // Assess
    const windows = await closedWindows(t, 'cbor-once', [...readings, { ts: tenth + 60_000, values: {} }]);
    expect(windows.find((w) => w.start === tenth)?.metrics.temperature?.count).toBe(6);
    expect(windows.reduce((n, w) => n + (w.metrics.temperature?.count ?? 0), 0)).toBe(60);
    // The handler emits its metrics after its writes.
    const duplicates = () => t.platform.metrics.total('DuplicateReadings');
    expect(await eventually(async () => (duplicates() > 0 ? duplicates() : undefined))).toBe(60);
    await restarted.stop();
    await device.endAsync();
  });

  it('dead-letters a damaged batch with the decoder’s reason, and keeps going', async () => {
    // Prepare
    const dead: ConsumedRecord[] = [];
    await t.platform.streams.backend.consume({
      group: 'test-uplink-dlq',
      topic: 'telemetry-dlq',
      maxBatch: 100,
      maxWaitMs: 10,
      fromBeginning: true,
      onBatch: async (records) => {
        dead.push(...records);
      },
    });
    const device: MqttClient = await connectDevice(t.platform, 'cbor-bad', 'sensor');
    const topic = deviceTopic('telemetry', 'sensor', 'cbor-bad');

    // Act: another version, then a good JSON reading
    await device.publishAsync(topic, Buffer.from([0xd9, 0xd9, 0xf7, 0x82, 0x07, 0x00]), { qos: 1 });
    await device.publishAsync(topic, JSON.stringify({ ts: Date.now(), values: { temperature: 21 } }), {
      qos: 1,
    });

    // Assess
    const reasons = await eventually(async () => {
      const mine = dead.filter((r) => r.key?.toString() === 'cbor-bad');
      return mine.length >= 1 ? mine.map((r) => r.headers.reason?.toString()) : undefined;
    }, 15_000);
    expect(reasons).toEqual([expect.stringMatching(/uplink batch: unsupported version 7/)]);
    await eventually(async () =>
      (await getJson(t.platform, '/devices/cbor-bad')).status === 200 ? true : undefined,
    );
    await device.endAsync();
  });
});
