import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EdgeAgent, type EdgeAgentOptions } from '../../../../edge/src/agent/edge-agent.ts';
import { defaultModelDir, modelReport, readModelSource } from '../../../../edge/src/agent/model-files.ts';
import { TelemetryLoop } from '../../../../edge/src/agent/telemetry-loop.ts';
import { AnomalyDetector } from '../../../../edge/src/ml/anomaly-detector.ts';
import { WINDOW_LENGTH } from '../../../../edge/src/ml/features.ts';
import { simulatedSensors } from '../../../../edge/src/sensors/simulated.ts';
import { MemoryShadowCopyStore } from '../../../../edge/src/shadow/copy-store.ts';
import { Uplink } from '../../../../edge/src/uplink/uplink.ts';
import { DEFAULT_DEVICE_CONFIG } from '../../../../lib/protocol/device-config.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { statusMessage } from '../../../../lib/protocol/messages.ts';
import type { ModemStatus } from '../../../../lib/protocol/modem.ts';
import { decodeUplinkBatch } from '../../../../lib/protocol/uplink/codec.ts';
import { FakeClock } from '../ota/support.ts';
import { FakeShadowService, THING, until } from '../shadow/support.ts';
import { MemoryBroker } from '../transport/memory-transport.ts';

let detector: AnomalyDetector;
beforeAll(async () => {
  detector = await AnomalyDetector.load(await readModelSource(defaultModelDir()));
});
afterAll(async () => {
  await detector.close();
});

/** A clock that advances by what is asked of it and records each wait. */
class RecordingClock extends FakeClock {
  readonly waits: number[] = [];
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.waits.push(ms);
    return super.sleep(ms, signal);
  }
}

type CoapExposure = NonNullable<EdgeAgentOptions['coapExposure']>;

describe('TelemetryLoop', () => {
  it('scores each full window with the model and leaves the first readings unscored', async () => {
    // Arrange
    const sent: Reading[] = [];
    const clock = new FakeClock();
    const loop = new TelemetryLoop({
      sensors: simulatedSensors('loop-1', clock),
      sink: { add: async (reading) => void sent.push(reading) },
      clock,
      samplingIntervalS: 10,
      scorer: detector,
    });

    // Act
    for (let i = 0; i < WINDOW_LENGTH + 4; i++) {
      await loop.sampleOnce();
      clock.nowMs += 10_000;
    }

    // Assess
    expect(sent.slice(0, WINDOW_LENGTH - 1).every((r) => r.values.anomalyScore === undefined)).toBe(true);
    const scored = sent.slice(WINDOW_LENGTH - 1).map((r) => r.values.anomalyScore);
    expect(scored).toHaveLength(5);
    for (const score of scored) expect(score).toBeGreaterThanOrEqual(0);
    for (const score of scored) expect(score).toBeLessThan(0.5); // a steady random walk is no anomaly
    expect(loop.metrics()).toMatchObject({
      samples: WINDOW_LENGTH + 4,
      scoredWindows: 5,
      unscoredWindows: { 'window-filling': WINDOW_LENGTH - 1 },
    });
  });

  it('reports the thresholds a reading crosses', async () => {
    // Arrange
    const crossings: unknown[] = [];
    const loop = new TelemetryLoop({
      sensors: { read: () => ({ temperature: 71.5, battery: 9 }) },
      sink: { add: async (reading) => reading },
      clock: new FakeClock(),
      samplingIntervalS: 10,
      thresholds: DEFAULT_DEVICE_CONFIG.thresholds,
      onReading: (_reading, crossed) => crossings.push(...crossed),
    });

    // Act
    await loop.sampleOnce();

    // Assess
    expect(crossings).toEqual([
      { metric: 'temperature', value: 71.5, bound: 'max', limit: 60 },
      { metric: 'battery', value: 9, bound: 'min', limit: 15 },
    ]);
  });

  it('sends a reading at once when the thresholds it crosses change, not while they stay the same', async () => {
    // Arrange: in bounds, too hot twice, back in bounds twice
    const temperatures = [20, 71.5, 72, 25, 24];
    const urgent: boolean[] = [];
    const loop = new TelemetryLoop({
      sensors: { read: () => ({ temperature: temperatures[urgent.length] as number }) },
      sink: {
        add: async (reading, options) => {
          urgent.push(options?.urgent === true);
          return reading;
        },
      },
      clock: new FakeClock(),
      samplingIntervalS: 60,
      thresholds: DEFAULT_DEVICE_CONFIG.thresholds,
    });

    // Act
    for (const _ of temperatures) await loop.sampleOnce();

    // Assess
    expect(urgent).toEqual([false, true, false, true, false]);
  });

  it('keeps sampling after a sensor fails, and a new interval takes effect at once', async () => {
    // Arrange
    const clock = new RecordingClock();
    let reads = 0;
    const sent: Reading[] = [];
    const loop = new TelemetryLoop({
      sensors: {
        read: () => {
          reads++;
          if (reads === 2) throw new Error('I2C bus timeout');
          return { temperature: 20 + reads / 100 };
        },
      },
      sink: { add: async (reading) => void sent.push(reading) },
      clock,
      samplingIntervalS: 10,
    });

    // Act
    loop.start();
    await until(() => sent.length >= 3, 'three readings');
    loop.configure({ samplingIntervalS: 30, thresholds: {} });
    await until(() => clock.waits.includes(30_000), 'a wait of the new interval');
    await loop.stop();

    // Assess
    expect(loop.metrics().failedSamples).toBe(1);
    expect(clock.waits.slice(0, 3)).toEqual([10_000, 10_000, 10_000]);
  });
});

