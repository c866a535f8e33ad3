import type { TelemetryRule } from '../../../lib/protocol/telemetry-rules.ts';
import type { TelemetryAlert } from './alerts.ts';
import { rulesByType } from './compiled-rules.ts';
import {
  type DecodeStage,
  decodeEnvelope,
  decodeReadings,
  PAYLOAD_FORMATS,
  type PayloadFormat,
} from './decode.ts';
import { judgeSeq, startSeqWindow } from './dedup.ts';
import { applyRules, clearOrphanedAlerts } from './engine.ts';
import { type DeviceStreamState, draftOf, type StateDraft, stateOf } from './state.ts';
import { addToWindow, type WindowAggregate } from './windows.ts';

/** One Kafka record, as the handler takes it out of Lambda's MSK event (value base64-decoded). */
export interface StreamRecord {
  /**
   * The log the offset counts in: one incarnation of the topic, as `topicLogId` names it (cluster id and
   * topic, or the topic's own id). Offsets start again from 0 when a topic is made anew — a new cluster,
   * a deleted and recreated topic, a wiped Kafka — so an offset alone does not say a record was applied.
   */
  readonly log: string;
  /** Partition within the one telemetry topic the processor consumes. */
  readonly partition: number;
  /** Kafka offset: a 64-bit integer, as a decimal string (beyond `Number.MAX_SAFE_INTEGER` in time). */
  readonly offset: string;
  readonly value: Uint8Array;
}

/** A reading that passed validation, with who sent it and when the broker got it. */
export interface ProcessedReading {
  readonly deviceId: string;
  readonly deviceType: string;
  readonly ts: number;
  readonly seq?: number;
  readonly values: Readonly<Record<string, number>>;
  readonly receivedAt: number;
}

/** A record that could not be decoded; it changed nothing. */
export interface RejectedRecord {
  readonly partition: number;
  readonly offset: string;
  readonly stage: DecodeStage;
  readonly reason: string;
}

/**
 * A device's record came from another log than the one its stored offsets count in, at or below the
 * stored offset of its partition: that log started over. The record was applied, and the device's
 * offsets now count in the new log.
 */
export interface LogRestart {
  readonly deviceId: string;
  readonly partition: number;
  readonly offset: string;
  readonly log: string;
  /** The log the stored offsets counted in, and the offset applied there. */
  readonly previousLog: string;
  readonly previousOffset: string;
}

/** Everything one batch produced, each list in record order. */
export interface BatchResult {
  /** Next states of the devices whose state changed, by device id: write these, then commit offsets. */
  readonly states: Map<string, DeviceStreamState>;
  readonly readings: ProcessedReading[];
  readonly alerts: TelemetryAlert[];
  readonly closedWindows: WindowAggregate[];
  readonly rejected: RejectedRecord[];
  /** Readings left out of the aggregates because their window had already closed. */
  readonly lateReadings: number;
  /** Records skipped because the device's state already holds them (redelivered after a crash). */
  readonly skipped: number;
  /**
   * Readings dropped because their `(device, seq)` was applied before: the device sent them again, in
   * a new record (see `dedup.ts`).
   */
  readonly duplicates: number;
  /** Devices whose records showed that their log started over (at most one entry per device). */
  readonly restartedLogs: LogRestart[];
}

/** Kafka offsets are non-negative 64-bit integers: at most 19 decimal digits. */
const OFFSET = /^\d{1,19}$/;

/**
 * `offset <= applied` for decimal offsets. They pass 2^53 on a busy, long-lived topic, so they are not
 * compared as Numbers: without leading zeros (as Kafka and Lambda write them) the longer string is
 * the larger number and strings of one length compare as text; anything else as 64-bit integers.
 */
function offsetAtOrBelow(offset: string, applied: string): boolean {
  const plain = (text: string) => text.length === 1 || text.charCodeAt(0) !== 0x30;
  if (!plain(offset) || !plain(applied)) return BigInt(offset) <= BigInt(applied);
  return offset.length === applied.length ? offset <= applied : offset.length < applied.length;
}

