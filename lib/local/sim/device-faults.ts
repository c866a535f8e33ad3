import type { SensorState } from '../../../edge/src/sensors/sensor-model.ts';
import type { SimFaultEffect, SimFaultKind } from '../../protocol/sim-faults.ts';

/** What a fault changes outside the sensor model: the device's link and its modem's radio. */
export interface FaultHooks {
  /** The network is gone (true) or back (false). */
  offline(on: boolean): void;
  /** The link drops every so often (settings), or no more (undefined). */
  flaky(settings: { readonly everyMs: number; readonly downMs: number } | undefined): void;
  /** The radio's mean signal: a weak cell, or undefined for the device's own again. */
  signal(signal: { readonly rsrpDbm: number; readonly rsrqDb: number } | undefined): void;
}

type Effect<K extends SimFaultKind> = Extract<SimFaultEffect, { kind: K }>;

interface Active {
  readonly effect: SimFaultEffect;
  readonly since: number;
  /** For a drain: the charge when it began. */
  readonly fromPercent?: number;
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * The faults injected into one simulated device, one per kind (a new one replaces the old), and what
 * they do to it: the readings (overheat, battery), the radio and the link (through {@link FaultHooks}),
 * and firmware installs. Faults outlive a reboot: the hooks are applied again by {@link reapply}.
 */
export class DeviceFaults {
  private readonly active = new Map<SimFaultKind, Active>();

  constructor(
    private readonly state: SensorState,
    private readonly now: () => number,
    private hooks: FaultHooks | undefined = undefined,
  ) {}

  /** The effects in force. */
  list(): SimFaultEffect[] {
    return [...this.active.values()].map((a) => a.effect);
  }

  has(kind: SimFaultKind): boolean {
    return this.active.has(kind);
  }

  set(effect: SimFaultEffect): void {
    this.active.set(effect.kind, {
      effect,
      since: this.now(),
      ...(effect.kind === 'drain-battery' ? { fromPercent: this.state.battery } : {}),
    });
    this.apply(effect.kind);
  }

  clear(kind: SimFaultKind): void {
    if (!this.active.delete(kind)) return;
    this.apply(kind);
  }

  /** New hooks (a power-on made a new link and modem): they get the faults in force. */
  reapply(hooks: FaultHooks | undefined): void {
    this.hooks = hooks;
    for (const kind of ['offline', 'flaky-link', 'weak-signal'] as const)
      if (this.active.has(kind)) this.apply(kind);
  }

  /**
   * Readings as the faults make them: an overheating sensor reads high; a draining battery is run
   * down in the sensor model's own state, so it stays low once the fault is cleared (as a battery does).
   */
  adjust<T extends { temperature: number; battery: number }>(values: T): T {
    let result = values;
    const drain = this.active.get('drain-battery');
    if (drain !== undefined) {
      const effect = drain.effect as Effect<'drain-battery'>;
      const from = Math.max(drain.fromPercent ?? this.state.battery, effect.toPercent);
      const share =
        effect.overSeconds === 0 ? 1 : Math.min(1, (this.now() - drain.since) / (effect.overSeconds * 1000));
      this.state.battery = Math.min(this.state.battery, from - (from - effect.toPercent) * share);
      result = { ...result, battery: Math.min(result.battery, Math.round(this.state.battery)) };
    }
    const heat = this.active.get('overheat')?.effect as Effect<'overheat'> | undefined;
    if (heat !== undefined) result = { ...result, temperature: round2(result.temperature + heat.celsius) };
    return result;
  }

  /** Where installing `version` fails because of a fault, if it does. */
  firmwareFailure(version: string): 'install' | 'health-check' | undefined {
    const failure = this.active.get('firmware-failure')?.effect as Effect<'firmware-failure'> | undefined;
    if (failure === undefined || (failure.version !== undefined && failure.version !== version))
      return undefined;
    return failure.failAt;
  }

  private apply(kind: SimFaultKind): void {
    if (kind === 'offline') this.hooks?.offline(this.active.has('offline'));
    if (kind === 'flaky-link') {
      const flaky = this.active.get('flaky-link')?.effect as Effect<'flaky-link'> | undefined;
      this.hooks?.flaky(
        flaky === undefined
          ? undefined
          : { everyMs: flaky.dropEverySeconds * 1000, downMs: flaky.downSeconds * 1000 },
      );
    }
    if (kind === 'weak-signal') {
      const weak = this.active.get('weak-signal')?.effect as Effect<'weak-signal'> | undefined;
      this.hooks?.signal(weak === undefined ? undefined : { rsrpDbm: weak.rsrpDbm, rsrqDb: weak.rsrqDb });
    }
  }
}