describe('EdgeAgent', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function agentOnBroker(options: { psmFailures?: number; coapExposure?: CoapExposure } = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'edge-agent-'));
    dirs.push(dir);
    const broker = new MemoryBroker();
    const clock = new FakeClock();
    const service = new FakeShadowService(broker);
    const transport = broker.attach(THING);
    const uplink = await Uplink.open({
      directory: dir,
      transport: { publish: (topic, payload) => transport.publish(topic, payload) },
      topic: `devices/env-sensor/${THING}/telemetry`,
      fsync: 'never',
      batcher: { maxReadings: 5 },
    });
    const psmRequests: unknown[] = [];
    let psmFailures = options.psmFailures ?? 0;
    const modemListeners = new Set<(status: ModemStatus) => void>();
    let modemStatus: ModemStatus = {
      state: 'registered',
      registration: 'registered-home',
      rat: 'NB-IoT',
      rsrp: -101,
      rsrq: -12,
      bars: 2,
      updatedAt: Date.UTC(2030, 0, 1),
    };
    const agent = new EdgeAgent({
      thingName: THING,
      thingType: 'env-sensor',
      transport,
      uplink,
      sensors: simulatedSensors('agent-1', clock),
      clock,
      defaults: DEFAULT_DEVICE_CONFIG,
      shadowStore: new MemoryShadowCopyStore(),
      model: { scorer: detector, report: () => modelReport(detector.info) },
      modem: {
        get status() {
          return modemStatus;
        },
        configurePsm: async (request) => {
          if (psmFailures > 0) {
            psmFailures--;
            throw new Error('AT+CPSMS timed out after 5000 ms');
          }
          psmRequests.push(request);
        },
        onStatus: (listener) => {
          modemListeners.add(listener);
          return () => modemListeners.delete(listener);
        },
      },
      firmware: () => ({ version: '1.4.2', slot: 'a' }),
      ...(options.coapExposure === undefined ? {} : { coapExposure: options.coapExposure }),
    });
    const setModemStatus = (change: Partial<ModemStatus>) => {
      modemStatus = { ...modemStatus, ...change };
      for (const listener of modemListeners) listener(modemStatus);
    };
    return { broker, service, agent, psmRequests, setModemStatus };
  }

  it('sends readings as compact batches, status with the modem signal, and reports state in the shadow', async () => {
    // Arrange
    const { broker, service, agent } = await agentOnBroker();

    // Act
    await agent.start();
    await until(() => broker.published.some((m) => m.topic.endsWith('/telemetry')), 'a telemetry batch');
    await until(() => service.state.reported?.model !== undefined, 'the model in the shadow');
    await agent.stop();

    // Assess
    const batch = broker.published.find((m) => m.topic === `devices/env-sensor/${THING}/telemetry`);
    const decoded = decodeUplinkBatch(batch?.payload ?? new Uint8Array());
    expect(decoded.ok && decoded.batch.readings.length).toBe(5);
    expect(decoded.ok && decoded.batch.readings[0]?.values).toMatchObject({ rsrp: -101, rsrq: -12 });
    const status = broker.published.find((m) => m.topic === `devices/env-sensor/${THING}/status`);
    const parsed = statusMessage.parse(JSON.parse(Buffer.from(status?.payload ?? []).toString()));
    expect(parsed).toMatchObject({
      firmwareVersion: '1.4.2',
      modelVersion: detector.info.version,
      signal: { rsrp: -101, rsrq: -12, rat: 'NB-IoT' },
    });
    expect(service.state.reported).toMatchObject({
      firmware: { version: '1.4.2', slot: 'a' },
      model: { version: detector.info.version, inputs: [{ name: 'features', shape: ['batch', 25] }] },
      modem: { registration: 'registered-home', rat: 'NB-IoT', rsrpDbm: -101, bars: 2 },
    });
  });

  it('says in its status when its CoAP gateway faces a network unauthenticated, for the fleet audit', async () => {
    // Arrange
    const exposure = { interface: 'eth1', address: '10.0.0.2', allow: ['10.0.0.7'] };
    const { broker, agent } = await agentOnBroker({ coapExposure: exposure });

    // Act
    await agent.start();
    await until(() => broker.published.some((m) => m.topic.endsWith('/status')), 'a status');
    await agent.stop();

    // Assess
    const status = broker.published.find((m) => m.topic === `devices/env-sensor/${THING}/status`);
    const parsed = statusMessage.parse(JSON.parse(Buffer.from(status?.payload ?? []).toString()));
    expect(parsed.coapExposure).toEqual(exposure);
  });

  it('applies desired settings: the sampling interval, and PSM through the modem, then reports them', async () => {
    // Arrange
    const { service, agent, psmRequests } = await agentOnBroker();
    await agent.start();
    const psm = { enabled: true, periodicTauS: 7200, activeTimeS: 30 };

    // Act
    service.setDesired({ config: { samplingIntervalS: 30, psm } });
    await until(() => agent.settings.samplingIntervalS === 30, 'the new interval');
    await until(() => service.state.reported?.config !== undefined, 'the settings reported');
    await agent.stop();

    // Assess
    const defaults = DEFAULT_DEVICE_CONFIG.psm;
    expect(psmRequests).toEqual([
      // The defaults at start: whatever the modem kept from before is not what the device reports.
      {
        enabled: defaults.enabled,
        periodicTauSeconds: defaults.periodicTauS,
        activeTimeSeconds: defaults.activeTimeS,
      },
      { enabled: true, periodicTauSeconds: 7200, activeTimeSeconds: 30 },
    ]);
    expect(service.state.reported?.config).toMatchObject({ samplingIntervalS: 30, psm });
  });

  it('reports a change of registration to the shadow at once', async () => {
    // Prepare
    const { service, agent, setModemStatus } = await agentOnBroker();
    await agent.start();
    await until(() => service.state.reported?.modem !== undefined, 'the modem in the shadow');

    // Act
    setModemStatus({ registration: 'searching', bars: 0 });
    await until(
      () =>
        (service.state.reported?.modem as { registration?: string } | undefined)?.registration ===
        'searching',
      'the new registration in the shadow',
    );
    await agent.stop();

    // Assess
    expect(service.state.reported?.modem).toMatchObject({ registration: 'searching', bars: 0 });
  });

  it('applies settings even while the modem cannot take PSM, and sends PSM once the modem registers', async () => {
    // Prepare: the modem does not answer the first two PSM requests (at start, and with the new settings)
    const { service, agent, psmRequests, setModemStatus } = await agentOnBroker({ psmFailures: 2 });
    await agent.start();
    service.setDesired({ config: { samplingIntervalS: 45 } });
    await until(() => agent.settings.samplingIntervalS === 45, 'the new interval');

    // Act
    setModemStatus({ registration: 'searching' });
    setModemStatus({ registration: 'registered-home' });
    await until(() => psmRequests.length > 0, 'the PSM request sent again');
    await agent.stop();

    // Assess
    expect(agent.samplingIntervalS).toBe(45);
    expect(psmRequests).toEqual([{ enabled: true, periodicTauSeconds: 3600, activeTimeSeconds: 60 }]);
  });
});
