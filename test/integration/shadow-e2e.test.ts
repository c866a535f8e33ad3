import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, eventually, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { signedFetch } from '../support/signing.ts';

/** Collects what a device hears on its shadow topics. */
function inbox(client: MqttClient): Array<{ topic: string; body: Record<string, unknown> }> {
  const messages: Array<{ topic: string; body: Record<string, unknown> }> = [];
  client.on('message', (topic, payload) => {
    messages.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> });
  });
  return messages;
}

async function http(t: TestPlatform, method: string, path: string, body?: unknown) {
  const response = await signedFetch(t.platform, path, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('device shadow on the local platform', () => {
  let t: TestPlatform;
  let device: MqttClient;
  let heard: Array<{ topic: string; body: Record<string, unknown> }>;

  beforeAll(async () => {
    t = await startTestPlatform();
    device = await connectDevice(t.platform, 'lamp-7', 'lamp');
    await device.subscribeAsync('fleet/things/lamp-7/shadow/#', { qos: 1 });
    heard = inbox(device);
  });
  afterAll(async () => {
    await device.endAsync();
    await t.dispose();
  });

  it('a device reports, a service sets desired over HTTP, the device receives exactly the delta', async () => {
    // Prepare: the device reports its state over MQTT
    await device.publishAsync(
      'fleet/things/lamp-7/shadow/update',
      JSON.stringify({
        state: { reported: { color: 'red', brightness: 40, schedule: { on: '07:00' } } },
        clientToken: 'r1',
      }),
      { qos: 1 },
    );
    await eventually(async () => heard.find((m) => m.topic.endsWith('/update/accepted')));

    // Act: a cloud app asks for a new color and the same brightness over HTTP
    const response = await http(t, 'POST', '/things/lamp-7/shadow', {
      state: { desired: { color: 'green', brightness: 40, schedule: { on: '07:00', off: '23:00' } } },
    });

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ version: 2, state: { desired: { color: 'green' } } });
    const delta = await eventually(async () =>
      heard.find((m) => m.topic === 'fleet/things/lamp-7/shadow/update/delta'),
    );
    expect(delta.body.state).toEqual({ color: 'green', schedule: { off: '23:00' } });
    expect(delta.body.version).toBe(2);
    expect(delta.body.metadata).toEqual({
      color: { timestamp: expect.any(Number) },
      schedule: { off: { timestamp: expect.any(Number) } },
    });
    const accepted = heard.find((m) => m.topic.endsWith('/update/accepted'));
    expect(accepted?.body).toMatchObject({ version: 1, clientToken: 'r1' });
    // An HTTP update is answered over HTTP, not on the device's accepted topic.
    expect(heard.filter((m) => m.topic.endsWith('/update/accepted'))).toHaveLength(1);
  });

  it('the device applies the delta, the delta empties, and GET over MQTT and HTTP agree', async () => {
    // Act
    await device.publishAsync(
      'fleet/things/lamp-7/shadow/update',
      JSON.stringify({ state: { reported: { color: 'green', schedule: { off: '23:00' } } } }),
      { qos: 1 },
    );
    await eventually(async () =>
      heard.filter((m) => m.topic.endsWith('/update/accepted')).length === 2 ? true : undefined,
    );
    await device.publishAsync('fleet/things/lamp-7/shadow/get', JSON.stringify({ clientToken: 'g1' }), {
      qos: 1,
    });
    const viaMqtt = await eventually(async () => heard.find((m) => m.topic.endsWith('/get/accepted')));
    const viaHttp = await http(t, 'GET', '/things/lamp-7/shadow');

    // Assess
    expect(viaMqtt.body).toMatchObject({ version: 3, clientToken: 'g1' });
    expect(viaMqtt.body.state).not.toHaveProperty('delta');
    expect(viaHttp.body.state).toEqual(viaMqtt.body.state);
    const pending = await http(t, 'GET', '/shadows?pending=true');
    expect(pending.body.shadows).toEqual([]);
  });

  it('answers a malformed request on /rejected with AWS’s code and message', async () => {
    await device.publishAsync('fleet/things/lamp-7/shadow/update', '{"state": 5, "clientToken": "bad-1"}', {
      qos: 1,
    });

    const rejected = await eventually(async () => heard.find((m) => m.topic.endsWith('/update/rejected')));

    expect(rejected.body).toEqual({
      code: 400,
      message: 'State node must be an object',
      clientToken: 'bad-1',
    });
  });

  it('serves named shadows on their own topics and the HTTP ?name= form', async () => {
    await device.publishAsync(
      'fleet/things/lamp-7/shadow/name/firmware/update',
      JSON.stringify({ state: { reported: { version: '1.0.0' } } }),
      { qos: 1 },
    );
    await eventually(async () =>
      heard.find((m) => m.topic === 'fleet/things/lamp-7/shadow/name/firmware/update/accepted'),
    );

    const named = await http(t, 'GET', '/things/lamp-7/shadow?name=firmware');
    const missing = await http(t, 'GET', '/things/lamp-7/shadow?name=nothing-here');

    expect(named.body).toMatchObject({ state: { reported: { version: '1.0.0' } }, version: 1 });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(missing.body).toEqual({ code: 404, message: "No shadow exists with name: 'nothing-here'" });
  });

  it('lists a shadow whose desired state is not reached yet in GET /shadows?pending=true', async () => {
    await http(t, 'POST', '/things/lamp-7/shadow?name=firmware', {
      state: { desired: { version: '1.1.0' } },
    });
    await http(t, 'POST', '/things/lamp-8/shadow?name=firmware', {
      state: { desired: { version: '1.1.0' }, reported: { version: '1.1.0' } },
    });

    const pending = await http(t, 'GET', '/shadows?pending=true&name=firmware');

    expect(pending.body.shadows).toEqual([
      expect.objectContaining({ thingName: 'lamp-7', shadowName: 'firmware', version: 2 }),
    ]);
  });

  it('returns AWS’s error documents over HTTP with the status code and exception name', async () => {
    const conflict = await http(t, 'POST', '/things/lamp-7/shadow', {
      state: { desired: { x: 1 } },
      version: 1,
    });
    const invalid = await http(t, 'POST', '/things/lamp-7/shadow', 'nope');
    const big = await http(t, 'POST', '/things/lamp-7/shadow', {
      state: { desired: { blob: 'x'.repeat(9000) } },
    });

    expect([conflict.status, conflict.headers.get('x-amzn-errortype'), conflict.body.message]).toEqual([
      409,
      'ConflictException',
      'Version conflict',
    ]);
    expect([invalid.status, invalid.body.message]).toEqual([400, 'Invalid JSON']);
    expect([big.status, big.headers.get('x-amzn-errortype')]).toEqual([
      413,
      'RequestEntityTooLargeException',
    ]);
  });

  it('does not let a device touch another thing’s shadow', async () => {
    const other = await connectDevice(t.platform, 'lamp-9', 'lamp');
    const closed = new Promise<void>((resolve) => other.once('close', () => resolve()));

    other.publish(
      'fleet/things/lamp-7/shadow/update',
      JSON.stringify({ state: { desired: { color: 'black' } } }),
      { qos: 1 },
    );

    await closed;
    await t.platform.rules.idle();
    const shadow = await http(t, 'GET', '/things/lamp-7/shadow');
    expect((shadow.body.state as { desired: { color: string } }).desired.color).toBe('green');
    other.end(true);
  });
});

