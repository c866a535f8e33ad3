import { signalBars } from './signal-bars.ts';

/** Where a device stops counting as healthy. */
export interface HealthThresholds {
  /** A device not heard from for longer is offline. Three missed 60 s status intervals by default. */
  readonly offlineAfterSeconds: number;
  /** Battery percent below which a device needs a visit soon. */
  readonly lowBatteryPercent: number;
  /** RSRP (dBm) below which a link is poor: near the LTE cell edge, where retries cost battery. */
  readonly poorSignalRsrp: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = {
  offlineAfterSeconds: 3 * 60,
  lowBatteryPercent: 20,
  poorSignalRsrp: -110,
};

/** What classification needs of a registry record; a `DeviceRecord` is one. */
export interface HealthSubject {
  readonly deviceType: string;
  readonly firmwareVersion: string;
  /** Broker time of the last status, epoch ms. */
  readonly lastSeen: number;
  readonly battery?: { readonly percent: number };
  readonly signal?: { readonly rsrp: number; readonly rat?: string };
}

/** One device's health, as the fleet counters count it. */
export interface DeviceHealth {
  readonly deviceType: string;
  readonly firmwareVersion: string;
  readonly online: boolean;
  /** False when the device never reported its battery: unknown is not counted as low. */
  readonly lowBattery: boolean;
  /** False when the device never reported its signal. */
  readonly poorSignal: boolean;
  /** 0-5; absent when the device never reported its signal. */
  readonly signalBars?: number;
}

/**
 * Classifies one device's registry record at time `now`.
 *
 * Online depends on `now`, so a device goes offline with no message at all: a scheduled pass must
 * reclassify quiet devices. Store the classification that was counted with the record, and pass it as
 * `before` to {@link healthCounterChanges}, so counters move by exactly what was counted.
 */
export function classifyHealth(
  device: HealthSubject,
  now: number,
  thresholds: HealthThresholds = DEFAULT_HEALTH_THRESHOLDS,
): DeviceHealth {
  const health = {
    deviceType: device.deviceType,
    firmwareVersion: device.firmwareVersion,
    online: now - device.lastSeen <= thresholds.offlineAfterSeconds * 1000,
    lowBattery: device.battery !== undefined && device.battery.percent < thresholds.lowBatteryPercent,
    poorSignal: device.signal !== undefined && device.signal.rsrp < thresholds.poorSignalRsrp,
  };
  return device.signal === undefined
    ? health
    : { ...health, signalBars: signalBars(device.signal.rsrp, device.signal.rat) };
}

/** A fleet-level counter's scope: the whole fleet, one device type, or one firmware version. */
export type HealthDimension = 'all' | `type:${string}` | `firmware:${string}`;
export type HealthCounter = 'devices' | 'online' | 'lowBattery' | 'poorSignal';

/** One increment to apply to a counter item (an atomic ADD in DynamoDB). */
export interface CounterChange {
  readonly dimension: HealthDimension;
  readonly counter: HealthCounter;
  readonly delta: 1 | -1;
}

/** The counters a device adds 1 to. */
function countedIn(health: DeviceHealth | undefined): string[] {
  if (health === undefined) return [];
  const counters: HealthCounter[] = ['devices'];
  if (health.online) counters.push('online');
  if (health.lowBattery) counters.push('lowBattery');
  if (health.poorSignal) counters.push('poorSignal');
  const dimensions: HealthDimension[] = [
    'all',
    `type:${health.deviceType}`,
    `firmware:${health.firmwareVersion}`,
  ];
  // A tab cannot occur in a type or a version, so it separates the parts of the key safely.
  return dimensions.flatMap((dimension) => counters.map((counter) => `${dimension}\t${counter}`));
}

/**
 * The counter increments that move a device from `before` to `after`, so the fleet counters stay equal
 * to counting every device from scratch, and `GET /fleet/health` reads a few counter items instead of
 * scanning the fleet.
 *
 * @param before the classification counted so far; undefined for a device new to the fleet
 * @param after the classification to count from now on; undefined for a device removed from the fleet
 * @returns decrements then increments; empty when nothing counted changes
 */
export function healthCounterChanges(
  before: DeviceHealth | undefined,
  after: DeviceHealth | undefined,
): CounterChange[] {
  const removed = countedIn(before);
  const added = countedIn(after);
  const addedSet = new Set(added);
  const removedSet = new Set(removed);
  const change = (key: string, delta: 1 | -1): CounterChange => {
    const [dimension, counter] = key.split('\t') as [HealthDimension, HealthCounter];
    return { dimension, counter, delta };
  };
  return [
    ...removed.filter((key) => !addedSet.has(key)).map((key) => change(key, -1)),
    ...added.filter((key) => !removedSet.has(key)).map((key) => change(key, 1)),
  ];
}

/** One counter item as stored. */
export interface CounterItem {
  readonly dimension: string;
  readonly counter: string;
  readonly value: number;
}

/** Health of a group of devices. */
export interface GroupHealth {
  readonly devices: number;
  readonly online: number;
  /** Online ÷ devices, percent to one decimal; 0 for an empty group. */
  readonly onlinePercent: number;
  readonly lowBattery: number;
  readonly poorSignal: number;
}

/** The `GET /fleet/health` body. */
export interface FleetHealthView extends GroupHealth {
  readonly byType: Readonly<Record<string, GroupHealth>>;
  readonly byFirmware: Readonly<Record<string, GroupHealth>>;
}

type Tally = Record<HealthCounter, number>;
const COUNTERS: readonly string[] = ['devices', 'online', 'lowBattery', 'poorSignal'];

function groupOf(tally: Tally): GroupHealth {
  const { devices, online, lowBattery, poorSignal } = tally;
  const onlinePercent = devices > 0 ? Math.round((online / devices) * 1000) / 10 : 0;
  return { devices, online, onlinePercent, lowBattery, poorSignal };
}

/**
 * The fleet's health from its counter items. Types and firmware versions no device has any more
 * (their `devices` counter at 0) are left out; unknown dimensions and counters are ignored.
 */
export function fleetHealthView(items: Iterable<CounterItem>): FleetHealthView {
  const tallies = new Map<string, Tally>();
  for (const { dimension, counter, value } of items) {
    if (!COUNTERS.includes(counter)) continue;
    let tally = tallies.get(dimension);
    if (tally === undefined) {
      tally = { devices: 0, online: 0, lowBattery: 0, poorSignal: 0 };
      tallies.set(dimension, tally);
    }
    tally[counter as HealthCounter] += value;
  }
  const byType: Record<string, GroupHealth> = {};
  const byFirmware: Record<string, GroupHealth> = {};
  for (const [dimension, tally] of tallies) {
    if (tally.devices <= 0) continue;
    if (dimension.startsWith('type:')) byType[dimension.slice('type:'.length)] = groupOf(tally);
    else if (dimension.startsWith('firmware:'))
      byFirmware[dimension.slice('firmware:'.length)] = groupOf(tally);
  }
  const all = tallies.get('all') ?? { devices: 0, online: 0, lowBattery: 0, poorSignal: 0 };
  return { ...groupOf(all), byType, byFirmware };
}
