import { deflateRawSync } from 'node:zlib';
import { decode as decodeCbor } from 'cbor2';
import { gaussian, seededRandom } from '../edge/src/sensors/random.ts';
import { initialSensorState, stepSensors } from '../edge/src/sensors/sensor-model.ts';
import type { Reading } from '../lib/protocol/messages.ts';
import { decodeUplinkBatch, encodeUplinkBatch } from '../lib/protocol/uplink/codec.ts';
import { median, metric, progress } from './support.ts';

/**
 * Bytes on the wire per reading for the edge uplink's batches, next to the seed's one JSON message per
 * reading and to plain DEFLATE over a JSON batch, all over the same readings in the same run.
 *
 * Readings: 50 simulated devices, the simulator's sensor model (`stepSensors`, random walks with noise,
 * each sensor at its resolution) sampled every 10 s with 0-4 ms of timer lateness in the timestamp, plus
 * the edge model's anomaly score (0.001), as the stream-rules bench builds it; six fields and a
 * timestamp and seq per reading, in batches of 60 (ten minutes).
 *
 * uplink_bytes_per_reading           = whole MQTT payload bytes of the batches ÷ readings (goal ≤ 6)
 * seed_json_bytes_per_reading        = JSON `{ts, seq, values}` bytes, one message per reading
 * json_batch_deflate_bytes_per_reading = raw DEFLATE (level 9) of `{"readings": [...]}` per batch
 * uplink_vs_seed_json_ratio          = seed bytes ÷ uplink bytes
 * uplink_envelope_bytes_per_reading  = the CBOR around the bit stream (tag, version, compression, byte
 *                                      string head); version 2 keeps the column metadata in the stream
 * uplink_v1_bytes_per_reading        = the same batches in format version 1 (column metadata in CBOR),
 *                                      which older firmware sends
 * uplink_no_deflate / uplink_forced_deflate_bytes_per_reading: whether DEFLATE after Rice coding helps
 * uplink_decode_vs_json_parse_ratio  = readings/s decoding batches ÷ readings/s of JSON.parse of the same
 *                                      batches as JSON (the cloud's cost of the format)
 */
const DEVICES = 50;
const BATCHES_PER_DEVICE = 20;
const BATCH_SIZE = 60;
const INTERVAL_MS = 10_000;
const START = 1_764_196_380_000;
const ROUNDS = 11;

function deviceBatches(deviceId: string): Reading[][] {
  const random = seededRandom(deviceId);
  const state = initialSensorState(random);
  let ts = START;
  const readings = Array.from({ length: BATCHES_PER_DEVICE * BATCH_SIZE }, (_, seq): Reading => {
    const { temperature, humidity, pressure, battery, rsrp } = stepSensors(state, INTERVAL_MS / 1000, random);
    ts += INTERVAL_MS + Math.floor(random() * 5);
    const anomalyScore = Math.round(Math.min(1, Math.abs(gaussian(random)) * 0.2) * 1000) / 1000;
    return { ts, seq, values: { temperature, humidity, pressure, battery, rsrp, anomalyScore } };
  });
  return Array.from({ length: BATCHES_PER_DEVICE }, (_, b) =>
    readings.slice(b * BATCH_SIZE, (b + 1) * BATCH_SIZE),
  );
}

const batches = Array.from({ length: DEVICES }, (_, d) => deviceBatches(`bench-${d}`)).flat();
const readingCount = batches.length * BATCH_SIZE;
const utf8 = new TextEncoder();
const cbor = { decode: (bytes: Uint8Array) => decodeCbor(bytes) as unknown[] };

let uplinkBytes = 0;
let envelopeBytes = 0;
let v1Bytes = 0;
let plainBytes = 0;
let forcedBytes = 0;
let deflateChosen = 0;
let seedBytes = 0;
let jsonDeflateBytes = 0;
const payloads: Uint8Array[] = [];
const jsonBatches: Uint8Array[] = [];
for (const [b, readings] of batches.entries()) {
  const payload = encodeUplinkBatch({ batchId: b + 1, readings });
  payloads.push(payload);
  uplinkBytes += payload.length;
  const fields = cbor.decode(payload) as unknown[];
  // Version 2: 55799([2, compression, data]).
  envelopeBytes += payload.length - (fields[2] as Uint8Array).length;
  if (fields[1] === 1) deflateChosen++;
  v1Bytes += encodeUplinkBatch({ batchId: b + 1, readings }, { version: 1 }).length;
  plainBytes += encodeUplinkBatch({ batchId: b + 1, readings }, { compression: 'none' }).length;
  forcedBytes += encodeUplinkBatch({ batchId: b + 1, readings }, { compression: 'deflate' }).length;
  for (const reading of readings) seedBytes += utf8.encode(JSON.stringify(reading)).length;
  const json = utf8.encode(JSON.stringify({ readings }));
  jsonBatches.push(json);
  jsonDeflateBytes += deflateRawSync(json, { level: 9 }).length;

  // A bench that measured a codec which loses data would measure nothing.
  const decoded = decodeUplinkBatch(payload);
  if (!decoded.ok) throw new Error(decoded.reason);
  if (JSON.stringify(decoded.batch.readings) !== JSON.stringify(readings))
    throw new Error(`batch ${b + 1} does not round-trip`);
}
progress(
  `${readingCount} readings in ${batches.length} batches of ${BATCH_SIZE}; DEFLATE chosen for ${deflateChosen}`,
);

const utf8Decoder = new TextDecoder();
function decodeRate(decode: (i: number) => number): number {
  const start = performance.now();
  let readings = 0;
  for (let i = 0; i < payloads.length; i++) readings += decode(i);
  const elapsed = performance.now() - start;
  if (readings !== readingCount) throw new Error(`decoded ${readings} readings of ${readingCount}`);
  return readings / (elapsed / 1000);
}
const uplinkDecode = (i: number) => {
  const decoded = decodeUplinkBatch(payloads[i] as Uint8Array);
  return decoded.ok ? decoded.batch.readings.length : 0;
};
const jsonDecode = (i: number) =>
  (JSON.parse(utf8Decoder.decode(jsonBatches[i])) as { readings: unknown[] }).readings.length;
for (let i = 0; i < 3; i++) {
  decodeRate(uplinkDecode);
  decodeRate(jsonDecode);
}
const ratios: number[] = [];
const uplinkRates: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const u = decodeRate(uplinkDecode);
  const j = decodeRate(jsonDecode);
  uplinkRates.push(u);
  ratios.push(u / j);
}
const encodeStart = performance.now();
for (const [b, readings] of batches.entries()) encodeUplinkBatch({ batchId: b + 1, readings });
const encodeMicros = ((performance.now() - encodeStart) * 1000) / batches.length;

metric('uplink_bytes_per_reading', uplinkBytes / readingCount);
metric('seed_json_bytes_per_reading', seedBytes / readingCount);
metric('json_batch_deflate_bytes_per_reading', jsonDeflateBytes / readingCount);
metric('uplink_vs_seed_json_ratio', seedBytes / uplinkBytes);
metric('uplink_envelope_bytes_per_reading', envelopeBytes / readingCount);
metric('uplink_v1_bytes_per_reading', v1Bytes / readingCount);
metric('uplink_no_deflate_bytes_per_reading', plainBytes / readingCount);
metric('uplink_forced_deflate_bytes_per_reading', forcedBytes / readingCount);
metric('uplink_encode_us_per_batch', encodeMicros);
metric('uplink_decode_readings_per_s', median(uplinkRates));
metric('uplink_decode_vs_json_parse_ratio', median(ratios));
