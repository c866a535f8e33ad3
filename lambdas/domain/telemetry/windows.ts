import {
  type DeviceRef,
  type DeviceStreamState,
  draftOf,
  type OpenWindow,
  type StateDraft,
  stateOf,
  type TimedReading,
} from './state.ts';

/** Window length: 1-minute tumbling windows, aligned to the minute of the device clock (event time). */
export const WINDOW_MS = 60_000;

/**
 * How long after a window's end the idle flush waits by default: readings reach the processor some
 * seconds after they were taken (device batching, broker, Kafka batching window), and a window flushed
 * too early turns them into late readings.
 */
export const DEFAULT_IDLE_GRACE_MS = 60_000;

/** One metric's statistics over a closed window. */
export interface MetricSummary {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly sum: number;
  readonly count: number;
}

/** A closed 1-minute window of one device. */
export interface WindowAggregate {
  /** `{deviceId}/{start}`: stable across reprocessing, so writing it twice writes the same item. */
  readonly id: string;
  readonly deviceId: string;
  readonly deviceType: string;
  /** Epoch ms, inclusive, aligned to the minute. */
  readonly start: number;
  /** Epoch ms, exclusive. */
  readonly end: number;
  readonly metrics: Readonly<Record<string, MetricSummary>>;
}

function summarise(device: DeviceRef, window: OpenWindow): WindowAggregate {
  const metrics: Record<string, MetricSummary> = {};
  for (const name in window.metrics) {
    const a = window.metrics[name];
    if (a !== undefined)
      metrics[name] = { min: a.min, max: a.max, mean: a.sum / a.count, sum: a.sum, count: a.count };
  }
  return {
    id: `${device.deviceId}/${window.start}`,
    deviceId: device.deviceId,
    deviceType: device.deviceType,
    start: window.start,
    end: window.start + WINDOW_MS,
    metrics,
  };
}

/**
 * Adds one reading to the device's open window, closing it first when the reading is at or past its
 * end (the closed window is appended to `closed`).
 *
 * @returns true when the reading is late — older than the open window's start, or inside a window
 *   already emitted — and was left out of the aggregates
 */
export function addToWindow(draft: StateDraft, reading: TimedReading, closed: WindowAggregate[]): boolean {
  const { ts, values } = reading;
  if (draft.lateBefore !== undefined && ts < draft.lateBefore) return true;
  let window = draft.window;
  if (window !== undefined && ts >= window.start + WINDOW_MS) {
    closed.push(summarise(draft, window));
    window = undefined;
  }
  if (window === undefined) {
    // Tumbling windows skip empty minutes: a device silent for an hour emits no hour of empty windows.
    window = { start: ts - (ts % WINDOW_MS), metrics: {} };
    draft.window = window;
    draft.lateBefore = window.start;
  }
  const metrics = window.metrics;
  for (const name in values) {
    const value = values[name];
    if (value === undefined) continue;
    const a = metrics[name];
    if (a === undefined) {
      metrics[name] = { min: value, max: value, sum: value, count: 1 };
    } else {
      if (value < a.min) a.min = value;
      if (value > a.max) a.max = value;
      a.sum += value;
      a.count += 1;
    }
  }
  return false;
}

/**
 * Adds readings (oldest first) to a device's windows.
 *
 * @returns the next state (the input is not changed), the windows the readings closed, and how many
 *   readings were late and left out
 */
export function aggregateReadings(
  state: DeviceStreamState | undefined,
  device: DeviceRef,
  readings: readonly TimedReading[],
): { state: DeviceStreamState; closedWindows: WindowAggregate[]; lateReadings: number } {
  const draft = draftOf(state, device);
  const closedWindows: WindowAggregate[] = [];
  let lateReadings = 0;
  for (const reading of readings) if (addToWindow(draft, reading, closedWindows)) lateReadings++;
  return { state: stateOf(draft), closedWindows, lateReadings };
}

/**
 * Closes the open window of a device that went quiet, for a scheduled function: without it, the last
 * minute of a device that stops sending would never be emitted. Readings for the flushed minute that
 * arrive afterwards are late.
 *
 * @param now the scheduler's clock, epoch ms
 * @param graceMs how long past the window's end to wait for stragglers
 * @returns the state unchanged and no window while the window may still receive readings
 */
export function closeIdleWindow(
  state: DeviceStreamState,
  now: number,
  graceMs: number = DEFAULT_IDLE_GRACE_MS,
): { state: DeviceStreamState; closed?: WindowAggregate } {
  const window = state.window;
  if (window === undefined || now < window.start + WINDOW_MS + graceMs) return { state };
  const { window: _flushed, ...rest } = state;
  return { state: { ...rest, lateBefore: window.start + WINDOW_MS }, closed: summarise(state, window) };
}
