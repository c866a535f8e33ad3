import { decode as decodeCbor } from 'cbor2';
import { gaussian, seededRandom } from '../edge/src/sensors/random.ts';
import { initialSensorState, stepSensors } from '../edge/src/sensors/sensor-model.ts';
import { processBatch, type StreamRecord } from '../lambdas/domain/telemetry/batch.ts';
import type { DeviceStreamState } from '../lambdas/domain/telemetry/state.ts';
import type { Reading } from '../lib/protocol/messages.ts';
import { DEVICE_RULE_FIELDS } from '../lib/protocol/rule-events.ts';
import { DEFAULT_RULES, type TelemetryRuleSet, telemetryRuleSet } from '../lib/protocol/telemetry-rules.ts';
import { deviceTopic, deviceTopicFilter } from '../lib/protocol/topics.ts';
import { encodeUplinkBatch } from '../lib/protocol/uplink/codec.ts';
import { evaluateRule } from '../lib/topology/rule-event.ts';
import { decodeCborItem } from './cbor-floor.ts';
import { median, metric, progress } from './support.ts';

/**
 * The telemetry stream processor's pure core against the decoding floor under it, side by side:
 * records per second of `processBatch` (envelope and payload decoding and validation, exactly-once
 * offsets and seqs, 10 rules, 1-minute windows) over Kafka values as the IoT rule produces them,
 * against a bare loop that only decodes the same values — the envelope with JSON.parse, its base64
 * payload, then the payload: JSON.parse for JSON, a bare CBOR decode for an uplink batch.
 *
 * The records are those the simulated fleet of `npm start` sends: every simulated device runs the
 * edge agent, whose uplink publishes compact batches (format version 2) and nothing as JSON; with
 * the simulator's settings (batches of 10 or 3 sampling intervals, 10 s sampling) a batch holds 3
 * readings of 7 metrics (the sensors' four, the modem's RSRP and RSRQ, the model's score) — counted on
 * a running platform: 157 of 157 records were batches, every one of 3 readings. So the headline is
 * all uplink batches of 3; JSON (devices of other firmware, one reading a message) is measured too.
 *
 * stream_rules_vs_parse_ratio      = processor records/s ÷ floor records/s, the fleet's records
 *                                    (goal ≥ 0.75); the floor's CBOR decode is a plain generic decoder
 *                                    (`cbor-floor.ts`: items into JS values, no interpretation)
 * stream_rules_vs_cbor2_ratio      = the same against cbor2's `decode` as the floor's CBOR step: the
 *                                    library the project has, about a hundred times slower than
 *                                    JSON.parse on small items, so a floor it would inflate
 * stream_rules_vs_parse_ratio_json = the same on one JSON reading per record
 */
const DEVICES = 50;
const READINGS_PER_DEVICE = 240;
/** Readings per uplink batch, as the simulated fleet sends them. */
const READINGS_PER_BATCH = 3;
const BATCH_SIZE = 100;
const PARTITIONS = 8;
const ROUNDS = 21;
const START = 1_764_196_380_000;
const INTERVAL_MS = 10_000;

/** The defaults plus four rules a sensor fleet adds: ten rules, every kind, one scoped to a type. */
const RULES: TelemetryRuleSet = telemetryRuleSet.parse([
  ...DEFAULT_RULES,
  {
    kind: 'threshold',
    id: 'humid',
    metric: 'humidity',
    op: '>',
    value: 90,
    alert: 'HIGH_HUMIDITY',
    severity: 'info',
  },
  {
    kind: 'threshold',
    id: 'storm',
    metric: 'pressure',
    op: '<',
    value: 980,
    alert: 'LOW_PRESSURE',
    severity: 'info',
  },
  {
    kind: 'rateOfChange',
    id: 'humidity-jump',
    metric: 'humidity',
    maxPerMinute: 10,
    alert: 'HUMIDITY_JUMP',
    severity: 'info',
  },
  {
    kind: 'threshold',
    id: 'tracker-battery',
    deviceType: 'tracker',
    metric: 'battery',
    op: '<=',
    value: 30,
    alert: 'TRACKER_BATTERY',
    severity: 'warning',
  },
]);

const telemetryRule = {
  topic: deviceTopicFilter('telemetry'),
  payload: 'base64',
  add: DEVICE_RULE_FIELDS,
} as const;
const encoder = new TextEncoder();

/**
 * Telemetry of 50 simulated devices every 10 s, as the simulator's sensor model and modem give it,
 * plus the edge model's anomaly score; each message goes through the IoT rule (as the local rules
 * runner evaluates it) and is interleaved by time, so a Kafka batch of 100 holds records of many
 * devices, as a busy topic would. `uplink`: batches of 3 readings in the compact format, numbered as
 * the edge uplink numbers them; else one JSON reading per message.
 */
