import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import {
  type CounterChange,
  type CounterItem,
  classifyHealth,
  DEFAULT_HEALTH_THRESHOLDS,
  type DeviceHealth,
  fleetHealthView,
  type HealthSubject,
  healthCounterChanges,
} from '../../../../lambdas/domain/fleet/health.ts';
import { signalBars } from '../../../../lambdas/domain/fleet/signal-bars.ts';

const NOW = 1_764_196_380_000;
const device: HealthSubject = {
  deviceType: 'tracker',
  firmwareVersion: '1.4.2',
  lastSeen: NOW - 30_000,
  battery: { percent: 80 },
  signal: { rsrp: -95, rat: 'LTE-M' },
};

describe('classifyHealth', () => {
  it.each<[string, HealthSubject, Partial<DeviceHealth>, typeof DEFAULT_HEALTH_THRESHOLDS?]>([
    ['a device heard 30 s ago is online', device, { online: true }],
    [
      'a device heard exactly 180 s ago is still online',
      { ...device, lastSeen: NOW - 180_000 },
      { online: true },
    ],
    ['a device heard 180.001 s ago is offline', { ...device, lastSeen: NOW - 180_001 }, { online: false }],
    [
      'a device seen slightly in the future (clock skew) is online',
      { ...device, lastSeen: NOW + 5_000 },
      { online: true },
    ],
    [
      'the offline limit is a parameter',
      { ...device, lastSeen: NOW - 600_000 },
      { online: true },
      { ...DEFAULT_HEALTH_THRESHOLDS, offlineAfterSeconds: 3600 },
    ],
    ['battery under 20 % is low', { ...device, battery: { percent: 19.9 } }, { lowBattery: true }],
    ['battery at 20 % is not low', { ...device, battery: { percent: 20 } }, { lowBattery: false }],
    [
      'a device that never reported its battery is not counted as low',
      { ...device, battery: undefined },
      { lowBattery: false },
    ],
    [
      'RSRP under -110 dBm is poor',
      { ...device, signal: { rsrp: -110.5 } },
      { poorSignal: true, signalBars: 2 },
    ],
    [
      'RSRP at -110 dBm is not poor',
      { ...device, signal: { rsrp: -110 } },
      { poorSignal: false, signalBars: 2 },
    ],
    [
      'a device that never reported its signal has no bars and is not poor',
      { ...device, signal: undefined },
      { poorSignal: false },
    ],
    [
      'type and firmware are carried for the counters',
      device,
      { deviceType: 'tracker', firmwareVersion: '1.4.2', signalBars: 4 },
    ],
  ])('%s', (_name, subject, expected, thresholds) => {
    const health =
      thresholds === undefined ? classifyHealth(subject, NOW) : classifyHealth(subject, NOW, thresholds);
    expect(health).toMatchObject(expected);
    if (subject.signal === undefined) expect(health).not.toHaveProperty('signalBars');
  });
});

describe('signalBars', () => {
  it.each<[number, string | undefined, number]>([
    [-70, undefined, 5],
    [-88, 'LTE', 5],
    [-88.5, 'LTE', 4],
    [-98, 'LTE', 4],
    [-99, 'LTE', 3],
    [-108, 'LTE', 3],
    [-109, 'LTE', 2],
    [-118, 'LTE', 2],
    [-119, 'LTE', 1],
    [-128, 'LTE', 1],
    [-129, 'LTE', 0],
    [-129, undefined, 0],
    // Coverage enhancement: LTE-M works ~15 dB, NB-IoT ~20 dB below the LTE edge, on one bar.
    [-143, 'LTE-M', 1],
    [-144, 'LTE-M', 0],
    [-148, 'NB-IoT', 1],
    [-149, 'NB-IoT', 0],
    [-95, 'NB-IoT', 4],
    [-156, 'NB-IoT', 0],
  ])('%d dBm on %s → %d bars', (rsrp, rat, bars) => {
    expect(signalBars(rsrp, rat)).toBe(bars);
  });
});

/** Changes as short lines (`+1 type:tracker online`), so rows read like the counter updates they are. */
const lines = (changes: readonly CounterChange[]) =>
  changes.map((c) => `${c.delta > 0 ? '+1' : '-1'} ${c.dimension} ${c.counter}`);
