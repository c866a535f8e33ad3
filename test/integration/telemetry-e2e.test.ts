import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsumedRecord } from '../../lib/local/streams/backend.ts';
import { deviceTopic } from '../../lib/protocol/topics.ts';
import {
  connectDevice,
  eventually,
  getJson,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';
import { signedFetch } from '../support/signing.ts';

async function publishTelemetry(device: MqttClient, type: string, id: string, body: unknown): Promise<void> {
  await device.publishAsync(deviceTopic('telemetry', type, id), JSON.stringify(body), { qos: 1 });
}

/** Waits for the device's HIGH_TEMPERATURE alert on `GET /alerts`. */
function highTemperatureAlert(t: TestPlatform, deviceId: string, timeoutMs?: number) {
  return eventually(async () => {
    const { body } = await getJson(t.platform, `/alerts?deviceId=${deviceId}`);
    return body.alerts.find((a: { type: string }) => a.type === 'HIGH_TEMPERATURE');
  }, timeoutMs);
}

async function putRule(t: TestPlatform, id: string, rule: Record<string, unknown>): Promise<void> {
  const response = await signedFetch(t.platform, `/telemetry/rules/${id}`, {
    method: 'PUT',
    body: JSON.stringify(rule),
  });
  expect(response.status).toBe(200);
}

describe('telemetry pipeline on the local platform', () => {
  let t: TestPlatform;
  const fleetAlerts: ConsumedRecord[] = [];

  beforeAll(async () => {
    t = await startTestPlatform();
    // A heartbeat short enough for a test (1 s expected, 2 missed), for one device type only. Rules are
    // data, changed over HTTP.
    await putRule(t, 'heartbeat-sleepy', {
      kind: 'heartbeat',
      deviceType: 'sleepy',
      alert: 'HEARTBEAT_LOST',
      severity: 'critical',
      expectedIntervalSeconds: 1,
      missedIntervals: 2,
    });
    await t.platform.streams.backend.consume({
      group: 'test-fleet-alerts',
      topic: 'fleet-alerts',
      maxBatch: 100,
      maxWaitMs: 10,
      fromBeginning: true,
      onBatch: async (records) => {
        fleetAlerts.push(...records);
      },
    });
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('turns an overheating device into a HIGH_TEMPERATURE alert on GET /alerts and on fleet-alerts', async () => {
    // Prepare
    const device = await connectDevice(t.platform, 'oven-1', 'tracker');

    // Act
    await publishTelemetry(device, 'tracker', 'oven-1', { ts: Date.now(), values: { temperature: 22 } });
    await publishTelemetry(device, 'tracker', 'oven-1', {
      ts: Date.now() + 1,
      values: { temperature: 75.5 },
    });

    // Assess
    const alert = await highTemperatureAlert(t, 'oven-1');
    expect(alert).toMatchObject({
      deviceId: 'oven-1',
      state: 'raised',
      severity: 'critical',
      value: 75.5,
      threshold: 50,
    });
    const onStream = await eventually(async () =>
      fleetAlerts.map((r) => JSON.parse(r.value?.toString() ?? '{}')).find((a) => a.id === alert.id),
    );
    expect(onStream).toMatchObject({ type: 'HIGH_TEMPERATURE', deviceId: 'oven-1' });
    expect(
      fleetAlerts.find((r) => JSON.parse(r.value?.toString() ?? '{}').id === alert.id)?.key?.toString(),
    ).toBe('oven-1');
    await device.endAsync();
  });

  it('raises HEARTBEAT_LOST for a device that goes silent, takes it offline, and the health figures move', async () => {
    // Prepare
    const device = await connectDevice(t.platform, 'quiet-1', 'sleepy');
    await publishTelemetry(device, 'sleepy', 'quiet-1', {
      ts: Date.now(),
      values: { temperature: 20, battery: 9 },
    });
    await eventually(async () =>
      (await getJson(t.platform, '/devices/quiet-1')).status === 200 ? true : undefined,
    );
    const before = (await getJson(t.platform, '/fleet/health')).body;

    // Act: silence longer than 2 × 1 s, then the scheduled sweep
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await t.platform.scheduler.fire('fleetSweeper');

    // Assess
    const { body } = await getJson(t.platform, '/alerts?deviceId=quiet-1');
    expect(body.alerts).toContainEqual(expect.objectContaining({ type: 'HEARTBEAT_LOST', state: 'raised' }));
    expect((await getJson(t.platform, '/devices/quiet-1')).body.online).toBe(false);
    const after = (await getJson(t.platform, '/fleet/health')).body;
    expect(before.lowBattery).toBeGreaterThanOrEqual(1);
    expect(after.online).toBe(before.online - 1);
    expect(after.devices).toBe(before.devices);

    // Act: it speaks again
    await publishTelemetry(device, 'sleepy', 'quiet-1', {
      ts: Date.now(),
      values: { temperature: 20, battery: 9 },
    });

    // Assess: back online, heartbeat alert cleared
    await eventually(async () =>
      (await getJson(t.platform, '/devices/quiet-1')).body.online === true ? true : undefined,
    );
    const cleared = await eventually(async () => {
      const { body: alerts } = await getJson(t.platform, '/alerts?deviceId=quiet-1');
      return alerts.alerts.find(
        (a: { type: string; state: string }) => a.type === 'HEARTBEAT_LOST' && a.state === 'cleared',
      );
    });
    expect(cleared).toBeDefined();
    expect((await getJson(t.platform, '/fleet/health')).body.online).toBe(before.online);
    await device.endAsync();
  });

  it('sends a record that is not telemetry to the dead-letter stream with its reason, and keeps going', async () => {
    // Prepare
    const dead: ConsumedRecord[] = [];
    await t.platform.streams.backend.consume({
      group: 'test-dlq',
      topic: 'telemetry-dlq',
      maxBatch: 100,
      maxWaitMs: 10,
      fromBeginning: true,
      onBatch: async (records) => {
        dead.push(...records);
      },
    });
    const device = await connectDevice(t.platform, 'broken-1', 'tracker');

    // Act
    await device.publishAsync(deviceTopic('telemetry', 'tracker', 'broken-1'), '{"values":', { qos: 1 });
    await publishTelemetry(device, 'tracker', 'broken-1', {
      ts: Date.now(),
      values: { temperature: 'warm' },
    });
    await publishTelemetry(device, 'tracker', 'broken-1', { ts: Date.now(), values: { temperature: 21 } });

    // Assess
    const reasons = await eventually(async () => {
      const mine = dead.filter((r) => r.key?.toString() === 'broken-1');
      return mine.length >= 2 ? mine.map((r) => r.headers.reason?.toString()) : undefined;
    });
    expect(reasons).toEqual([expect.stringMatching(/JSON/), expect.stringMatching(/values\.temperature/)]);
    await eventually(async () =>
      (await getJson(t.platform, '/devices/broken-1')).status === 200 ? true : undefined,
    );
    await device.endAsync();
  });
});

describe('telemetry across a restart of the local platform', () => {
  it('loses no record and counts none twice in the 1-minute aggregates', async () => {
    // Prepare: 200 readings, 1.5 s apart in device time, so windows close as later readings arrive
    const t = await startTestPlatform();
    const start = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000;
    const readings = Array.from({ length: 200 }, (_, i) => ({
      ts: start + i * 1_500,
      values: { temperature: 20 + (i % 7) },
    }));
    let device = await connectDevice(t.platform, 'steady-1', 'tracker');

    // Act: half, restart while the processor is still at it, the other half
    for (const reading of readings.slice(0, 100))
      await publishTelemetry(device, 'tracker', 'steady-1', reading);
    await device.endAsync();
    await t.restart();
    device = await connectDevice(t.platform, 'steady-1', 'tracker');
    for (const reading of readings.slice(100)) await publishTelemetry(device, 'tracker', 'steady-1', reading);

    // Assess: every reading before the last (still open) window is counted exactly once
    const lastWindowStart = Math.floor((readings.at(-1)?.ts ?? 0) / 60_000) * 60_000;
    const expected = readings.filter((r) => r.ts < lastWindowStart);
    const windows = await eventually(async () => {
      const { body } = await getJson(
        t.platform,
        `/devices/steady-1/aggregates?from=${start}&to=${lastWindowStart}&limit=100`,
      );
      const counted = body.windows.reduce(
        (n: number, w: { metrics: { temperature: { count: number } } }) => n + w.metrics.temperature.count,
        0,
      );
      return counted >= expected.length ? body.windows : undefined;
    }, 15_000);
    const counted = windows.reduce(
      (n: number, w: { metrics: { temperature: { count: number } } }) => n + w.metrics.temperature.count,
      0,
    );
    expect(counted).toBe(expected.length);
    const sum = windows.reduce(
      (n: number, w: { metrics: { temperature: { sum: number } } }) => n + w.metrics.temperature.sum,
      0,
    );
    expect(sum).toBe(expected.reduce((n, r) => n + r.values.temperature, 0));
    await device.endAsync();

    // Act again: forget the processor's committed offsets, as a crash between its state write and the
    // offset commit would, so every record is delivered a second time.
    const group = Buffer.from('fleetkit-local-streamProcessor-iot-telemetry').toString('base64url');
    await t.restart(() =>
      rm(join(t.dataDir, 'streams', 'topics', 'iot-telemetry', 'groups', `${group}.json`)),
    );
    await eventually(
      async () =>
        t.platform.metrics.total('TelemetryRecords', { Service: 'stream-processor' }) >= 200
          ? true
          : undefined,
      15_000,
    );

    // Assess: all 200 came again, were recognised as applied, and the aggregates did not move
    expect(t.platform.metrics.total('SkippedRecords', { Service: 'stream-processor' })).toBe(200);
    const { body: again } = await getJson(
      t.platform,
      `/devices/steady-1/aggregates?from=${start}&to=${lastWindowStart}&limit=100`,
    );
    expect(again.windows).toEqual(windows);
    await t.dispose();
  });
});

describe('telemetry after its topic is made anew, with the data directory kept', () => {
  it('raises the alert of the next overheating reading, and warns that the log started over', async () => {
    // Prepare: readings of a device applied from the topic as it first was, its offsets stored
    const t = await startTestPlatform();
    let device = await connectDevice(t.platform, 'kiln-1', 'tracker');
    for (let i = 0; i < 5; i++) {
      await publishTelemetry(device, 'tracker', 'kiln-1', {
        ts: Date.now() + i,
        values: { temperature: 21 },
      });
    }
    await eventually(async () =>
      t.platform.metrics.total('TelemetryRecords', { Service: 'stream-processor' }) >= 5 ? true : undefined,
    );
    await device.endAsync();

    // Act: the topic deleted and created again (its offsets start from 0; device states are kept),
    // then a reading of 88.8 °C
    await t.restart(() =>
      rm(join(t.dataDir, 'streams', 'topics', 'iot-telemetry'), { recursive: true, force: true }),
    );
    device = await connectDevice(t.platform, 'kiln-1', 'tracker');
    await publishTelemetry(device, 'tracker', 'kiln-1', {
      ts: Date.now() + 10,
      values: { temperature: 88.8 },
    });

    // Assess
    const alert = await highTemperatureAlert(t, 'kiln-1', 15_000);
    expect(alert).toMatchObject({ state: 'raised', value: 88.8 });
    // The processor logs the warning once its batch is done, which may be after the alert is stored.
    const warning = await eventually(async () =>
      t.lines
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find(
          (line) =>
            line.message === 'topic log started over: offsets stored for its devices were of an earlier log',
        ),
    );
    expect(warning).toMatchObject({
      level: 'warn',
      service: 'stream-processor',
      devices: 1,
      example: { deviceId: 'kiln-1', offset: '0' },
    });
    expect(warning?.log).not.toBe(warning?.previousLog);
    await device.endAsync();
    await t.dispose();
  });
});
