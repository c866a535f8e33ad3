import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulatedDeviceName } from '../../lib/local/sim/fleet.ts';
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
