import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPki } from '../../lib/local/pki.ts';
import { deviceTopic } from '../../lib/protocol/topics.ts';
import {
  connectDevice,
  eventually,
  getJson,
  startTestPlatform,
  type TestPlatform,
} from '../support/platform.ts';
import { signedFetch } from '../support/signing.ts';

/** Connects once; with TLS 1.3 a refused client certificate shows as a close after the handshake, not an error. */
async function tryConnect(url: string, options: IClientOptions): Promise<'connected' | 'refused'> {
  const client = mqtt.connect(url, {
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 3_000,
    ...options,
  });
  const outcome = await new Promise<'connected' | 'refused'>((resolve) => {
    client.once('connect', () => resolve('connected'));
    client.once('error', () => resolve('refused'));
    client.once('close', () => resolve('refused'));
  });
  client.end(true);
  return outcome;
}

const goodStatus = (firmwareVersion = '1.2.3') => ({
  ts: Date.now(),
  firmwareVersion,
  battery: { percent: 87, voltage: 3.9 },
  signal: { rsrp: -97, rsrq: -11.5, rat: 'NB-IoT' },
  uptimeSeconds: 120,
});

describe('local platform', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform();
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('answers GET /health with 200', async () => {
    const { status, body } = await getJson(t.platform, '/health');

    expect(status).toBe(200);
    expect(body).toEqual({ status: 'ok' });
  });

  it('shows a device in GET /devices after it publishes status over mutual TLS', async () => {
    // Prepare
    const device = await connectDevice(t.platform, 'dev-status-1', 'tracker');

    // Act
    await device.publishAsync(
      deviceTopic('status', 'tracker', 'dev-status-1'),
      JSON.stringify(goodStatus()),
      { qos: 1 },
    );

    // Assess
    const listed = await eventually(async () => {
      const { body } = await getJson(t.platform, '/devices');
      return body.devices.find((d: { deviceId: string }) => d.deviceId === 'dev-status-1');
    });
    expect(listed).toMatchObject({
      deviceId: 'dev-status-1',
      deviceType: 'tracker',
      firmwareVersion: '1.2.3',
      battery: { percent: 87, voltage: 3.9 },
      signal: { rsrp: -97, rsrq: -11.5, rat: 'NB-IoT' },
    });
    expect(Date.parse(listed.lastSeen)).toBeGreaterThan(Date.now() - 60_000);
    const one = await getJson(t.platform, '/devices/dev-status-1');
    expect(one.status).toBe(200);
    expect(one.body.deviceId).toBe('dev-status-1');
    await device.endAsync();
  });

  it('sets groups (replaced) and attributes (merged, null removes) with PATCH /devices/{id}, keeping what the device reported', async () => {
    // Prepare
    const device = await connectDevice(t.platform, 'dev-patch-1', 'tracker');
    await device.publishAsync(deviceTopic('status', 'tracker', 'dev-patch-1'), JSON.stringify(goodStatus()), {
      qos: 1,
    });
    await eventually(async () =>
      (await getJson(t.platform, '/devices/dev-patch-1')).status === 200 ? true : undefined,
    );
    const patch = (body: unknown) =>
      signedFetch(t.platform, '/devices/dev-patch-1', { method: 'PATCH', body: JSON.stringify(body) });

    // Act
    await patch({ groups: ['eu-west', 'pilot'], attributes: { hwRevision: 'C', site: 'depot-4' } });
    const second = await patch({ groups: ['eu-west'], attributes: { site: null, owner: 'ops' } });
    const refused = await patch({ groups: ['bad group!'] });
    const missing = await signedFetch(t.platform, '/devices/nobody', {
      method: 'PATCH',
      body: JSON.stringify({ groups: ['x'] }),
    });

    // Assess
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({
      deviceId: 'dev-patch-1',
      firmwareVersion: '1.2.3',
      groups: ['eu-west'],
      attributes: { hwRevision: 'C', owner: 'ops' },
    });
    const { body } = await getJson(t.platform, '/devices/dev-patch-1');
    expect(body.attributes).toEqual({ hwRevision: 'C', owner: 'ops' });
    expect(refused.status).toBe(400);
    expect(missing.status).toBe(404);
    await device.endAsync();
  });

  it('filters GET /devices by type through the type index', async () => {
    const a = await connectDevice(t.platform, 'dev-type-a', 'meter');
    await a.publishAsync(deviceTopic('status', 'meter', 'dev-type-a'), JSON.stringify(goodStatus()), {
      qos: 1,
    });
    await t.platform.rules.idle();
    await eventually(async () =>
      (await getJson(t.platform, '/devices/dev-type-a')).status === 200 ? true : undefined,
    );

    const { body } = await getJson(t.platform, '/devices?type=meter');

    expect(body.devices.map((d: { deviceId: string }) => d.deviceId)).toEqual(['dev-type-a']);
    await a.endAsync();
  });

  it('refuses a publish to another device’s topic and disconnects the publisher, as IoT Core does', async () => {
    // Prepare
    const intruder = await connectDevice(t.platform, 'dev-a', 'tracker');
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));

    // Act
    intruder.publish(deviceTopic('status', 'tracker', 'dev-b'), JSON.stringify(goodStatus()), { qos: 1 });

    // Assess
    await closed;
    await t.platform.rules.idle();
    expect((await getJson(t.platform, '/devices/dev-b')).status).toBe(404);
    expect(t.platform.denials).toContainEqual(
      expect.objectContaining({
        clientId: 'dev-a',
        action: 'Publish',
        resource: 'devices/tracker/dev-b/status',
      }),
    );
    intruder.end(true);
  });

  it('answers SUBACK 0x80 to a subscription on another device’s topics, and grants its own', async () => {
    const device = await connectDevice(t.platform, 'dev-c', 'tracker');

    const suback = new Promise<number[]>((resolve) =>
      device.on('packetreceive', (packet) => {
        if (packet.cmd === 'suback') resolve(packet.granted as number[]);
      }),
    );

    device.subscribe(
      [
        'devices/tracker/dev-d/commands',
        'devices/+/dev-c/commands',
        'fleet/things/dev-d/shadow/#',
        'devices/tracker/dev-c/commands',
        'fleet/things/dev-c/shadow/#',
      ],
      () => {},
    );

    expect(await suback).toEqual([128, 128, 128, 0, 0]);
    await device.endAsync();
  });

  it('delivers its own commands to a device and not another device’s', async () => {
    // Prepare
    const own = await connectDevice(t.platform, 'dev-e', 'tracker');
    await own.subscribeAsync('devices/tracker/dev-e/commands', { qos: 1 });
    const received: string[] = [];
    own.on('message', (topic) => received.push(topic));

    // Act
    await t.platform.broker.publish('devices/tracker/dev-f/commands', '{"x":1}');
    await t.platform.broker.publish('devices/tracker/dev-e/commands', '{"x":2}');

    // Assess
    await eventually(async () => (received.length > 0 ? true : undefined));
    expect(received).toEqual(['devices/tracker/dev-e/commands']);
    await own.endAsync();
  });

  it('accepts a client with a certificate the local CA issued (control for the refusals below)', async () => {
    const own = await t.platform.deviceCredentials('dev-ok', 'tracker');

    const outcome = await tryConnect(t.platform.mqttUrl, {
      clientId: 'dev-ok',
      key: own.keyPem,
      cert: own.certPem,
      ca: t.platform.pki.caPem,
    });

    expect(outcome).toBe('connected');
  });

  it('refuses a client without a certificate', async () => {
    const outcome = await tryConnect(t.platform.mqttUrl, {
      clientId: 'dev-nocert',
      ca: t.platform.pki.caPem,
    });

    expect(outcome).toBe('refused');
  });

  it('refuses a client whose certificate another CA issued', async () => {
    // Prepare
    const otherDir = await mkdtemp(join(tmpdir(), 'fleetkit-other-ca-'));
    const foreign = await (await LocalPki.open(otherDir)).deviceCredentials('dev-g', 'tracker');

    // Act
    const outcome = await tryConnect(t.platform.mqttUrl, {
      clientId: 'dev-g',
      key: foreign.keyPem,
      cert: foreign.certPem,
      ca: t.platform.pki.caPem,
    });

    // Assess
    expect(outcome).toBe('refused');
    await rm(otherDir, { recursive: true, force: true });
  });

  it('refuses a device that connects under another thing’s client id (CONNACK 5)', async () => {
    const attempt = connectDevice(t.platform, 'dev-h', 'tracker', { clientId: 'dev-i' });

    await expect(attempt).rejects.toThrow(/Not authorized/i);
  });

  it.each([
    ['not JSON', 'firmware=1.0', /not valid JSON/],
    ['not UTF-8', Buffer.from([0xff, 0xfe, 0x00]), /not valid UTF-8/],
    [
      'a schema violation',
      JSON.stringify({ firmwareVersion: '1.0.0', battery: { percent: 140 } }),
      /battery\.percent/,
    ],
    ['missing firmware', JSON.stringify({ battery: { percent: 40 } }), /firmwareVersion/],
    ['a JSON array', '[1,2,3]', /\(root\)/],
  ])(
    'rejects a status message that is %s: logs the reason, counts it, leaves the registry unchanged',
    async (_name, payload, reason) => {
      // Prepare
      const device = await connectDevice(t.platform, 'dev-bad', 'tracker');
      await device.publishAsync(
        deviceTopic('status', 'tracker', 'dev-bad'),
        JSON.stringify(goodStatus('2.0.0')),
        { qos: 1 },
      );
      await t.platform.rules.idle();
      const before = (await getJson(t.platform, '/devices/dev-bad')).body;
      const rejectedBefore = t.platform.metrics.total('RejectedMessages', { Service: 'ingest-status' });
      const linesBefore = t.lines.length;

      // Act
      await device.publishAsync(deviceTopic('status', 'tracker', 'dev-bad'), payload, { qos: 1 });
      await eventually(async () =>
        t.platform.metrics.total('RejectedMessages', { Service: 'ingest-status' }) > rejectedBefore
          ? true
          : undefined,
      );

      // Assess
      expect(t.platform.metrics.total('RejectedMessages', { Service: 'ingest-status' })).toBe(
        rejectedBefore + 1,
      );
      const logged = t.lines
        .slice(linesBefore)
        .map((l) => JSON.parse(l))
        .find((l) => l.message === 'status message rejected');
      expect(logged).toMatchObject({ level: 'warn', deviceId: 'dev-bad', service: 'ingest-status' });
      expect(logged.reason).toMatch(reason);
      expect((await getJson(t.platform, '/devices/dev-bad')).body).toEqual(before);
      await device.endAsync();
    },
  );

  it('answers an unknown route with 404 and a JSON error body', async () => {
    const { status, body } = await getJson(t.platform, '/no/such/route');

    expect(status).toBe(404);
    expect(body).toMatchObject({ code: 'NotFound' });
    expect(body.message).toContain('GET /devices');
  });

  it('answers 404 with a JSON body for a device that does not exist, 400 for an invalid id or query', async () => {
    const missing = await getJson(t.platform, '/devices/nobody');
    const badId = await getJson(t.platform, `/devices/${encodeURIComponent('a b')}`);
    const badLimit = await getJson(t.platform, '/devices?limit=0');
    const badToken = await getJson(t.platform, '/devices?nextToken=garbage');

    expect([missing.status, missing.body.code]).toEqual([404, 'NotFound']);
    expect([badId.status, badId.body.code]).toEqual([400, 'ValidationError']);
    expect(badLimit.body.issues).toEqual([expect.objectContaining({ field: 'limit' })]);
    expect([badToken.status, badToken.body.code]).toEqual([400, 'InvalidToken']);
  });
});

