import type { AlertSeverity } from '../../../lib/protocol/telemetry-rules.ts';

/**
 * What the stream processor remembers about one device between records and batches. Plain JSON (no
 * Maps, offsets as strings) so the handler can store it as one item per device.
 */

/** The device a reading came from, as the IoT rule named it from the topic. */
export interface DeviceRef {
  readonly deviceId: string;
  readonly deviceType: string;
}

/** One sample the engine evaluates: a decoded reading, with the broker's receive time when known. */
export interface TimedReading {
  /** Device clock, epoch ms (event time). */
  readonly ts: number;
  readonly values: Readonly<Record<string, number>>;
  /** Broker clock, epoch ms (processing time): what heartbeats are measured against. */
  readonly receivedAt?: number;
}

/** The last value of a metric and when it was read, for rate-of-change rules. */
export interface MetricPoint {
  readonly ts: number;
  readonly value: number;
}

/** An alert that was raised and not yet cleared, remembered so it is raised once, not on every reading. */
export interface ActiveAlert {
  readonly id: string;
  readonly type: string;
  readonly severity: AlertSeverity;
  readonly metric: string;
  readonly threshold: number;
  readonly value: number;
  /** Reading time that raised it; part of the alert id. */
  readonly raisedAt: number;
}

/** Running min / max / sum / count of one metric in a window: enough for the mean, and mergeable. */
export interface MetricAggregate {
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  readonly count: number;
}

/** The device's open 1-minute window. */
export interface OpenWindow {
  /** Start, epoch ms, aligned to the minute; the window covers `[start, start + 60 s)`. */
  readonly start: number;
  readonly metrics: Readonly<Record<string, MetricAggregate>>;
}

/** Per-device state of the stream processor. */
export interface DeviceStreamState {
  readonly deviceId: string;
  readonly deviceType: string;
  /** Newest reading time the rules have seen; older readings are out of order and skip the rules. */
  readonly lastReadingTs?: number;
  /** Broker receive time of the newest record, epoch ms: the heartbeat sweep's `lastSeen`. */
  readonly lastSeen?: number;
  /** Last value per metric that a rate-of-change rule watches. */
  readonly lastValues: Readonly<Record<string, MetricPoint>>;
  /** Raised, not yet cleared alerts, by rule id. */
  readonly activeAlerts: Readonly<Record<string, ActiveAlert>>;
  readonly window?: OpenWindow;
  /** Readings before this time are late: their window was already emitted. */
  readonly lateBefore?: number;
  /**
   * Highest Kafka offset applied, per partition, as a decimal string (offsets are 64-bit). A record at
   * or below it was applied before: an at-least-once redelivery, skipped so it counts once.
   */
  readonly offsets: Readonly<Record<string, string>>;
  /** When the processor last wrote this state, epoch ms (for the state table's expiry of gone devices). */
  readonly updatedAt?: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A private, mutable copy of a state that the functions of this folder build the next state in. */
export interface StateDraft
  extends Mutable<Omit<DeviceStreamState, 'lastValues' | 'activeAlerts' | 'window' | 'offsets'>> {
  offsets: Record<string, string>;
  lastValues: Record<string, MetricPoint>;
  activeAlerts: Record<string, ActiveAlert>;
  window?: { start: number; metrics: Record<string, Mutable<MetricAggregate>> };
}

/**
 * Copies `state` (or starts an empty one) so the copy can be changed without touching the input. The
 * window's aggregates are copied one level deeper because they are updated in place, reading by reading.
 */
export function draftOf(state: DeviceStreamState | undefined, device: DeviceRef): StateDraft {
  if (state === undefined) {
    return { ...device, lastValues: {}, activeAlerts: {}, offsets: {} };
  }
  const { window, ...rest } = state;
  const draft: StateDraft = {
    ...rest,
    deviceType: device.deviceType,
    lastValues: { ...state.lastValues },
    activeAlerts: { ...state.activeAlerts },
    offsets: { ...state.offsets },
  };
  if (window !== undefined) {
    const metrics: Record<string, Mutable<MetricAggregate>> = {};
    for (const name in window.metrics) {
      const aggregate = window.metrics[name];
      if (aggregate !== undefined) metrics[name] = { ...aggregate };
    }
    draft.window = { start: window.start, metrics };
  }
  return draft;
}
