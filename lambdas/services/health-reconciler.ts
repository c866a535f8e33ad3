import { healthCounterChanges } from '../domain/fleet/health.ts';
import type { DeviceRegistry, FleetHealthStore } from '../ports.ts';
import { countedHealth } from './fleet-health-recorder.ts';

/**
 * Recounts the fleet health counters from the registry and replaces them. The counters are kept by
 * increments that cannot be made atomic with the registry write (no transactions): a crash between
 * the two, or a registry item edited by hand, leaves them off; this puts them right.
 */
export async function reconcileFleetHealth(
  registry: DeviceRegistry,
  health: FleetHealthStore,
  now: number,
): Promise<{ devices: number; dimensions: number }> {
  const totals = new Map<string, Record<string, number>>();
  let devices = 0;
  let nextToken: string | undefined;
  do {
    const page = await registry.scan(500, nextToken);
    for (const record of page.items) {
      devices++;
      for (const change of healthCounterChanges(undefined, countedHealth(record))) {
        const counters = totals.get(change.dimension) ?? {};
        counters[change.counter] = (counters[change.counter] ?? 0) + change.delta;
        totals.set(change.dimension, counters);
      }
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  const items = [...totals].map(([dimension, counters]) => ({
    dimension,
    counters: { devices: 0, online: 0, lowBattery: 0, poorSignal: 0, ...counters },
  }));
  await health.replaceAll(items, now);
  return { devices, dimensions: items.length };
}
