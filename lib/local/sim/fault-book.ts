import { randomUUID } from 'node:crypto';
import { cohortOf, DEFAULT_COHORT_SALT } from '../../../lambdas/domain/rollout/cohort.ts';
import { type RolloutDevice, selectorOf } from '../../../lambdas/domain/rollout/targets.ts';
import type { SimFaultKind, SimFaultRequest, SimFaultView } from '../../protocol/sim-faults.ts';

/** What the fault book needs of a simulated device. */
export interface FaultableDevice {
  readonly thingName: string;
  readonly thingType: string;
  firmwareVersion(): string;
  injectFault(effect: SimFaultRequest['effect']): void;
  clearFault(kind: SimFaultKind): void;
}

/** Registry records (groups, attributes) of these things; the ones not registered are left out. */
export type RegistryLookup = (things: readonly string[]) => Promise<ReadonlyMap<string, RolloutDevice>>;

/** No simulated device matched a fault's targets. */
export class NoMatchingDevicesError extends Error {
  override readonly name = 'NoMatchingDevicesError';
}

interface Entry {
  readonly view: SimFaultView;
  readonly devices: readonly FaultableDevice[];
  readonly timer: NodeJS.Timeout | undefined;
}

/** How many device names a fault's view lists (`deviceCount` has all of them). */
const LISTED_DEVICES = 100;

/**
 * The faults injected into the simulated fleet: which devices each hit, until when. Targets are
 * chosen as a rollout's are (types, groups, attributes and things all holding, then a stable
 * percentage by the cohort hash), so "10 % of the trackers in group north" means the same devices
 * in a fault and in a rollout with the same salt. A fault with a duration clears itself.
 */
export class FaultBook {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly devices: readonly FaultableDevice[],
    private readonly lookup: RegistryLookup,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Injects a fault into the devices its targets select.
   *
   * @throws NoMatchingDevicesError when they select none
   */
  async add(request: SimFaultRequest): Promise<SimFaultView> {
    const hit = await this.select(request.targets);
    if (hit.length === 0)
      throw new NoMatchingDevicesError(
        `no simulated device matches the targets (the fleet has ${this.devices.length}: sim-0001 ... , types ${[...new Set(this.devices.map((d) => d.thingType))].join(', ')})`,
      );
    // A device holds one fault of a kind: an older fault of this kind lets go of the devices hit again.
    for (const entry of this.entries.values()) {
      if (entry.view.effect.kind !== request.effect.kind) continue;
      const left = entry.devices.filter((d) => !hit.includes(d));
      if (left.length < entry.devices.length) this.replace(entry, left);
    }
    const faultId = `fault-${randomUUID().slice(0, 8)}`;
    const startedAt = this.now();
    const view: SimFaultView = {
      faultId,
      effect: request.effect,
      targets: request.targets,
      devices: hit.slice(0, LISTED_DEVICES).map((d) => d.thingName),
      deviceCount: hit.length,
      startedAt: new Date(startedAt).toISOString(),
      ...(request.durationS === undefined
        ? {}
        : { endsAt: new Date(startedAt + request.durationS * 1000).toISOString() }),
    };
    for (const device of hit) device.injectFault(request.effect);
    const timer =
      request.durationS === undefined
        ? undefined
        : setTimeout(() => this.clear(faultId), request.durationS * 1000);
    timer?.unref();
    this.entries.set(faultId, { view, devices: hit, timer });
    return view;
  }

  /** The faults in force, oldest first. */
  list(): SimFaultView[] {
    return [...this.entries.values()].map((e) => e.view);
  }

  /** Clears one fault: its devices behave again (a drained battery stays drained). */
  clear(faultId: string): SimFaultView | undefined {
    const entry = this.entries.get(faultId);
    if (entry === undefined) return undefined;
    clearTimeout(entry.timer);
    this.entries.delete(faultId);
    for (const device of entry.devices) device.clearFault(entry.view.effect.kind);
    return entry.view;
  }

  /** Clears every fault; returns how many there were. */
  clearAll(): number {
    const ids = [...this.entries.keys()];
    for (const id of ids) this.clear(id);
    return ids.length;
  }

  /** Stops the timers of faults with a duration (the platform is stopping). */
  close(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
  }

  private replace(entry: Entry, devices: readonly FaultableDevice[]): void {
    if (devices.length === 0) {
      clearTimeout(entry.timer);
      this.entries.delete(entry.view.faultId);
      return;
    }
    this.entries.set(entry.view.faultId, {
      ...entry,
      devices,
      view: {
        ...entry.view,
        devices: devices.slice(0, LISTED_DEVICES).map((d) => d.thingName),
        deviceCount: devices.length,
      },
    });
  }

  private async select(targets: SimFaultRequest['targets']): Promise<FaultableDevice[]> {
    const needsRegistry = targets.groups !== undefined || targets.attributes !== undefined;
    const records = needsRegistry ? await this.lookup(this.devices.map((d) => d.thingName)) : new Map();
    const matches = selectorOf(targets);
    const salt = targets.cohortSalt ?? DEFAULT_COHORT_SALT;
    const fraction = (targets.percentage ?? 100) / 100;
    return this.devices.filter((device) => {
      const record: RolloutDevice = records.get(device.thingName) ?? {
        thingName: device.thingName,
        deviceType: device.thingType,
        firmwareVersion: device.firmwareVersion(),
      };
      return matches(record) && cohortOf(device.thingName, salt) < fraction;
    });
  }
}
