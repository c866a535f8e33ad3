import { readFileSync } from 'node:fs';
import type { TelemetryAlert } from '../../../../lambdas/domain/telemetry/alerts.ts';
import type { StreamRecord } from '../../../../lambdas/domain/telemetry/batch.ts';
import type { TimedReading } from '../../../../lambdas/domain/telemetry/state.ts';
import { type TelemetryRuleSet, telemetryRuleSet } from '../../../../lib/protocol/telemetry-rules.ts';

/** 2025-11-26T22:33:00.000Z: a minute boundary, so window tests read in whole seconds from it. */
export const T0 = 1_764_196_380_000;
/** Seconds after {@link T0} → epoch ms. */
export const at = (seconds: number): number => T0 + seconds * 1000;

/** The log (cluster and topic) that test records come from, as `topicLogId` names one. */
export const LOG = 'a1b2c3d4-0000-4000-8000-000000000001-1/iot-telemetry';

/** The parsed JSON of a fixture under `test/fixtures/telemetry/`. */
export function telemetryFixture(path: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../../fixtures/telemetry/${path}`, import.meta.url), 'utf8'));
}

/** A rule-set fixture, parsed as the handler would parse it from the config table. */
export function rulesFixture(name: string): TelemetryRuleSet {
  return telemetryRuleSet.parse(telemetryFixture(`rules/${name}`));
}

/** Device identity as an IoT rule envelope carries it. */
export interface EnvelopeFields {
  readonly deviceType: string;
  readonly deviceId: string;
  readonly clientId: string;
  readonly receivedAt: number;
}

const utf8 = new TextEncoder();

/** The Kafka value the IoT rule produces for a device payload: its envelope with the payload as base64. */
export function ruleRecordValue(envelope: EnvelopeFields, payload: string | Uint8Array): Uint8Array {
  const bytes = typeof payload === 'string' ? utf8.encode(payload) : payload;
  return utf8.encode(JSON.stringify({ payload: Buffer.from(bytes).toString('base64'), ...envelope }));
}

/**
 * One record of a records fixture: a device payload as JSON (`payload`) or as text (`payloadText`)
 * wrapped in an `envelope`; or a whole record value as JSON (`value`) or text (`raw`), for records
 * the IoT rule would never produce.
 */
interface RecordFixture {
  readonly partition?: number;
  readonly offset: string;
  readonly envelope?: EnvelopeFields;
  readonly payload?: unknown;
  readonly payloadText?: string;
  readonly value?: unknown;
  readonly raw?: string;
}

/** A records fixture as the handler passes records to `processBatch` (partition 3 unless given). */
export function recordsFixture(name: string): StreamRecord[] {
  return (telemetryFixture(`records/${name}`) as RecordFixture[]).map((r) => {
    const value =
      r.raw !== undefined
        ? utf8.encode(r.raw)
        : r.value !== undefined
          ? utf8.encode(JSON.stringify(r.value))
          : ruleRecordValue(r.envelope as EnvelopeFields, r.payloadText ?? JSON.stringify(r.payload));
    return { log: LOG, partition: r.partition ?? 3, offset: r.offset, value };
  });
}

/** `[seconds after T0, values]` → a reading received one second after it was taken. */
export type ReadingRow = readonly [number, Readonly<Record<string, number>>];
export const readingsAt = (rows: readonly ReadingRow[]): TimedReading[] =>
  rows.map(([seconds, values]) => ({ ts: at(seconds), values, receivedAt: at(seconds + 1) }));

/** An alert edge as a short line (`raised HIGH_TEMPERATURE @60s 51 > 50`), so tables read like a log. */
export function edgeLine(alert: TelemetryAlert): string {
  const seconds = (alert.at - T0) / 1000;
  return `${alert.state} ${alert.type} @${seconds}s ${round(alert.value)} vs ${round(alert.threshold)}`;
}

const round = (value: number) => Number(value.toPrecision(6));

/** Freezes a value and everything in it, so a test fails if a pure function writes to its input. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