const healthy = classifyHealth(device, NOW);

describe('healthCounterChanges', () => {
  it.each<[string, DeviceHealth | undefined, DeviceHealth | undefined, string[]]>([
    [
      'a device appears',
      undefined,
      healthy,
      [
        '+1 all devices',
        '+1 all online',
        '+1 type:tracker devices',
        '+1 type:tracker online',
        '+1 firmware:1.4.2 devices',
        '+1 firmware:1.4.2 online',
      ],
    ],
    ['nothing counted changes', healthy, { ...healthy, signalBars: 4 }, []],
    [
      'a device goes offline',
      healthy,
      { ...healthy, online: false },
      ['-1 all online', '-1 type:tracker online', '-1 firmware:1.4.2 online'],
    ],
    [
      'its battery drops below the low mark',
      healthy,
      { ...healthy, lowBattery: true },
      ['+1 all lowBattery', '+1 type:tracker lowBattery', '+1 firmware:1.4.2 lowBattery'],
    ],
    [
      'its signal recovers',
      { ...healthy, poorSignal: true },
      healthy,
      ['-1 all poorSignal', '-1 type:tracker poorSignal', '-1 firmware:1.4.2 poorSignal'],
    ],
    [
      'its firmware is upgraded',
      healthy,
      { ...healthy, firmwareVersion: '1.5.0' },
      [
        '-1 firmware:1.4.2 devices',
        '-1 firmware:1.4.2 online',
        '+1 firmware:1.5.0 devices',
        '+1 firmware:1.5.0 online',
      ],
    ],
    [
      'its type changes while it goes offline',
      healthy,
      { ...healthy, deviceType: 'meter', online: false },
      [
        '-1 all online',
        '-1 type:tracker devices',
        '-1 type:tracker online',
        '-1 firmware:1.4.2 online',
        '+1 type:meter devices',
      ],
    ],
    [
      'a device is removed',
      { ...healthy, lowBattery: true },
      undefined,
      [
        '-1 all devices',
        '-1 all online',
        '-1 all lowBattery',
        '-1 type:tracker devices',
        '-1 type:tracker online',
        '-1 type:tracker lowBattery',
        '-1 firmware:1.4.2 devices',
        '-1 firmware:1.4.2 online',
        '-1 firmware:1.4.2 lowBattery',
      ],
    ],
    ['neither before nor after', undefined, undefined, []],
  ])('%s', (_name, before, after, expected) => {
    expect(lines(healthCounterChanges(before, after))).toEqual(expected);
  });
});

describe('fleetHealthView', () => {
  it.each<[string, CounterItem[], unknown]>([
    [
      'totals, percent online to one decimal, and groups by type and firmware',
      [
        { dimension: 'all', counter: 'devices', value: 3 },
        { dimension: 'all', counter: 'online', value: 2 },
        { dimension: 'all', counter: 'lowBattery', value: 1 },
        { dimension: 'type:tracker', counter: 'devices', value: 3 },
        { dimension: 'type:tracker', counter: 'online', value: 2 },
        { dimension: 'type:tracker', counter: 'lowBattery', value: 1 },
        { dimension: 'firmware:1.4.2', counter: 'devices', value: 3 },
        { dimension: 'firmware:1.4.2', counter: 'online', value: 2 },
        { dimension: 'firmware:1.4.2', counter: 'lowBattery', value: 1 },
      ],
      {
        devices: 3,
        online: 2,
        onlinePercent: 66.7,
        lowBattery: 1,
        poorSignal: 0,
        byType: { tracker: { devices: 3, online: 2, onlinePercent: 66.7, lowBattery: 1, poorSignal: 0 } },
        byFirmware: { '1.4.2': { devices: 3, online: 2, onlinePercent: 66.7, lowBattery: 1, poorSignal: 0 } },
      },
    ],
    [
      'an empty fleet',
      [],
      { devices: 0, online: 0, onlinePercent: 0, lowBattery: 0, poorSignal: 0, byType: {}, byFirmware: {} },
    ],
    [
      'groups no device is in any more are left out; type names may hold colons',
      [
        { dimension: 'all', counter: 'devices', value: 1 },
        { dimension: 'type:gw:v2', counter: 'devices', value: 1 },
        { dimension: 'firmware:1.0.0', counter: 'devices', value: 0 },
        { dimension: 'firmware:1.0.0', counter: 'online', value: 0 },
        { dimension: 'firmware:2.0.0', counter: 'devices', value: 1 },
        { dimension: 'region:eu', counter: 'devices', value: 7 },
        { dimension: 'all', counter: 'rebooted', value: 7 },
      ],
      {
        devices: 1,
        online: 0,
        onlinePercent: 0,
        lowBattery: 0,
        poorSignal: 0,
        byType: { 'gw:v2': { devices: 1, online: 0, onlinePercent: 0, lowBattery: 0, poorSignal: 0 } },
        byFirmware: { '2.0.0': { devices: 1, online: 0, onlinePercent: 0, lowBattery: 0, poorSignal: 0 } },
      },
    ],
  ])('%s', (_name, items, expected) => {
    expect(fleetHealthView(items)).toEqual(expected);
  });
});

