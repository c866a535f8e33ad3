import { describe, expect, it } from 'vitest';
import type { SensorState } from '../../../../edge/src/sensors/sensor-model.ts';
import { DeviceFaults, type FaultHooks } from '../../../../lib/local/sim/device-faults.ts';
import { parseWith } from '../../../../lib/protocol/parse.ts';
import { simFaultEffect } from '../../../../lib/protocol/sim-faults.ts';

const effect = (body: unknown) => parseWith(simFaultEffect, body, 'fault effect');
const sensors = (): SensorState => ({
  temperature: 22,
  humidity: 50,
  pressure: 1013,
  battery: 80,
  rsrpBase: -90,
  rsrp: -90,
});

/** Hooks that record what they were told. */
function recordingHooks() {
  const calls: string[] = [];
  const hooks: FaultHooks = {
    offline: (on) => calls.push(`offline ${on}`),
    signal: (signal) => calls.push(`signal ${signal === undefined ? 'own' : signal.rsrpDbm}`),
    flaky: (settings) =>
      calls.push(`flaky ${settings === undefined ? 'off' : `${settings.everyMs}/${settings.downMs}`}`),
  };
  return { calls, hooks };
}

describe('DeviceFaults', () => {
  it('makes an overheating sensor read high, and normal again once cleared', () => {
    // Prepare
    const faults = new DeviceFaults(sensors(), () => 0);
    faults.set(effect({ kind: 'overheat', celsius: 35 }));

    // Act
    const hot = faults.adjust({ temperature: 21.5, battery: 80 });
    faults.clear('overheat');
    const cool = faults.adjust({ temperature: 21.5, battery: 80 });

    // Assess
    expect(hot.temperature).toBe(56.5);
    expect(cool.temperature).toBe(21.5);
  });

  it('drains the battery linearly to its floor over the given time, and leaves it drained', () => {
    // Prepare: 80 % down to 20 % over 60 s
    let now = 1_000_000;
    const state = sensors();
    const faults = new DeviceFaults(state, () => now);
    faults.set(effect({ kind: 'drain-battery', toPercent: 20, overSeconds: 60 }));

    // Act
    now += 30_000;
    const halfway = faults.adjust({ temperature: 20, battery: 80 }).battery;
    now += 60_000;
    const floor = faults.adjust({ temperature: 20, battery: 80 }).battery;
    faults.clear('drain-battery');

    // Assess
    expect(halfway).toBe(50);
    expect(floor).toBe(20);
    expect(state.battery).toBe(20);
  });

  it('fails the install of the named version only, at the step it names', () => {
    // Prepare
    const faults = new DeviceFaults(sensors(), () => 0);
    faults.set(effect({ kind: 'firmware-failure', version: '2.0.0', failAt: 'health-check' }));

    // Act
    const named = faults.firmwareFailure('2.0.0');
    const other = faults.firmwareFailure('2.1.0');

    // Assess
    expect(named).toBe('health-check');
    expect(other).toBeUndefined();
  });

  it('takes the link and radio down and back, and applies faults in force to a rebooted device', () => {
    // Prepare
    const first = recordingHooks();
    const faults = new DeviceFaults(sensors(), () => 0, first.hooks);
    faults.set(effect({ kind: 'offline' }));
    faults.set(effect({ kind: 'weak-signal', rsrpDbm: -128 }));
    faults.set(effect({ kind: 'flaky-link', dropEverySeconds: 30, downSeconds: 1.5 }));
    const second = recordingHooks();

    // Act: a reboot gives the faults a new link and modem
    faults.reapply(second.hooks);
    faults.clear('offline');
    faults.clear('weak-signal');
    faults.clear('flaky-link');

    // Assess
    expect(first.calls).toEqual(['offline true', 'signal -128', 'flaky 30000/1500']);
    expect(second.calls).toEqual([
      'offline true',
      'flaky 30000/1500',
      'signal -128',
      'offline false',
      'signal own',
      'flaky off',
    ]);
  });
});
