import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cohortOf } from '../../lambdas/domain/rollout/cohort.ts';
import type { SimulatedDevice } from '../../lib/local/sim/device.ts';
import { simulatedDeviceName } from '../../lib/local/sim/fleet.ts';
import { eventually, getJson, type TestPlatform } from '../support/platform.ts';
import {
  call,
  driveRollout,
  type Json,
  publishSimFirmware,
  startRolloutPlatform,
} from '../support/rollouts.ts';

/**
 * Faults injected through `POST /local/faults` land on exactly the devices their targets select — a
 * thing group, a device type, a stable percentage by the cohort hash, as a rollout selects — do what
 * they say there (links held down or dropping, a weak cell read by the modem, a battery run down,
 * firmware that fails to install), and stop when cleared, by id, all at once, or by their duration.
 */

const DEVICES = 10;
const device = (n: number) => simulatedDeviceName(n);
const all = Array.from({ length: DEVICES }, (_, i) => device(i + 1));
/** sim-0001 and sim-0002 are put in group north; the others in no group. */
const NORTH = [device(1), device(2)];

describe('faults injected into the simulated fleet', () => {
  let t: TestPlatform;
  const sim = (thing: string): SimulatedDevice => {
    const found = t.platform.fleet.devices.find((d) => d.thingName === thing);
    if (found === undefined) throw new Error(`no simulated device ${thing}`);
    return found;
  };
  const fleetStatus = async () => (await call(t.platform, 'GET', '/local/fleet')).body;

  beforeAll(async () => {
    t = await startRolloutPlatform(DEVICES);
    for (const thing of NORTH) {
      const patched = await call(t.platform, 'PATCH', `/devices/${thing}`, { groups: ['north'] });
      expect(patched.status).toBe(200);
    }
  }, 90_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('holds a thing group offline, and only it, until the fault is cleared', async () => {
    // Act
    const fault = await call(t.platform, 'POST', '/local/faults', {
      targets: { groups: ['north'] },
      effect: { kind: 'offline' },
    });
    const held = await eventually(async () => {
      const status = await fleetStatus();
      return status.heldOffline === 2 && status.connected === DEVICES - 2 ? status : undefined;
    });
    const states = all.map((thing) => sim(thing).linkState);
    const cleared = await call(t.platform, 'DELETE', `/local/faults/${fault.body.faultId}`);
    const back = await eventually(async () => {
      const status = await fleetStatus();
      return status.connected === DEVICES ? status : undefined;
    }, 15_000);

    // Assess
    expect(fault.status).toBe(201);
    expect(fault.body.devices).toEqual(NORTH);
    expect(held.heldOffline).toBe(2);
    expect(states).toEqual(all.map((thing) => (NORTH.includes(thing) ? 'held' : 'connected')));
    expect(cleared.body.faultId).toBe(fault.body.faultId);
    expect(back.heldOffline).toBe(0);
  }, 30_000);

  it('makes the links of the selected trackers drop and come back until cleared, and leaves the rest alone', async () => {
    // Prepare
    const trackers = all.filter((thing) => sim(thing).thingType === 'tracker');
    const resumedBefore = new Map(all.map((thing) => [thing, sim(thing).resumedSessions]));

    // Act
    const fault = await call(t.platform, 'POST', '/local/faults', {
      targets: { deviceTypes: ['tracker'] },
      effect: { kind: 'flaky-link', dropEverySeconds: 1, downSeconds: 0.2 },
    });
    // Each tracker drops and reconnects (resuming its TLS session) at least twice.
    await eventually(
      async () =>
        trackers.every((thing) => sim(thing).resumedSessions >= (resumedBefore.get(thing) ?? 0) + 2)
          ? true
          : undefined,
      20_000,
    );
    const cleared = await call(t.platform, 'DELETE', '/local/faults');
    const back = await eventually(async () => {
      const status = await fleetStatus();
      return status.connected === DEVICES ? status : undefined;
    }, 15_000);

    // Assess
    expect(fault.body.devices).toEqual(trackers);
    expect(cleared.body.cleared).toBe(1);
    expect((await call(t.platform, 'GET', '/local/faults')).body.faults).toEqual([]);
    for (const thing of all.filter((d) => !trackers.includes(d)))
      expect(sim(thing).resumedSessions, thing).toBe(resumedBefore.get(thing));
    // A drop is a lost network, not a refused connection: every reconnection got through.
    expect(back.connectFailures).toMatchObject({ 'connack-timeout': 0, refused: 0, tls: 0 });
  }, 40_000);

  it('weakens the cell of a stable half of the fleet by the cohort hash, as the modem reads it, and drains a battery for a while', async () => {
    // Prepare: the devices a rollout to 50 % with this salt would pick
    const half = all.filter((thing) => cohortOf(thing, 'weak-cell') < 0.5);

    // Act
    const weak = await call(t.platform, 'POST', '/local/faults', {
      targets: { percentage: 50, cohortSalt: 'weak-cell' },
      effect: { kind: 'weak-signal', rsrpDbm: -130, rsrqDb: -19 },
    });
    const drain = await call(t.platform, 'POST', '/local/faults', {
      targets: { things: [device(3)] },
      effect: { kind: 'drain-battery', toPercent: 4, overSeconds: 1 },
      durationS: 2,
    });
    const weakened = await eventually(async () => {
      const { body } = await getJson(t.platform, `/devices/${half[0]}`);
      return body.signal?.rsrp <= -124 ? body : undefined;
    }, 15_000);
    const drained = await eventually(async () => {
      const { body } = await getJson(t.platform, `/devices/${device(3)}`);
      return body.battery?.percent <= 4 ? body : undefined;
    }, 15_000);
    // The drain had a duration of 2 s: it clears itself, and the battery stays where it was run down to.
    const left = await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/local/faults');
      return body.faults.length === 1 ? body.faults : undefined;
    }, 10_000);
    await call(t.platform, 'DELETE', `/local/faults/${weak.body.faultId}`);

    // Assess
    expect(half.length).toBeGreaterThan(0);
    expect(half.length).toBeLessThan(DEVICES);
    expect(weak.body.devices).toEqual(half);
    expect(weakened.signal.rsrp).toBeGreaterThanOrEqual(-136);
    expect(drain.body.endsAt).toBeDefined();
    expect(drained.battery.percent).toBeLessThanOrEqual(4);
    expect(left.map((f: Json) => f.faultId)).toEqual([weak.body.faultId]);
    expect((await call(t.platform, 'GET', '/local/faults')).body.faults).toEqual([]);
  }, 40_000);

  it('fails a good image on the devices of a group while the fault holds, and installs it once cleared', async () => {
    // Prepare
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '2.0.0' });
    const things = all.slice(0, 4);
    const fault = await call(t.platform, 'POST', '/local/faults', {
      targets: { groups: ['north'] },
      effect: { kind: 'firmware-failure', version: '2.0.0', failAt: 'install' },
    });

    // Act
    const first = await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'fault-first',
      firmwareVersion: '2.0.0',
      targets: { things },
      waves: { sizes: [100], gate: { successPercentage: 0 } },
    });
    const firstDone = await driveRollout(
      t.platform,
      'fault-first',
      (r) => (r.progress.byStatus.SUCCEEDED ?? 0) + (r.progress.byStatus.FAILED ?? 0) === things.length,
    );
    const during = things.map((thing) => sim(thing).firmwareVersion());
    await call(t.platform, 'DELETE', `/local/faults/${fault.body.faultId}`);
    const retry = await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'fault-cleared',
      firmwareVersion: '2.0.0',
      targets: { groups: ['north'] },
      waves: { sizes: [100], gate: { successPercentage: 0 } },
    });
    const retryDone = await driveRollout(
      t.platform,
      'fault-cleared',
      (r) => (r.progress.byStatus.SUCCEEDED ?? 0) === NORTH.length,
    );

    // Assess
    expect(fault.body.devices).toEqual(NORTH);
    expect(first.status).toBe(201);
    expect(firstDone.at(-1).progress.byStatus).toMatchObject({ SUCCEEDED: 2, FAILED: 2 });
    expect(during).toEqual(things.map((thing) => (NORTH.includes(thing) ? '1.0.0' : '2.0.0')));
    expect(retry.status).toBe(201);
    expect(retryDone.at(-1).progress.byStatus.SUCCEEDED).toBe(2);
    await eventually(async () =>
      NORTH.every((thing) => sim(thing).firmwareVersion() === '2.0.0') ? true : undefined,
    );
  }, 120_000);
});
