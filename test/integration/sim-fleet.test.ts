import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../edge/src/ota/clock.ts';
import { simulatedDeviceName } from '../../lib/local/sim/fleet.ts';
import { DeviceLink, DeviceTls } from '../../lib/local/sim/link.ts';
import { ConnectionPacer } from '../../lib/local/sim/pacing.ts';
import { deviceTopic } from '../../lib/protocol/topics.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, type Json } from '../support/rollouts.ts';

/**
 * The simulated fleet on the local platform: brought up paced behind a ready platform, healthy in
 * the registry, and changed by faults injected through the HTTP API (what `fleetkit sim fault` and the
 * console call) the way a real fleet would show them: connections dropping, weak signal, flat
 * batteries, overheating sensors.
 */

const DEVICES = 40;
const device = (n: number) => simulatedDeviceName(n);

describe('simulated fleet', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startTestPlatform({
      devices: DEVICES,
      statusEveryMs: 2_000,
      telemetryEveryMs: 1_000,
      ota: false,
      // A small window and a low rate, so the bring-up is paced here too.
      simPacing: { connectsPerSecond: 25, burst: 5, bringUpWindow: 6 },
    });
  }, 120_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('brings every device up through the pacer, with no connection attempt failing, and the registry sees them all online', async () => {
    // Act
    const status = (await call(t.platform, 'GET', '/local/fleet')).body;
    const health = await eventually(async () => {
      const { body } = await getJson(t.platform, '/fleet/health');
      return body.online === DEVICES ? body : undefined;
    }, 20_000);

    // Assess
    expect(status).toMatchObject({ devices: DEVICES, started: DEVICES, connected: DEVICES, heldOffline: 0 });
    expect(status.connectFailures).toEqual({
      'connack-timeout': 0,
      refused: 0,
      tls: 0,
      network: 0,
      other: 0,
    });
    expect(status.pacer.admitted).toBe(DEVICES);
    expect(health.online).toBe(DEVICES);
  });

  it('takes devices offline and brings them back, resuming their TLS sessions', async () => {
    // Prepare
    const things = [device(1), device(2)];

    // Act
    const fault = await call(t.platform, 'POST', '/local/faults', {
      targets: { things },
      effect: { kind: 'offline' },
    });
    const held = await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/local/fleet');
      return body.heldOffline === 2 && body.connected === DEVICES - 2 ? body : undefined;
    });
    const cleared = await call(t.platform, 'DELETE', `/local/faults/${fault.body.faultId}`);
    const back = await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/local/fleet');
      return body.connected === DEVICES ? body : undefined;
    }, 15_000);

    // Assess
    expect(fault.status).toBe(201);
    expect(fault.body).toMatchObject({ deviceCount: 2, devices: things, effect: { kind: 'offline' } });
    expect(held.heldOffline).toBe(2);
    expect(cleared.status).toBe(200);
    expect(back.resumedSessions).toBeGreaterThanOrEqual(2);
    expect((await call(t.platform, 'GET', '/local/faults')).body.faults).toEqual([]);
  }, 30_000);

  it('shows a weak cell and a drained battery in the registry, as the devices report them', async () => {
    // Act
    await call(t.platform, 'POST', '/local/faults', {
      targets: { things: [device(3)] },
      effect: { kind: 'weak-signal', rsrpDbm: -130, rsrqDb: -19 },
    });
    await call(t.platform, 'POST', '/local/faults', {
      targets: { things: [device(4)] },
      effect: { kind: 'drain-battery', toPercent: 4, overSeconds: 1 },
    });

    // Assess
    const weak = await eventually(async () => {
      const { body } = await getJson(t.platform, `/devices/${device(3)}`);
      return body.signal?.rsrp <= -124 ? body : undefined;
    }, 15_000);
    const drained = await eventually(async () => {
      const { body } = await getJson(t.platform, `/devices/${device(4)}`);
      return body.battery?.percent <= 4 ? body : undefined;
    }, 15_000);
    expect(weak.signal.rsrp).toBeGreaterThanOrEqual(-136);
    expect(drained.battery.percent).toBeLessThanOrEqual(4);
  }, 40_000);

  it('turns an overheating sensor into a HIGH_TEMPERATURE alert', async () => {
    // Act
    await call(t.platform, 'POST', '/local/faults', {
      targets: { things: [device(5)] },
      effect: { kind: 'overheat', celsius: 45 },
    });

    // Assess
    const alert = await eventually(async () => {
      const { body } = await getJson(t.platform, `/alerts?deviceId=${device(5)}`);
      return (body.alerts as Json[] | undefined)?.find((a) => a.type === 'HIGH_TEMPERATURE');
    }, 20_000);
    expect(alert).toMatchObject({ deviceId: device(5), state: 'raised' });
    expect(alert.value).toBeGreaterThan(50);
  }, 30_000);

  it('sends a QoS 1 publish that was in flight when the link dropped once it is back, and makes its subscriptions again', async () => {
    // Prepare: a device's link on its own, as the simulated devices have it
    const credentials = await t.platform.deviceCredentials('link-test', 'tracker');
    const link = new DeviceLink({
      url: t.platform.mqttUrl,
      clientId: 'link-test',
      tls: new DeviceTls(credentials),
      pacer: new ConnectionPacer({ ratePerSecond: 10, burst: 10, clock: systemClock }),
      clock: systemClock,
    });
    await link.up();
    await link.client.subscribeAsync('fleet/things/link-test/shadow/get/+', { qos: 1 });

    // Act: the network goes before the broker's PUBACK can arrive, and comes back
    const published = link.client.publishAsync(
      deviceTopic('status', 'tracker', 'link-test'),
      JSON.stringify({ firmwareVersion: '1.0.0' }),
      { qos: 1 },
    );
    link.hold();
    link.release();
    await published;
    await link.up();
    const answer = new Promise<string>((resolve) =>
      link.client.on('message', (topic) => {
        if (topic.startsWith('fleet/things/link-test/shadow/get/')) resolve(topic);
      }),
    );
    await link.client.publishAsync('fleet/things/link-test/shadow/get', '', { qos: 1 });

    // Assess: the publish settled (it hung for ever when the reconnection dropped MQTT.js's stores), and the
    // shadow answer reached the subscription made before the drop
    expect(await answer).toMatch(/^fleet\/things\/link-test\/shadow\/get\/(accepted|rejected)$/);
    await link.close();
  }, 20_000);

  it('refuses a fault request that names an unknown effect, or selects no device', async () => {
    // Act
    const unknown = await call(t.platform, 'POST', '/local/faults', {
      targets: { things: [device(1)] },
      effect: { kind: 'meteor' },
    });
    const nobody = await call(t.platform, 'POST', '/local/faults', {
      targets: { deviceTypes: ['gateway'] },
      effect: { kind: 'overheat' },
    });

    // Assess
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('ValidationError');
    expect(nobody.status).toBe(404);
    expect(nobody.body.code).toBe('NoMatchingDevices');
  });
});
