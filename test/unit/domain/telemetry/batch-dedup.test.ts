import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import {
  type BatchResult,
  processBatch,
  type StreamRecord,
} from '../../../../lambdas/domain/telemetry/batch.ts';
import type { DeviceStreamState } from '../../../../lambdas/domain/telemetry/state.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { DEFAULT_RULES, telemetryRuleSet } from '../../../../lib/protocol/telemetry-rules.ts';
import { encodeUplinkBatch } from '../../../../lib/protocol/uplink/codec.ts';
import { sensorReadings } from '../../protocol/uplink/support.ts';
import { at, LOG, ruleRecordValue } from './support.ts';

/**
 * The second line of exactly-once: a batch the device itself published again (a new record, so a new
 * offset) adds nothing, judged by `(device, seq)`.
 */

const rules = telemetryRuleSet.parse(DEFAULT_RULES);
const envelope = { deviceType: 'sensor', deviceId: 'dev-1', clientId: 'dev-1', receivedAt: at(7200) };

/** Two hours of one device every 10 s from T0, numbered from 5,000 as a device's uplink numbers them. */
const readings: Reading[] = sensorReadings(seededRandom('batch-dedup'), 720).map((r, i) => ({
  ...r,
  ts: at(i * 10),
  seq: 5_000 + i,
}));

let nextOffset = 100;
/** A record of an uplink batch of `slice`, at the next offset of partition 0. */
function record(slice: readonly Reading[], batchId = 1): StreamRecord {
  return {
    log: LOG,
    partition: 0,
    offset: String(nextOffset++),
    value: ruleRecordValue(envelope, encodeUplinkBatch({ batchId, readings: slice })),
  };
}

/** Runs batches one after another, the states going through JSON between them as the state table keeps them. */
function run(batches: readonly (readonly StreamRecord[])[]): BatchResult[] {
  const stored = new Map<string, DeviceStreamState>();
  return batches.map((records) => {
    const result = processBatch(records, stored, rules, at(7200));
    for (const [id, state] of result.states) stored.set(id, JSON.parse(JSON.stringify(state)));
    return result;
  });
}

/** Per window start, how many temperature values went into it over all `results`. */
function counts(results: readonly BatchResult[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const w of results.flatMap((r) => r.closedWindows))
    out[w.start] = (out[w.start] ?? 0) + (w.metrics.temperature?.count ?? 0);
  return out;
}

describe('processBatch drops readings the device sent again', () => {
  it('a batch published again after a crash (new record, new offset) changes no aggregate', () => {
    // Prepare: a batch of ten minutes that leaves a window open, then the same batch again
    const first = readings.slice(0, 63);
    const later = readings.slice(63, 120);

    // Act: the copy arrives, then the next batch closes the open window
    const withCopy = run([[record(first)], [record(first)], [record(later, 2)]]);
    const without = run([[record(first)], [record(later, 2)]]);

    // Assess
    expect(withCopy[1]).toMatchObject({
      duplicates: 63,
      skipped: 0,
      readings: [],
      alerts: [],
      closedWindows: [],
    });
    expect(counts(withCopy)).toEqual(counts(without));
    expect(Object.values(counts(withCopy))).toEqual(Array.from({ length: 19 }, () => 6));
    expect(withCopy[2]?.readings).toHaveLength(later.length);
  });

  it('a copy that arrives after the batch that followed it adds nothing either', () => {
    // Prepare
    const a = readings.slice(0, 30);
    const b = readings.slice(30, 60);

    // Act
    const results = run([[record(a)], [record(b, 2)], [record(a)], [record(readings.slice(60, 70), 3)]]);

    // Assess
    expect(results.map((r) => [r.readings.length, r.duplicates])).toEqual([
      [30, 0],
      [30, 0],
      [0, 30],
      [10, 0],
    ]);
    expect(Object.values(counts(results)).every((n) => n === 6)).toBe(true);
  });

  it('applies readings that arrive late in seq order, once, and drops their copies', () => {
    // Prepare: the device's batches 1 and 3 arrive, then 2 (late), then 2 again
    const one = readings.slice(0, 20);
    const two = readings.slice(20, 25);
    const three = readings.slice(25, 50);

    // Act
    const results = run([[record(one)], [record(three, 3)], [record(two, 2)], [record(two, 2)]]);

    // Assess
    expect(results.map((r) => [r.readings.length, r.duplicates])).toEqual([
      [20, 0],
      [25, 0],
      [5, 0],
      [0, 5],
    ]);
  });

  it('drops a repeated reading inside a batch that also carries new ones, and applies the new ones', () => {
    // Prepare: the device's journal put two readings into the next batch again after a torn write
    const first = readings.slice(0, 10);
    const overlapping = readings.slice(8, 20);

    // Act
    const results = run([[record(first)], [record(overlapping, 2)]]);

    // Assess
    expect(results[1]).toMatchObject({ duplicates: 2 });
    expect(results[1]?.readings.map((r) => r.seq)).toEqual(readings.slice(10, 20).map((r) => r.seq));
  });
});
