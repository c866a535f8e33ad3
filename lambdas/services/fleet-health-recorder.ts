import { classifyHealth, type DeviceHealth, healthCounterChanges } from '../domain/fleet/health.ts';
import type { DeviceRecord, FleetHealthStore } from '../ports.ts';

/** A registry record as the fleet counters count it: online as the registry says (the sweeper decides). */
export function countedHealth(record: DeviceRecord | undefined): DeviceHealth | undefined {
  // A device provisioned but never heard from is not counted until its first sighting.
  if (record === undefined || record.lastSeen === undefined) return undefined;
  const health = classifyHealth(
    {
      deviceType: record.deviceType,
      // Telemetry can arrive before any status: such a device counts under firmware "unknown".
      firmwareVersion: record.firmwareVersion ?? 'unknown',
      lastSeen: record.lastSeen,
      ...(record.battery === undefined ? {} : { battery: record.battery }),
      ...(record.signal === undefined ? {} : { signal: record.signal }),
    },
    record.lastSeen,
  );
  return { ...health, online: record.online !== false };
}

/**
 * Moves the fleet health counters by what one registry change changed. Callers pass the before and
 * after images the registry returned with its conditional write, so a change is counted once.
 */
export async function recordHealthChange(
  store: FleetHealthStore,
  before: DeviceRecord | undefined,
  after: DeviceRecord | undefined,
): Promise<void> {
  const changes = healthCounterChanges(countedHealth(before), countedHealth(after));
  if (changes.length > 0) await store.apply(changes);
}