describe('shadow limits raised for a deployment', () => {
  it('accepts a 20 KB shadow when SHADOW_MAX_STATE_BYTES allows it', async () => {
    const t = await startTestPlatform({ settings: { SHADOW_MAX_STATE_BYTES: '32768' } });

    const response = await signedFetch(t.platform, '/things/big-1/shadow', {
      method: 'POST',
      body: JSON.stringify({ state: { reported: { blob: 'x'.repeat(20_000) } } }),
    });

    expect(response.status).toBe(200);
    await t.dispose();
  });
});

describe('ListNamedShadowsForThing', () => {
  it('lists the named shadows that exist, not the classic or deleted ones, page by page', async () => {
    // Prepare
    const t = await startTestPlatform();
    const post = (path: string, body: unknown) =>
      signedFetch(t.platform, path, { method: 'POST', body: JSON.stringify(body) });
    await post('/things/multi/shadow', { state: { reported: { a: 1 } } });
    for (const name of ['alpha', 'beta', 'gamma', 'delta'])
      await post(`/things/multi/shadow?name=${name}`, { state: { reported: { a: 1 } } });
    await signedFetch(t.platform, '/things/multi/shadow?name=beta', { method: 'DELETE' });

    // Act
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const query = new URLSearchParams({ pageSize: '2', ...(nextToken ? { nextToken } : {}) });
      const response = await signedFetch(
        t.platform,
        `/api/things/shadow/ListNamedShadowsForThing/multi?${query}`,
      );
      const body = (await response.json()) as { results: string[]; nextToken?: string; timestamp: number };
      names.push(...body.results);
      nextToken = body.nextToken;
    } while (nextToken !== undefined);

    // Assess
    expect(names).toEqual(['alpha', 'delta', 'gamma']);
    await t.dispose();
  });
});
