import type { AlertSeverity } from '../../../lib/protocol/telemetry-rules.ts';
import { type SeqWindowDraft, type SeqWindowState, seqWindowDraft, seqWindowState } from './dedup.ts';

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
  /**
   * The log `offsets` count in (one incarnation of the topic: `StreamRecord.log`). Absent in a state
   * written before logs were told apart, and in one that no record has reached yet.
   */
  readonly log?: string;
  /** The seqs of the readings applied lately, so a reading the device sent again is dropped (`dedup.ts`). */
  readonly seqs?: SeqWindowState;
  /** When the processor last wrote this state, epoch ms (for the state table's expiry of gone devices). */
  readonly updatedAt?: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type OpenWindowDraft = { start: number; metrics: Record<string, Mutable<MetricAggregate>> };

/**
 * A private, mutable copy of a state that the functions of this folder build the next state in. Every
 * field is always present (undefined when unset) so all drafts share one object shape, which keeps
 * property access on the per-reading path monomorphic.
 */
export interface StateDraft {
  deviceId: string;
  deviceType: string;
  lastReadingTs: number | undefined;
  lastSeen: number | undefined;
  lastValues: Record<string, MetricPoint>;
  activeAlerts: Record<string, ActiveAlert>;
  window: OpenWindowDraft | undefined;
  lateBefore: number | undefined;
  offsets: Record<string, string>;
  log: string | undefined;
  seqs: SeqWindowDraft | undefined;
  updatedAt: number | undefined;
}

function copyWindow(window: OpenWindow): OpenWindowDraft {
  // The aggregates are updated in place, reading by reading, so they are copied one level deeper.
  const metrics: Record<string, Mutable<MetricAggregate>> = {};
  for (const name in window.metrics) {
    const a = window.metrics[name] as MetricAggregate;
    metrics[name] = { min: a.min, max: a.max, sum: a.sum, count: a.count };
  }
  return { start: window.start, metrics };
}

/** Copies `state` (or starts an empty one) so the copy can be changed without touching the input. */
export function draftOf(state: DeviceStreamState | undefined, device: DeviceRef): StateDraft {
  if (state === undefined) {
    return {
      deviceId: device.deviceId,
      deviceType: device.deviceType,
      lastReadingTs: undefined,
      lastSeen: undefined,
      lastValues: {},
      activeAlerts: {},
      window: undefined,
      lateBefore: undefined,
      offsets: {},
      log: undefined,
      seqs: undefined,
      updatedAt: undefined,
    };
  }
  return {
    deviceId: device.deviceId,
    deviceType: device.deviceType,
    lastReadingTs: state.lastReadingTs,
    lastSeen: state.lastSeen,
    lastValues: { ...state.lastValues },
    activeAlerts: { ...state.activeAlerts },
    window: state.window === undefined ? undefined : copyWindow(state.window),
    lateBefore: state.lateBefore,
    offsets: { ...state.offsets },
    log: state.log,
    seqs: state.seqs === undefined ? undefined : seqWindowDraft(state.seqs),
    updatedAt: state.updatedAt,
  };
}

/** The state a draft ended as, without the unset fields (a DynamoDB marshaller refuses `undefined`). */
export function stateOf(draft: StateDraft): DeviceStreamState {
  const { deviceId, deviceType, lastValues, activeAlerts, offsets } = draft;
  const state: Mutable<DeviceStreamState> = { deviceId, deviceType, lastValues, activeAlerts, offsets };
  if (draft.lastReadingTs !== undefined) state.lastReadingTs = draft.lastReadingTs;
  if (draft.lastSeen !== undefined) state.lastSeen = draft.lastSeen;
  if (draft.window !== undefined) state.window = draft.window;
  if (draft.lateBefore !== undefined) state.lateBefore = draft.lateBefore;
  if (draft.log !== undefined) state.log = draft.log;
  if (draft.seqs !== undefined) state.seqs = seqWindowState(draft.seqs);
  if (draft.updatedAt !== undefined) state.updatedAt = draft.updatedAt;
  return state;
}