describe('counters kept by healthCounterChanges equal counting from scratch', () => {
  function applyChanges(counters: Map<string, number>, changes: readonly CounterChange[]): void {
    for (const { dimension, counter, delta } of changes) {
      const key = `${dimension}\t${counter}`;
      counters.set(key, (counters.get(key) ?? 0) + delta);
    }
  }
  function countFromScratch(fleet: Iterable<DeviceHealth>): Map<string, number> {
    const counters = new Map<string, number>();
    for (const health of fleet) applyChanges(counters, healthCounterChanges(undefined, health));
    return counters;
  }
  const nonZero = (counters: Map<string, number>) =>
    new Map([...counters].filter(([, value]) => value !== 0).sort(([a], [b]) => a.localeCompare(b)));
  const items = (counters: Map<string, number>): CounterItem[] =>
    [...counters].map(([key, value]) => {
      const [dimension = '', counter = ''] = key.split('\t');
      return { dimension, counter, value };
    });

  it.each(['fleet-a', 'fleet-b', 'fleet-c', 'fleet-d'])(
    'for a random sequence of device updates (seed %s)',
    (seed) => {
      const random = seededRandom(seed);
      const pick = <T>(options: readonly T[]): T => options[Math.floor(random() * options.length)] as T;
      const counted = new Map<string, DeviceHealth>();
      const records = new Map<string, HealthSubject>();
      const counters = new Map<string, number>();
      let now = NOW;

      for (let step = 0; step < 2000; step++) {
        now += Math.floor(random() * 60_000);
        const id = `dev-${Math.floor(random() * 40)}`;
        const action = random();
        let after: DeviceHealth | undefined;
        if (action < 0.05) {
          records.delete(id);
          after = undefined;
        } else if (action < 0.25) {
          // A scheduled pass reclassifies a device that sent nothing: it may go offline.
          const record = records.get(id);
          if (record === undefined) continue;
          after = classifyHealth(record, now);
        } else {
          const record: HealthSubject = {
            deviceType: pick(['tracker', 'meter', 'gw:v2']),
            firmwareVersion: pick(['1.0.0', '1.1.0', '2.0.0-rc.1']),
            lastSeen: now - Math.floor(random() * 400_000),
            ...(random() < 0.9 ? { battery: { percent: Math.floor(random() * 101) } } : {}),
            ...(random() < 0.9 ? { signal: { rsrp: -60 - Math.floor(random() * 80) } } : {}),
          };
          records.set(id, record);
          after = classifyHealth(record, now);
        }
        applyChanges(counters, healthCounterChanges(counted.get(id), after));
        if (after === undefined) counted.delete(id);
        else counted.set(id, after);
      }

      const fromScratch = countFromScratch(counted.values());
      expect(nonZero(counters)).toEqual(nonZero(fromScratch));
      expect(fleetHealthView(items(counters))).toEqual(fleetHealthView(items(fromScratch)));
      expect(fleetHealthView(items(counters)).devices).toBe(counted.size);
      expect([...counters.values()].every((value) => value >= 0)).toBe(true);
    },
  );
});
