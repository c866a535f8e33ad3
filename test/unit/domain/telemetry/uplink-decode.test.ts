import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import { processBatch, type StreamRecord } from '../../../../lambdas/domain/telemetry/batch.ts';
import {
  type DecodeStage,
  decodeRecord,
  PAYLOAD_FORMATS,
  UPLINK_BATCH_PAYLOAD,
} from '../../../../lambdas/domain/telemetry/decode.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { DEFAULT_RULES, telemetryRuleSet } from '../../../../lib/protocol/telemetry-rules.ts';
import { encodeUplinkBatch } from '../../../../lib/protocol/uplink/codec.ts';
import { sensorReadings } from '../../protocol/uplink/support.ts';
import { at, LOG, ruleRecordValue } from './support.ts';

/** The stream processor's side of the compact uplink: the same readings out of either encoding. */

const envelope = { deviceType: 'sensor', deviceId: 'dev-1', clientId: 'dev-1', receivedAt: at(3600) };
const asJson = (readings: readonly Reading[]) => ruleRecordValue(envelope, JSON.stringify({ readings }));
const asUplink = (readings: readonly Reading[]) =>
  ruleRecordValue(envelope, encodeUplinkBatch({ batchId: 1, readings }));

/** An hour of one device every 10 s starting at T0, from the simulator's sensor model. */
const hour = sensorReadings(seededRandom('uplink-decode'), 360).map((r, i) => ({ ...r, ts: at(i * 10) }));

describe('the stream processor decodes uplink batches', () => {
  it('into the readings the JSON path gives for the same readings', () => {
    // Prepare
    const readings = hour.slice(0, 60);

    // Act
    const fromJson = decodeRecord(asJson(readings));
    const fromUplink = decodeRecord(asUplink(readings));

    // Assess
    expect(fromJson.ok).toBe(true);
    expect(fromUplink).toEqual(fromJson);
  });

  it('with missing values, missing seq and out-of-order readings, as the JSON path does', () => {
    // Prepare: every third reading lacks humidity, odd ones lack seq, two swapped in time
    const readings: Reading[] = hour.slice(0, 30).map(({ ts, seq, values }, i) => {
      const { humidity, ...rest } = values;
      const kept = i % 3 === 0 ? rest : values;
      return i % 2 === 1 ? { ts, values: kept } : { ts, seq, values: kept };
    });
    [readings[4], readings[5]] = [readings[5] as Reading, readings[4] as Reading];

    // Act
    const fromJson = decodeRecord(asJson(readings));
    const fromUplink = decodeRecord(asUplink(readings));

    // Assess
    expect(fromJson.ok && fromJson.readings.map((r) => r.ts)).toEqual(hour.slice(0, 30).map((r) => r.ts));
    expect(fromUplink).toEqual(fromJson);
  });

  it('through rules and windows, to the same alerts and aggregates as JSON', () => {
    // Prepare: an hour in six batches, a heat spike in the middle so a rule fires
    const readings = hour.map((r, i) =>
      i >= 150 && i < 160 ? { ...r, values: { ...r.values, temperature: 61.25 } } : r,
    );
    const rules = telemetryRuleSet.parse(DEFAULT_RULES);
    const records = (encode: (r: readonly Reading[]) => Uint8Array): StreamRecord[] =>
      Array.from({ length: 6 }, (_, b) => ({
        log: LOG,
        partition: 0,
        offset: String(b),
        value: encode(readings.slice(b * 60, b * 60 + 60)),
      }));

    // Act
    const json = processBatch(records(asJson), new Map(), rules, at(4000));
    const uplink = processBatch(records(asUplink), new Map(), rules, at(4000));

    // Assess
    expect(json.rejected).toEqual([]);
    expect(json.alerts.map((a) => a.type)).toContain('HIGH_TEMPERATURE');
    expect(json.closedWindows.length).toBeGreaterThan(50);
    expect(uplink).toEqual(json);
  });

  it('is tried after JSON, so JSON records pay for one sniff only', () => {
    expect(PAYLOAD_FORMATS.map((f) => f.name)).toEqual(['json', UPLINK_BATCH_PAYLOAD.name]);
  });
});

describe('the stream processor refuses bad uplink batches with a stage and a reason', () => {
  const good = encodeUplinkBatch({ batchId: 1, readings: hour.slice(0, 10) });
  it.each<[string, Uint8Array, DecodeStage, RegExp]>([
    [
      'a truncated batch',
      ruleRecordValue(envelope, good.subarray(0, good.length - 7)),
      'payload',
      /^invalid telemetry payload: uplink batch: data is cut short/,
    ],
    [
      'another version',
      ruleRecordValue(envelope, new Uint8Array([0xd9, 0xd9, 0xf7, 0x81, 0x07])),
      'payload',
      /^invalid telemetry payload: uplink batch: unsupported version 7/,
    ],
    [
      'garbage after the tag',
      ruleRecordValue(envelope, new Uint8Array([0xd9, 0xd9, 0xf7, 0x9f, 0xc1, 0xfe])),
      'payload',
      /uplink batch: not well-formed CBOR/,
    ],
    [
      'a reading with its time in seconds, judged by the schema as JSON would be',
      asUplink([hour[0] as Reading, { ts: 1_764_196_380, values: { temperature: 20 } }]),
      'telemetry',
      /^invalid telemetry payload: readings\.1\.ts: must be epoch milliseconds after 2000-01-01/,
    ],
    [
      'a reading without values',
      asUplink([hour[0] as Reading, { ts: at(10), values: {} }]),
      'telemetry',
      /readings\.1\.values: must hold at least one metric/,
    ],
    [
      'a reading an hour ahead of the broker clock',
      asUplink([{ ts: at(7300), values: { battery: 50 } }]),
      'telemetry',
      /readings\.0\.ts: is 3700 s ahead/,
    ],
  ])('%s', (_name, value, stage, reason) => {
    // Act
    const decoded = decodeRecord(value);

    // Assess
    expect(decoded).toEqual({ ok: false, stage, reason: expect.stringMatching(reason) });
  });

  it('and the batch goes on: the bad record is rejected (to the DLQ), the good one next to it is processed', () => {
    // Prepare
    const records: StreamRecord[] = [
      {
        log: LOG,
        partition: 0,
        offset: '0',
        value: ruleRecordValue(envelope, new Uint8Array([0xd9, 0xd9, 0xf7])),
      },
      { log: LOG, partition: 0, offset: '1', value: asUplink(hour.slice(0, 5)) },
    ];

    // Act
    const result = processBatch(records, new Map(), [], at(4000));

    // Assess
    expect(result.rejected).toEqual([
      { partition: 0, offset: '0', stage: 'payload', reason: expect.stringMatching(/uplink batch/) },
    ]);
    expect(result.readings.map((r) => r.ts)).toEqual(hour.slice(0, 5).map((r) => r.ts));
  });
});