describe('local platform restart', () => {
  it('keeps devices, their certificates and the registry across a restart', async () => {
    // Prepare
    const t = await startTestPlatform();
    const device = await connectDevice(t.platform, 'dev-persist', 'tracker');
    await device.publishAsync(deviceTopic('status', 'tracker', 'dev-persist'), JSON.stringify(goodStatus()), {
      qos: 1,
    });
    await eventually(async () =>
      (await getJson(t.platform, '/devices/dev-persist')).status === 200 ? true : undefined,
    );
    await device.endAsync();
    const certBefore = (await t.platform.deviceCredentials('dev-persist', 'tracker')).certPem;

    // Act
    await t.restart();

    // Assess
    const after = await getJson(t.platform, '/devices/dev-persist');
    expect(after.status).toBe(200);
    expect(after.body.firmwareVersion).toBe('1.2.3');
    expect((await t.platform.deviceCredentials('dev-persist', 'tracker')).certPem).toBe(certBefore);
    const again = await connectDevice(t.platform, 'dev-persist', 'tracker');
    expect(again.connected).toBe(true);
    await again.endAsync();
    await t.dispose();
  });

  it('starts simulated devices that appear in GET /devices with the TLS version they negotiated', async () => {
    const t = await startTestPlatform({ devices: 2 });

    const devices = await eventually(async () => {
      const { body } = await getJson(t.platform, '/devices');
      // The status message carries the TLS version; telemetry alone does not.
      const reported = (body.devices as Array<{ deviceId: string; tlsVersion?: string }>)
        .filter((d) => d.tlsVersion !== undefined)
        .map((d) => `${d.deviceId} ${d.tlsVersion}`)
        .sort();
      return reported.length === 2 ? reported : undefined;
    });

    expect(devices).toEqual(['sim-0001 TLSv1.3', 'sim-0002 TLSv1.3']);
    await t.dispose();
  });
});
