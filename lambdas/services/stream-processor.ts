import { METRICS } from '../../lib/protocol/metrics.ts';
import { type DecodedMskEvent, type DecodedMskRecord, topicLogId } from '../../lib/protocol/msk-event.ts';
import type { TelemetryRule } from '../../lib/protocol/telemetry-rules.ts';
import {
  type LogRestart,
  type ProcessedReading,
  processBatch,
  type StreamRecord,
} from '../domain/telemetry/batch.ts';
import type {
  AggregateStore,
  AlertStore,
  DeviceRegistry,
  DeviceSighting,
  DeviceStateStore,
  FleetHealthStore,
  RecordProducer,
} from '../ports.ts';
import type { Logger } from '../shared/logger.ts';
import type { Metrics } from '../shared/metrics.ts';
import { recordHealthChange } from './fleet-health-recorder.ts';

/** Kafka topics the processor writes to. */
export interface ProcessorTopics {
  readonly processed: string;
  readonly alerts: string;
  readonly deadLetters: string;
}

export interface StreamProcessorProps {
  readonly states: DeviceStateStore;
  readonly alerts: AlertStore;
  readonly aggregates: AggregateStore;
  readonly registry: DeviceRegistry;
  readonly health: FleetHealthStore;
  readonly producer: RecordProducer;
  readonly topics: ProcessorTopics;
  readonly rules: () => Promise<readonly TelemetryRule[]>;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly now: () => number;
}

/** Another writer (the sweeper) changed a device's state while the batch was processed: retry the batch. */
export class StateConflictError extends Error {
  override readonly name = 'StateConflictError';
}

/** What one batch did, for the log and the tests. */
export interface BatchSummary {
  readonly records: number;
  readonly readings: number;
  readonly alerts: number;
  readonly windows: number;
  readonly rejected: number;
  readonly skipped: number;
  /** Readings the devices had sent before, dropped by `(device, seq)`. */
  readonly duplicates: number;
  /** Devices whose records showed that the topic's log started over. */
  readonly restartedLogs: number;
}

const utf8 = new TextDecoder();

/** The registry update the newest reading of each device makes: seen now, battery and signal if measured. */
function sightings(readings: readonly ProcessedReading[]): DeviceSighting[] {
  const newest = new Map<string, ProcessedReading>();
  for (const reading of readings) {
    const seen = newest.get(reading.deviceId);
    if (seen === undefined || reading.receivedAt >= seen.receivedAt) newest.set(reading.deviceId, reading);
  }
  return [...newest.values()].map((r) => ({
    deviceId: r.deviceId,
    deviceType: r.deviceType,
    lastSeen: r.receivedAt,
    ...(r.values.battery === undefined ? {} : { battery: { percent: r.values.battery } }),
    ...(r.values.rsrp === undefined
      ? {}
      : { signal: { rsrp: r.values.rsrp, ...(r.values.rsrq === undefined ? {} : { rsrq: r.values.rsrq }) } }),
  }));
}

/**
 * One warning per log that started over, not one per device: a recreated topic reaches every device.
 * The stored offsets were of `previousLog`; records of `log` at or below them are applied, not skipped.
 */
function warnRestartedLogs(log: Logger, restarts: readonly LogRestart[]): void {
  const byChange = new Map<string, LogRestart[]>();
  for (const restart of restarts) {
    const key = `${restart.previousLog}\u0000${restart.log}`;
    byChange.set(key, [...(byChange.get(key) ?? []), restart]);
  }
  for (const [first, ...rest] of byChange.values()) {
    if (first === undefined) continue;
    log.warn('topic log started over: offsets stored for its devices were of an earlier log', {
      log: first.log,
      previousLog: first.previousLog,
      devices: rest.length + 1,
      example: {
        deviceId: first.deviceId,
        partition: first.partition,
        offset: first.offset,
        previousOffset: first.previousOffset,
      },
    });
  }
}

/**
 * The telemetry stream processor around the pure `processBatch`: load device states → process →
 * outputs (idempotent or at least once) → registry and fleet health → device states last.
 *
 * The state write is the commit point. Everything before it is safe to repeat — windows and alerts have
 * deterministic ids, the registry's conditional write counts a repeated sighting as no change — and a
 * redelivered batch is skipped record by record against the stored offsets, so a crash anywhere loses
 * nothing and counts nothing twice. A batch the device published twice (two records) counts once too:
 * its readings are dropped by `(device, seq)`. Bad records never block the partition: they go to the dead-letter
 * stream with their reason.
 */