/**
 * Runs one Kafka batch through decoding, rules and windows.
 *
 * Exactly once into state: every device state holds the highest offset applied per partition, and a
 * record at or below it is skipped. Kafka delivers at least once — a crash after the state write and
 * before the offset commit replays the batch — and the skip makes that replay add nothing to windows
 * or alerts. Records of one device share a partition and arrive in order, so one offset per partition
 * is enough. Alert and window ids are deterministic, so anything emitted twice is written twice alike.
 *
 * The offsets are those of one log (`StreamRecord.log`). A record of another log is never skipped:
 * its offsets may have started again from 0, and comparing them with the old log's would drop every
 * record until the new offsets passed the old ones. The device's offsets then count in the new log,
 * and a record at or below the old offset is reported in `restartedLogs`.
 *
 * Offsets cannot see a batch the device itself published again (a new record, a new offset): its
 * readings are dropped one by one by `(device, seq)` against a bounded window of the seqs applied
 * (`dedup.ts`), and counted in `duplicates`.
 *
 * @param states the stored states of (at least) the batch's devices; not changed
 * @param now the processor's clock, epoch ms: only stamps `updatedAt`, so results do not depend on it
 */
export function processBatch(
  records: readonly StreamRecord[],
  states: ReadonlyMap<string, DeviceStreamState>,
  rules: readonly TelemetryRule[],
  now: number,
  formats: readonly PayloadFormat[] = PAYLOAD_FORMATS,
): BatchResult {
  const drafts = new Map<string, StateDraft>();
  const readings: ProcessedReading[] = [];
  const alerts: TelemetryAlert[] = [];
  const closedWindows: WindowAggregate[] = [];
  const rejected: RejectedRecord[] = [];
  let lateReadings = 0;
  let skipped = 0;
  let duplicates = 0;
  const restartedLogs: LogRestart[] = [];
  const rulesFor = rulesByType(rules);

  for (const { log, partition, offset, value } of records) {
    if (!OFFSET.test(offset)) {
      rejected.push({
        partition,
        offset,
        stage: 'record',
        reason: 'offset: must be a decimal integer string',
      });
      continue;
    }
    const envelope = decodeEnvelope(value);
    if (!envelope.ok) {
      rejected.push({ partition, offset, stage: envelope.stage, reason: envelope.reason });
      continue;
    }
    const { deviceId, deviceType, receivedAt } = envelope;
    const partitionKey = String(partition);
    const known = drafts.get(deviceId) ?? states.get(deviceId);
    // A state written before logs were told apart names none: its offsets are taken to be of this log,
    // so that a batch redelivered across the upgrade is still skipped.
    const sameLog = known?.log === undefined || known.log === log;
    const applied = known?.offsets[partitionKey];
    const atOrBelow = applied !== undefined && offsetAtOrBelow(offset, applied);
    if (sameLog && atOrBelow) {
      skipped++;
      continue;
    }
    const decoded = decodeReadings(envelope, formats);
    if (!decoded.ok) {
      rejected.push({ partition, offset, stage: decoded.stage, reason: decoded.reason });
      continue;
    }

    let draft = drafts.get(deviceId);
    if (draft === undefined) {
      draft = draftOf(states.get(deviceId), { deviceId, deviceType });
      drafts.set(deviceId, draft);
    }
    draft.deviceType = deviceType;
    if (!sameLog) {
      if (atOrBelow && applied !== undefined && known?.log !== undefined) {
        restartedLogs.push({
          deviceId,
          partition,
          offset,
          log,
          previousLog: known.log,
          previousOffset: applied,
        });
      }
      // The old log's offsets say nothing about this one's, whichever partitions they were of.
      draft.offsets = {};
    }
    draft.log = log;
    const forType = rulesFor(deviceType);
    const first = decoded.readings[0];
    if (first !== undefined) clearOrphanedAlerts(draft, forType, first.ts, alerts);
    for (const { ts, seq, values } of decoded.readings) {
      if (seq !== undefined) {
        if (draft.seqs === undefined) draft.seqs = startSeqWindow(seq);
        else if (judgeSeq(draft.seqs, seq, ts, draft.lastReadingTs) === 'repeat') {
          duplicates++;
          continue;
        }
      }
      const processed: ProcessedReading =
        seq === undefined
          ? { deviceId, deviceType, ts, values, receivedAt }
          : { deviceId, deviceType, ts, seq, values, receivedAt };
      readings.push(processed);
      applyRules(draft, forType, processed, alerts);
      if (addToWindow(draft, processed, closedWindows)) lateReadings++;
    }
    draft.offsets[partitionKey] = offset;
    draft.updatedAt = now;
  }

  const next = new Map<string, DeviceStreamState>();
  for (const [deviceId, draft] of drafts) next.set(deviceId, stateOf(draft));
  return {
    states: next,
    readings,
    alerts,
    closedWindows,
    rejected,
    lateReadings,
    skipped,
    duplicates,
    restartedLogs,
  };
}
