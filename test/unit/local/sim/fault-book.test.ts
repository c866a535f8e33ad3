import { afterEach, describe, expect, it, vi } from 'vitest';
import { cohortOf } from '../../../../lambdas/domain/rollout/cohort.ts';
import type { RolloutDevice } from '../../../../lambdas/domain/rollout/targets.ts';
import {
  type FaultableDevice,
  FaultBook,
  NoMatchingDevicesError,
} from '../../../../lib/local/sim/fault-book.ts';
import { simulatedDeviceName } from '../../../../lib/local/sim/fleet.ts';
import { parseWith } from '../../../../lib/protocol/parse.ts';
import { type SimFaultEffect, simFaultRequest } from '../../../../lib/protocol/sim-faults.ts';

/** A device that records the faults it is in. */
class FakeDevice implements FaultableDevice {
  readonly faults = new Map<string, SimFaultEffect>();
  constructor(
    readonly thingName: string,
    readonly thingType: string,
  ) {}
  firmwareVersion(): string {
    return '1.0.0';
  }
  injectFault(effect: SimFaultEffect): void {
    this.faults.set(effect.kind, effect);
  }
  clearFault(kind: SimFaultEffect['kind']): void {
    this.faults.delete(kind);
  }
}

const fleet = (count: number) =>
  Array.from(
    { length: count },
    (_, i) => new FakeDevice(simulatedDeviceName(i + 1), i % 2 === 0 ? 'tracker' : 'env-sensor'),
  );
const request = (body: unknown) => parseWith(simFaultRequest, body, 'fault request');
const hit = (devices: FakeDevice[], kind: string) =>
  devices.filter((d) => d.faults.has(kind)).map((d) => d.thingName);
const noRegistry = async () => new Map<string, RolloutDevice>();

afterEach(() => {
  vi.useRealTimers();
});

describe('FaultBook', () => {
  it('hits the devices a rollout with the same targets would: the type, then a stable share by cohort', async () => {
    // Prepare
    const devices = fleet(200);
    const book = new FaultBook(devices, noRegistry);

    // Act
    const view = await book.add(
      request({ targets: { deviceTypes: ['tracker'], percentage: 25 }, effect: { kind: 'overheat' } }),
    );

    // Assess
    const expected = devices
      .filter((d) => d.thingType === 'tracker' && cohortOf(d.thingName) < 0.25)
      .map((d) => d.thingName);
    expect(hit(devices, 'overheat')).toEqual(expected);
    expect(view.deviceCount).toBe(expected.length);
    expect(view.effect).toEqual({ kind: 'overheat', celsius: 40 });
  });

  it('selects by thing group from the registry', async () => {
    // Prepare: sim-0003 and sim-0007 are in group north
    const devices = fleet(10);
    const lookup = async (things: readonly string[]) =>
      new Map(
        things.map((thing): [string, RolloutDevice] => [
          thing,
          {
            thingName: thing,
            deviceType: 'tracker',
            firmwareVersion: '1.0.0',
            groups: thing === 'sim-0003' || thing === 'sim-0007' ? ['north'] : [],
          },
        ]),
      );
    const book = new FaultBook(devices, lookup);

    // Act
    await book.add(request({ targets: { groups: ['north'] }, effect: { kind: 'offline' } }));

    // Assess
    expect(hit(devices, 'offline')).toEqual(['sim-0003', 'sim-0007']);
  });

  it('gives a device one fault of a kind: a newer one takes it over, and clearing the older leaves it alone', async () => {
    // Prepare
    const devices = fleet(4);
    const book = new FaultBook(devices, noRegistry);
    const older = await book.add(
      request({ targets: { things: ['sim-0001', 'sim-0002'] }, effect: { kind: 'weak-signal' } }),
    );
    await book.add(
      request({
        targets: { things: ['sim-0002', 'sim-0003'] },
        effect: { kind: 'weak-signal', rsrpDbm: -130 },
      }),
    );

    // Act
    book.clear(older.faultId);

    // Assess
    expect(hit(devices, 'weak-signal')).toEqual(['sim-0002', 'sim-0003']);
    expect(devices[1]?.faults.get('weak-signal')).toMatchObject({ rsrpDbm: -130 });
    expect(book.list().map((f) => f.deviceCount)).toEqual([2]);
  });

  it('clears a fault with a duration by itself', async () => {
    // Prepare
    vi.useFakeTimers();
    const devices = fleet(3);
    const book = new FaultBook(devices, noRegistry);
    const view = await book.add(
      request({ targets: { things: ['sim-0001'] }, effect: { kind: 'offline' }, durationS: 60 }),
    );
    const during = hit(devices, 'offline');

    // Act
    vi.advanceTimersByTime(60_000);

    // Assess
    expect(during).toEqual(['sim-0001']);
    expect(view.endsAt).toBeDefined();
    expect(hit(devices, 'offline')).toEqual([]);
    expect(book.list()).toEqual([]);
  });

  it('refuses targets that select no simulated device, and injects nothing', async () => {
    // Prepare
    const devices = fleet(3);
    const book = new FaultBook(devices, noRegistry);

    // Act
    const adding = book.add(request({ targets: { deviceTypes: ['gateway'] }, effect: { kind: 'overheat' } }));

    // Assess
    await expect(adding).rejects.toBeInstanceOf(NoMatchingDevicesError);
    expect(book.list()).toEqual([]);
  });
});