export class StreamProcessor {
  constructor(private readonly props: StreamProcessorProps) {}

  async handle(event: DecodedMskEvent): Promise<BatchSummary> {
    const { props } = this;
    const { records } = event;
    const now = props.now();
    const withValue: StreamRecord[] = [];
    const empty: DecodedMskRecord[] = [];
    for (const record of records) {
      if (record.value === null) empty.push(record);
      else
        withValue.push({
          log: topicLogId(event.eventSourceArn, record.topic),
          partition: record.partition,
          offset: record.offset,
          value: record.value,
        });
    }
    // The IoT rule keys each record by device id, so states can be loaded before anything is decoded.
    const deviceIds = records.flatMap((r) => (r.key === null ? [] : [utf8.decode(r.key)]));
    const loaded = await props.states.loadMany(deviceIds);
    const states = new Map([...loaded].map(([id, entry]) => [id, entry.state]));
    const result = processBatch(withValue, states, await props.rules(), now);

    const rejected = [
      ...result.rejected,
      ...empty.map((r) => ({
        partition: r.partition,
        offset: r.offset,
        stage: 'record',
        reason: 'record has no value',
      })),
    ];
    await Promise.all([
      props.producer.send(props.topics.processed, [
        ...result.readings.map((r) => ({
          key: r.deviceId,
          value: JSON.stringify({ type: 'reading', ...r }),
        })),
        ...result.closedWindows.map((w) => ({
          key: w.deviceId,
          value: JSON.stringify({ type: 'window', ...w }),
        })),
      ]),
      props.producer.send(
        props.topics.alerts,
        result.alerts.map((a) => ({ key: a.deviceId, value: JSON.stringify(a) })),
      ),
      props.producer.send(
        props.topics.deadLetters,
        rejected.map((r) => {
          const original = records.find((o) => o.partition === r.partition && o.offset === r.offset);
          return {
            key: original?.key === null || original === undefined ? 'unknown' : utf8.decode(original.key),
            value: JSON.stringify({
              ...r,
              topic: original?.topic,
              value: original?.value ? Buffer.from(original.value).toString('base64') : null,
            }),
            headers: { reason: r.reason.slice(0, 500) },
          };
        }),
      ),
      props.aggregates.put(result.closedWindows),
      props.alerts.put(result.alerts),
    ]);

    for (const sighting of sightings(result.readings)) {
      const change = await props.registry.recordSighting(sighting);
      if (change.outcome === 'applied') await recordHealthChange(props.health, change.before, change.after);
    }

    let conflicts = 0;
    for (const [deviceId, state] of result.states) {
      if ((await props.states.save(state, loaded.get(deviceId)?.revision)) === 'conflict') conflicts++;
    }

    props.metrics.put(METRICS.telemetryRecords, records.length);
    if (rejected.length > 0) props.metrics.put(METRICS.rejectedRecords, rejected.length);
    if (result.skipped > 0) props.metrics.put(METRICS.skippedRecords, result.skipped);
    if (result.duplicates > 0) props.metrics.put(METRICS.duplicateReadings, result.duplicates);
    if (result.restartedLogs.length > 0) {
      props.metrics.put(METRICS.restartedLogs, result.restartedLogs.length);
      warnRestartedLogs(props.log, result.restartedLogs);
    }
    for (const alert of result.alerts) {
      if (alert.state === 'raised')
        props.metrics.put(METRICS.alertsRaised, 1, 'Count', { AlertType: alert.type });
    }
    if (records.length > 0) {
      props.metrics.put(
        METRICS.processorLag,
        now - Math.min(...records.map((r) => r.timestamp)),
        'Milliseconds',
      );
    }
    if (conflicts > 0) {
      // Saved devices skip the redelivered records; the conflicting ones are processed again on fresh state.
      throw new StateConflictError(
        `${conflicts} device state(s) changed by another writer; the batch will be redelivered`,
      );
    }
    return {
      records: records.length,
      readings: result.readings.length,
      alerts: result.alerts.length,
      windows: result.closedWindows.length,
      rejected: rejected.length,
      skipped: result.skipped,
      duplicates: result.duplicates,
      restartedLogs: result.restartedLogs.length,
    };
  }
}
