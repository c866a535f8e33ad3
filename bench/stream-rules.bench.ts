import { gaussian, seededRandom } from '../edge/src/sensors/random.ts';
import { initialSensorState, stepSensors } from '../edge/src/sensors/sensor-model.ts';
import { processBatch, type StreamRecord } from '../lambdas/domain/telemetry/batch.ts';
import type { DeviceStreamState } from '../lambdas/domain/telemetry/state.ts';
import { DEVICE_RULE_FIELDS } from '../lib/protocol/rule-events.ts';
import { DEFAULT_RULES, type TelemetryRuleSet, telemetryRuleSet } from '../lib/protocol/telemetry-rules.ts';
import { deviceTopic, deviceTopicFilter } from '../lib/protocol/topics.ts';
import { evaluateRule } from '../lib/topology/rule-event.ts';
import { median, metric, progress } from './support.ts';

/**
 * The telemetry stream processor's pure core against the decoding floor under it, side by side: records
 * per second of `processBatch` (envelope and payload validation, 10 rules, 1-minute windows, exactly-once
 * offsets) over Kafka values as the IoT rule produces them, against a bare loop that only JSON-parses
 * the same values (envelope, then the base64 payload).
 *
 * stream_rules_vs_parse_ratio = processor records/s ÷ parse records/s (goal ≥ 0.5).
 */
const DEVICES = 50;
const READINGS_PER_DEVICE = 200;
const BATCH_SIZE = 100;
const PARTITIONS = 8;
const ROUNDS = 11;
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
 * Telemetry of 50 simulated devices every 10 s, as the simulator publishes it, plus the edge model's
 * anomaly score; each message goes through the IoT rule (as the local rules runner evaluates it) and is
 * interleaved by time, so a batch of 100 holds two records of each device, as a busy topic would.
 */
function buildRecords(): StreamRecord[] {
  const devices = Array.from({ length: DEVICES }, (_, d) => {
    const deviceId = `bench-${String(d).padStart(3, '0')}`;
    const random = seededRandom(deviceId);
    return {
      deviceId,
      deviceType: d % 5 === 0 ? 'tracker' : 'sensor',
      random,
      state: initialSensorState(random),
    };
  });
  const nextOffset = new Array<number>(PARTITIONS).fill(0);
  const records: StreamRecord[] = [];
  for (let i = 0; i < READINGS_PER_DEVICE; i++) {
    for (const [d, device] of devices.entries()) {
      const sample = stepSensors(device.state, INTERVAL_MS / 1000, device.random);
      const ts = START + i * INTERVAL_MS + d * 37;
      const { temperature, humidity, pressure, battery, rsrp } = sample;
      const anomalyScore = Math.min(1, Math.abs(gaussian(device.random)) * 0.2);
      const payload = JSON.stringify({
        ts,
        seq: i,
        values: {
          temperature,
          humidity,
          pressure,
          battery,
          rsrp,
          anomalyScore: Math.round(anomalyScore * 1000) / 1000,
        },
      });
      const event = evaluateRule(telemetryRule, {
        topic: deviceTopic('telemetry', device.deviceType, device.deviceId),
        payload: encoder.encode(payload),
        clientId: device.deviceId,
        receivedAt: ts + 800,
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
    }
  }
  return records;
}

const records = buildRecords();
const batches: StreamRecord[][] = [];
for (let i = 0; i < records.length; i += BATCH_SIZE) batches.push(records.slice(i, i + BATCH_SIZE));
const bytes = records.reduce((sum, r) => sum + r.value.byteLength, 0);
progress(
  `${records.length} records of ${Math.round(bytes / records.length)} bytes, ${batches.length} batches, ${RULES.length} rules`,
);

/** One pass of the processor over every batch, from empty states, carrying states as the handler would. */
function processorPass(): { readings: number; alerts: number } {
  const states = new Map<string, DeviceStreamState>();
  let readings = 0;
  let alerts = 0;
  for (const batch of batches) {
    const result = processBatch(batch, states, RULES, START);
    if (result.rejected.length > 0) throw new Error(`rejected: ${result.rejected[0]?.reason}`);
    for (const [id, state] of result.states) states.set(id, state);
    readings += result.readings.length;
    alerts += result.alerts.length;
  }
  return { readings, alerts };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** The floor: the same two JSON documents per record decoded, nothing checked or computed. */
function parsePass(): { readings: number } {
  let readings = 0;
  for (const batch of batches) {
    for (const record of batch) {
      const envelope = JSON.parse(utf8.decode(record.value)) as { payload: string };
      const message = JSON.parse(utf8.decode(Buffer.from(envelope.payload, 'base64'))) as { ts?: number };
      if (message.ts !== undefined) readings++;
    }
  }
  return { readings };
}

function recordsPerSecond(pass: () => { readings: number }): number {
  const start = performance.now();
  const { readings } = pass();
  const elapsed = performance.now() - start;
  if (readings !== records.length) throw new Error(`pass produced ${readings} readings of ${records.length}`);
  return records.length / (elapsed / 1000);
}

const warm = processorPass();
progress(`one pass raises or clears ${warm.alerts} alerts`);
for (let i = 0; i < 3; i++) {
  recordsPerSecond(processorPass);
  recordsPerSecond(parsePass);
}
const stream: number[] = [];
const parse: number[] = [];
const ratios: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const s = recordsPerSecond(processorPass);
  const p = recordsPerSecond(parsePass);
  stream.push(s);
  parse.push(p);
  ratios.push(s / p);
}
metric('stream_records_per_s', median(stream));
metric('json_parse_records_per_s', median(parse));
metric('stream_rules_vs_parse_ratio', median(ratios));
