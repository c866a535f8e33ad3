import { METRICS } from '../../lib/protocol/metrics.ts';
import type { TelemetryRule } from '../../lib/protocol/telemetry-rules.ts';
import { ONLINE_SHARDS } from '../adapters/dynamo-device-registry.ts';
import { fleetHealthView } from '../domain/fleet/health.ts';
import { type TelemetryAlert, withAlerts } from '../domain/telemetry/alerts.ts';
import { heartbeatLimitMs, rulesFor } from '../domain/telemetry/compiled-rules.ts';
import { sweepHeartbeats } from '../domain/telemetry/heartbeat.ts';
import type { DeviceStreamState } from '../domain/telemetry/state.ts';
import {
  closeIdleWindow,
  DEFAULT_IDLE_GRACE_MS,
  WINDOW_MS,
  type WindowAggregate,
} from '../domain/telemetry/windows.ts';
import type {
  AggregateStore,
  AlertStore,
  DeviceRecord,
  DeviceRegistry,
  DeviceStateStore,
  FleetHealthStore,
  RecordProducer,
} from '../ports.ts';
import type { Metrics } from '../shared/metrics.ts';
import { recordHealthChange } from './fleet-health-recorder.ts';

export interface FleetSweeperProps {
  readonly registry: DeviceRegistry;
  readonly states: DeviceStateStore;
  readonly alerts: AlertStore;
  readonly aggregates: AggregateStore;
  readonly health: FleetHealthStore;
  readonly producer: RecordProducer;
  readonly alertsTopic: string;
  readonly rules: () => Promise<readonly TelemetryRule[]>;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** Devices looked at per shard and run, so one run stays within its timeout. @default 1000 */
  readonly perShard?: number;
  /** Offline after this long without a heartbeat rule for the device's type, ms. @default 900000 (3 × the agent's 300 s status interval) */
  readonly defaultOfflineAfterMs?: number;
}

/** What one sweep did. */
export interface SweepSummary {
  readonly looked: number;
  readonly wentOffline: number;
  readonly alerts: number;
  readonly windows: number;
}

/**
 * The scheduled half of telemetry: silence produces no record, so a sweep finds the devices that went
 * quiet — from the registry's sparse online index, never a scan of the fleet — flushes their open
 * 1-minute windows, and past their heartbeat limit marks them offline with a heartbeat alert.
 */
export class FleetSweeper {
  constructor(private readonly props: FleetSweeperProps) {}

  async sweep(): Promise<SweepSummary> {
    const { props } = this;
    const now = props.now();
    const rules = await props.rules();
    // Quiet long enough to flush a window, or to cross the shortest heartbeat limit, whichever is sooner.
    const shortestHeartbeat = Math.min(
      ...[...new Set(rules.map((r) => r.deviceType).filter((t) => t !== undefined))].map((t) =>
        this.offlineAfterMs(rules, t),
      ),
      this.offlineAfterMs(rules, '*'),
    );
    const quietSince = now - Math.min(WINDOW_MS + DEFAULT_IDLE_GRACE_MS, shortestHeartbeat);
    const quiet: DeviceRecord[] = [];
    for (let shard = 0; shard < ONLINE_SHARDS; shard++) {
      quiet.push(...(await props.registry.silentDevices(shard, quietSince, props.perShard ?? 1000)));
    }
    const states = await props.states.loadMany(quiet.map((d) => d.deviceId));
    const alerts: TelemetryAlert[] = [];
    const windows: WindowAggregate[] = [];
    let wentOffline = 0;

    for (const device of quiet) {
      // The online index holds only devices heard from; a record without lastSeen is not one.
      if (device.lastSeen === undefined) continue;
      const stored = states.get(device.deviceId);
      let state: DeviceStreamState = stored?.state ?? {
        deviceId: device.deviceId,
        deviceType: device.deviceType,
        lastSeen: device.lastSeen,
        lastValues: {},
        activeAlerts: {},
        offsets: {},
      };
      const flushed = closeIdleWindow(state, now);
      state = flushed.state;
      if (flushed.closed) windows.push(flushed.closed);

      if (now - device.lastSeen >= this.offlineAfterMs(rules, device.deviceType)) {
        const change = await props.registry.markOffline(device.deviceId, device.lastSeen);
        if (change !== undefined) {
          wentOffline++;
          await recordHealthChange(props.health, change.before, change.after);
        }
      }
      const raised = sweepHeartbeats([{ ...state, lastSeen: state.lastSeen ?? device.lastSeen }], rules, now);
      alerts.push(...raised);
      state = withAlerts(state, raised);
      if (flushed.closed || raised.length > 0) {
        // A conflict means the device spoke meanwhile: its own records decide; the next sweep looks again.
        await props.states.save({ ...state, updatedAt: now }, stored?.revision);
      }
    }

    await Promise.all([
      props.alerts.put(alerts),
      props.aggregates.put(windows),
      props.producer.send(
        props.alertsTopic,
        alerts.map((a) => ({ key: a.deviceId, value: JSON.stringify(a) })),
      ),
    ]);
    for (const alert of alerts)
      props.metrics.put(METRICS.alertsRaised, 1, 'Count', { AlertType: alert.type });
    const view = fleetHealthView(
      (await props.health.readAll()).flatMap(({ dimension, counters }) =>
        Object.entries(counters).map(([counter, value]) => ({ dimension, counter, value })),
      ),
    );
    props.metrics.put(METRICS.fleetDevices, view.devices);
    // Emitted on every run, 100 for an empty fleet: the offline alarm treats missing data as breaching.
    props.metrics.put(METRICS.fleetOnlinePercent, view.devices > 0 ? view.onlinePercent : 100, 'Percent');
    return { looked: quiet.length, wentOffline, alerts: alerts.length, windows: windows.length };
  }

  /** The shortest heartbeat limit among the type's heartbeat rules, or the default. */
  private offlineAfterMs(rules: readonly TelemetryRule[], deviceType: string): number {
    const limits = rulesFor(rules, deviceType).heartbeats.map(heartbeatLimitMs);
    return limits.length > 0 ? Math.min(...limits) : (this.props.defaultOfflineAfterMs ?? 900_000);
  }
}
