import type { SensorReading } from '../../../lib/protocol/coap.ts';
import type { FieldIssue } from '../../../lib/protocol/errors.ts';
import type { Reading } from '../../../lib/protocol/messages.ts';

/**
 * The pure side of the gateway: how a sensor's readings become the device's, and the bounded table
 * of sensors the gateway has heard from. No I/O and no clock: time comes in as an argument.
 */

/** The device metric a sensor's metric becomes: `<sensorId>_<metric>` (`th1_temp`). */
export function deviceMetricKey(sensorId: string, metric: string): string {
  return `${sensorId}_${metric}`;
}

/**
 * Maps one sensor reading to a device reading: every metric prefixed with the sensor's id, `ts`
 * taken from the sensor or, for a sensor without a clock, the time it arrived. The sensor's `seq`
 * stays behind: the uplink numbers the device's readings itself.
 */
export function toDeviceReading(sensorId: string, reading: SensorReading, receivedAt: number): Reading {
  const values: Record<string, number> = {};
  for (const [metric, value] of Object.entries(reading.values))
    values[deviceMetricKey(sensorId, metric)] = value;
  return { ts: reading.ts ?? receivedAt, values };
}

/**
 * Readings stamped further ahead of the device's clock than `maxSkewMs`: a sensor with a wrong clock
 * would otherwise put readings into the future of every chart and window downstream.
 */
export function findFutureReadings(
  readings: readonly SensorReading[],
  now: number,
  maxSkewMs: number,
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  readings.forEach((reading, index) => {
    if (reading.ts !== undefined && reading.ts > now + maxSkewMs)
      issues.push({
        field: readings.length === 1 ? 'ts' : `readings.${index}.ts`,
        reason: `is ${reading.ts - now} ms ahead of the gateway's clock (at most ${maxSkewMs} allowed)`,
      });
  });
  return issues;
}

/** A reading as the gateway keeps it for `GET /sensors/{id}/readings`: the sensor's view, stamped. */
export interface SensorHistoryEntry {
  readonly ts: number;
  readonly seq?: number;
  readonly values: Readonly<Record<string, number>>;
}

/** What the gateway knows of one sensor. */
export interface SensorSummary {
  readonly id: string;
  /** Gateway clock when its last accepted readings arrived. */
  readonly lastSeen: number;
  /** Readings accepted from it since it was first seen. */
  readonly accepted: number;
}

interface SensorState {
  lastSeen: number;
  accepted: number;
  history: SensorHistoryEntry[];
}

export interface SensorTableOptions {
  /** Most sensors tracked at once. */
  readonly maxSensors: number;
  /** Readings kept per sensor for GET (oldest dropped first). */
  readonly historyPerSensor: number;
}

/**
 * The sensors the gateway has heard from, bounded in count and history. Callers check with
 * {@link SensorTable.canAdmit} before forwarding readings and {@link SensorTable.record} only once
 * they were accepted, so a refused request leaves the table as it was.
 */
export class SensorTable {
  private readonly sensors = new Map<string, SensorState>();

  constructor(private readonly options: SensorTableOptions) {
    if (!Number.isInteger(options.maxSensors) || options.maxSensors < 1)
      throw new RangeError(`maxSensors must be a positive integer, got ${options.maxSensors}`);
    if (!Number.isInteger(options.historyPerSensor) || options.historyPerSensor < 1)
      throw new RangeError(`historyPerSensor must be a positive integer, got ${options.historyPerSensor}`);
  }

  get size(): number {
    return this.sensors.size;
  }

  has(id: string): boolean {
    return this.sensors.has(id);
  }

  /** Whether readings from `id` may be taken: a known sensor always, a new one while there is room. */
  canAdmit(id: string): boolean {
    return this.sensors.has(id) || this.sensors.size < this.options.maxSensors;
  }

  /**
   * Records accepted readings of `id`, adding the sensor when new.
   *
   * @returns whether the sensor was new
   */
  record(id: string, readings: readonly SensorReading[], receivedAt: number): boolean {
    const existing = this.sensors.get(id);
    const state = existing ?? { lastSeen: receivedAt, accepted: 0, history: [] };
    for (const reading of readings)
      state.history.push({
        ts: reading.ts ?? receivedAt,
        ...(reading.seq === undefined ? {} : { seq: reading.seq }),
        values: { ...reading.values },
      });
    if (state.history.length > this.options.historyPerSensor)
      state.history.splice(0, state.history.length - this.options.historyPerSensor);
    state.lastSeen = receivedAt;
    state.accepted += readings.length;
    this.sensors.set(id, state);
    return existing === undefined;
  }

  /** The last readings of `id`, oldest first, or `undefined` for a sensor never heard from. */
  history(id: string): readonly SensorHistoryEntry[] | undefined {
    return this.sensors.get(id)?.history.slice();
  }

  summaries(): SensorSummary[] {
    return [...this.sensors].map(([id, s]) => ({ id, lastSeen: s.lastSeen, accepted: s.accepted }));
  }

  /** Forgets `id`, freeing its place. @returns whether it was known */
  remove(id: string): boolean {
    return this.sensors.delete(id);
  }
}