function buildRecords(uplink: boolean): StreamRecord[] {
  const devices = Array.from({ length: DEVICES }, (_, d) => {
    const deviceId = `bench-${String(d).padStart(3, '0')}`;
    const random = seededRandom(deviceId);
    return {
      deviceId,
      deviceType: d % 5 === 0 ? 'tracker' : 'sensor',
      random,
      state: initialSensorState(random),
      pending: [] as Reading[],
      batches: 0,
    };
  });
  const nextOffset = new Array<number>(PARTITIONS).fill(0);
  const records: StreamRecord[] = [];
  const publish = (d: number, payload: Uint8Array, receivedAt: number) => {
    const device = devices[d] as (typeof devices)[number];
    const event = evaluateRule(telemetryRule, {
      topic: deviceTopic('telemetry', device.deviceType, device.deviceId),
      payload,
      clientId: device.deviceId,
      receivedAt,
    });
    const partition = d % PARTITIONS;
    const offset = nextOffset[partition] ?? 0;
    nextOffset[partition] = offset + 1;
    records.push({
      log: 'bench-cluster/iot-telemetry',
      partition,
      offset: String(offset),
      value: encoder.encode(JSON.stringify(event)),
    });
  };
  for (let i = 0; i < READINGS_PER_DEVICE; i++) {
    for (const [d, device] of devices.entries()) {
      const sample = stepSensors(device.state, INTERVAL_MS / 1000, device.random);
      const ts = START + i * INTERVAL_MS + d * 37;
      const { temperature, humidity, pressure, battery, rsrp, rsrq } = sample;
      const anomalyScore = Math.min(1, Math.abs(gaussian(device.random)) * 0.2);
      const values = { temperature, humidity, pressure, battery, rsrp, rsrq };
      const reading = {
        ts,
        seq: START + i,
        values: { ...values, anomalyScore: Math.round(anomalyScore * 1000) / 1000 },
      };
      if (!uplink) {
        publish(d, encoder.encode(JSON.stringify(reading)), ts + 800);
        continue;
      }
      device.pending.push(reading);
      if (device.pending.length < READINGS_PER_BATCH) continue;
      device.batches++;
      publish(d, encodeUplinkBatch({ batchId: device.batches, readings: device.pending }), ts + 800);
      device.pending = [];
    }
  }
  return records;
}

/** The records in Kafka batches of {@link BATCH_SIZE}. */
function kafkaBatches(records: readonly StreamRecord[]): StreamRecord[][] {
  const batches: StreamRecord[][] = [];
  for (let i = 0; i < records.length; i += BATCH_SIZE) batches.push(records.slice(i, i + BATCH_SIZE));
  return batches;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A floor: decodes one record's value (envelope, base64, payload) and returns something to keep. */
type Floor = (value: Uint8Array) => unknown;

const envelopeOf = (value: Uint8Array) =>
  Buffer.from((JSON.parse(utf8.decode(value)) as { payload: string }).payload, 'base64');
const jsonFloor: Floor = (value) => JSON.parse(utf8.decode(envelopeOf(value)));
const cborFloor: Floor = (value) => decodeCborItem(envelopeOf(value));
const cbor2Floor: Floor = (value) => decodeCbor(envelopeOf(value));

/**
 * One round: the processor over every Kafka batch from empty states, carrying states as the handler
 * would, and each floor over the same batch right after it — interleaved batch by batch, so that a
 * machine busy with other work slows both sides alike. Returns seconds spent by each.
 */
function round(
  batches: readonly StreamRecord[][],
  floors: readonly Floor[],
): { processor: number; floors: number[] } {
  const states = new Map<string, DeviceStreamState>();
  let processor = 0;
  const floorTimes = floors.map(() => 0);
  let kept = 0;
  for (const batch of batches) {
    const t0 = performance.now();
    const result = processBatch(batch, states, RULES, START);
    for (const [id, state] of result.states) states.set(id, state);
    processor += performance.now() - t0;
    if (result.rejected.length > 0) throw new Error(`rejected: ${result.rejected[0]?.reason}`);
    if (result.duplicates > 0 || result.skipped > 0) throw new Error('a new reading taken for a repeat');
    floors.forEach((floor, f) => {
      const t1 = performance.now();
      for (const record of batch) if (floor(record.value) !== undefined) kept++;
      floorTimes[f] = (floorTimes[f] ?? 0) + performance.now() - t1;
    });
  }
  if (kept !== floors.length * batches.reduce((n, b) => n + b.length, 0))
    throw new Error('a floor lost records');
  return { processor: processor / 1000, floors: floorTimes.map((t) => t / 1000) };
}

/** Records/s of the processor and of each floor, and the median ratio of each, over many rounds. */
function measure(name: string, records: readonly StreamRecord[], floors: readonly Floor[]) {
  const batches = kafkaBatches(records);
  const bytes = records.reduce((sum, r) => sum + r.value.byteLength, 0);
  progress(
    `${name}: ${records.length} records of ${Math.round(bytes / records.length)} bytes, ${batches.length} batches, ${RULES.length} rules`,
  );
  for (let i = 0; i < 3; i++) round(batches, floors);
  const stream: number[] = [];
  const floorsPerSecond = floors.map((): number[] => []);
  const ratios = floors.map((): number[] => []);
  for (let r = 0; r < ROUNDS; r++) {
    const times = round(batches, floors);
    stream.push(records.length / times.processor);
    times.floors.forEach((t, f) => {
      floorsPerSecond[f]?.push(records.length / t);
      ratios[f]?.push(t / times.processor);
    });
  }
  return { stream: median(stream), floors: floorsPerSecond.map(median), ratios: ratios.map(median) };
}

const fleet = measure('fleet (uplink batches of 3)', buildRecords(true), [cborFloor, cbor2Floor]);
const json = measure('JSON, one reading a record', buildRecords(false), [jsonFloor]);
metric('stream_records_per_s', fleet.stream);
metric('stream_floor_records_per_s', fleet.floors[0] ?? 0);
metric('stream_rules_vs_parse_ratio', fleet.ratios[0] ?? 0);
metric('stream_rules_vs_cbor2_ratio', fleet.ratios[1] ?? 0);
metric('stream_records_per_s_json', json.stream);
metric('json_parse_records_per_s', json.floors[0] ?? 0);
metric('stream_rules_vs_parse_ratio_json', json.ratios[0] ?? 0);
