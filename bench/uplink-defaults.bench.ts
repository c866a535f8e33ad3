import { TelemetryLoop } from '../edge/src/agent/telemetry-loop.ts';
import type { Clock } from '../edge/src/ota/ports.ts';
import { gaussian, seededRandom } from '../edge/src/sensors/random.ts';
import { simulatedSensors } from '../edge/src/sensors/simulated.ts';
import { type BatchQueue, UplinkBatcher } from '../edge/src/uplink/batcher.ts';
import { DEFAULT_DEVICE_CONFIG } from '../lib/protocol/device-config.ts';
import { decodeUplinkBatch } from '../lib/protocol/uplink/codec.ts';
import { metric, progress } from './support.ts';

/**
 * Bytes on the wire per reading as a device sends them with the settings it ships with: the agent's
 * own telemetry loop (`TelemetryLoop.sampleOnce`: sensors, thresholds of `DEFAULT_DEVICE_CONFIG`, a
 * reading that crosses or clears one sent at once) into its own batcher (`UplinkBatcher` at its
 * default limits: 60 readings or an hour, whichever first), every metric the agent sends (the
 * simulated sensors' six, rsrq included, plus the model's anomaly score at 0.001), `seq` numbered as
 * the uplink numbers it on a new device (from the clock's milliseconds, one by one), and timestamps
 * with 0-4 ms of timer lateness. Time is virtual: a day of a device in a fraction of a second.
 *
 * uplink_bytes_per_reading_default = payload bytes ÷ readings at the default device configuration's
 *                                    sampling interval (`DEFAULT_DEVICE_CONFIG`, 60 s, which the agent's
 *                                    own settings default to as well)
 * uplink_bytes_per_reading_10s     = the same at 10 s sampling
 * uplink_readings_per_batch_default / _10s: how full the batches were
 *
 * The anomaly score is drawn like the stream-rules bench draws it (|N(0,1)| × 0.2, at 0.001): the
 * model's real scores on simulated data sit in the same range.
 */
const DEVICES = 20;
const DAY_MS = 86_400_000;
const START = 1_764_196_380_000;

/** A clock whose time moves only when the bench says so; sleepers wake in time order. */
class VirtualClock implements Clock {
  private time = START;
  private sleepers: { at: number; wake: () => void }[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const sleeper = { at: this.time + ms, wake: resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal.reason);
      });
    });
  }

  /** Moves time to `to`, waking each sleeper due on the way and letting what it started run. */
  async advanceTo(to: number): Promise<void> {
    for (;;) {
      this.sleepers.sort((a, b) => a.at - b.at);
      const next = this.sleepers[0];
      if (next === undefined || next.at > to) break;
      this.sleepers.shift();
      this.time = next.at;
      next.wake();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.time = to;
  }
}

/** Runs one device for a day at `intervalS`; returns the payloads its batcher queued. */
async function deviceDay(
  deviceId: string,
  intervalS: number,
): Promise<{ payloads: Uint8Array[]; readings: number }> {
  const clock = new VirtualClock();
  const payloads: Uint8Array[] = [];
  const queue: BatchQueue = {
    get nextId() {
      return payloads.length + 1;
    },
    async append(build) {
      const id = payloads.length + 1;
      payloads.push(build(id));
      return id;
    },
  };
  let seq = clock.now();
  const batcher = await UplinkBatcher.open({ queue, clock, sequence: { take: async () => seq++ } });
  const random = seededRandom(`${deviceId}-timing`);
  const loop = new TelemetryLoop({
    sensors: simulatedSensors(deviceId, clock),
    sink: batcher,
    clock,
    samplingIntervalS: intervalS,
    thresholds: DEFAULT_DEVICE_CONFIG.thresholds,
    // Stands in for the model (no onnxruntime session in a byte count): its score's range.
    extra: () => ({ anomalyScore: Math.round(Math.min(1, Math.abs(gaussian(random)) * 0.2) * 1000) / 1000 }),
  });
  let readings = 0;
  for (let due = START; due < START + DAY_MS; due += intervalS * 1000) {
    await clock.advanceTo(due + Math.floor(random() * 5));
    await loop.sampleOnce();
    readings++;
  }
  await batcher.stop();
  return { payloads, readings };
}

async function measure(intervalS: number): Promise<{ bytesPerReading: number; perBatch: number }> {
  let bytes = 0;
  let readings = 0;
  let batches = 0;
  for (let d = 0; d < DEVICES; d++) {
    const day = await deviceDay(`bench-${d}`, intervalS);
    let decoded = 0;
    for (const payload of day.payloads) {
      // A figure for a codec that loses readings would mean nothing.
      const batch = decodeUplinkBatch(payload);
      if (!batch.ok) throw new Error(batch.reason);
      decoded += batch.batch.readings.length;
      bytes += payload.length;
    }
    if (decoded !== day.readings) throw new Error(`decoded ${decoded} of ${day.readings} readings`);
    readings += day.readings;
    batches += day.payloads.length;
  }
  progress(`${intervalS} s sampling: ${readings} readings from ${DEVICES} devices in ${batches} batches`);
  return { bytesPerReading: bytes / readings, perBatch: readings / batches };
}

const defaults = await measure(DEFAULT_DEVICE_CONFIG.samplingIntervalS);
const tenSeconds = await measure(10);
metric('uplink_bytes_per_reading_default', defaults.bytesPerReading);
metric('uplink_readings_per_batch_default', defaults.perBatch);
metric('uplink_bytes_per_reading_10s', tenSeconds.bytesPerReading);
metric('uplink_readings_per_batch_10s', tenSeconds.perBatch);
