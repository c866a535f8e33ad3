import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EdgeAgent } from '../../../../edge/src/agent/edge-agent.ts';
import { ModemEmulator } from '../../../../edge/src/modem/emulator.ts';
import { createEmulatorLink } from '../../../../edge/src/modem/emulator-transports.ts';
import { ModemDriver } from '../../../../edge/src/modem/modem-driver.ts';
import type { Clock } from '../../../../edge/src/ota/ports.ts';
import { Uplink } from '../../../../edge/src/uplink/uplink.ts';
import { DEFAULT_DEVICE_CONFIG } from '../../../../lib/protocol/device-config.ts';
import { decodeUplinkBatch } from '../../../../lib/protocol/uplink/codec.ts';
import { FakeClock } from '../ota/support.ts';
import { settle, until } from '../shadow/support.ts';
import { ManualClock } from '../uplink/support.ts';
import {
  answersOn,
  COMMANDS_TOPIC,
  DEVICE,
  MemoryBroker,
  removeDirs,
  request,
  TYPE,
  tempDir,
} from './support.ts';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await removeDirs();
});

/** The agent on an in-memory broker, with the modem emulator behind the real AT driver. */
async function agentWithCommands(
  clock: Clock,
  options: { modem?: boolean; refuse?: readonly string[]; log?: (event: string) => void } = {},
) {
  const dir = await tempDir();
  const broker = new MemoryBroker();
  const transport = broker.attach(DEVICE, { refuse: options.refuse ?? [] });
  const uplink = await Uplink.open({
    directory: join(dir, 'uplink'),
    transport: { publish: (topic, payload) => transport.publish(topic, payload) },
    topic: `devices/${TYPE}/${DEVICE}/telemetry`,
    fsync: 'never',
    // A batch far bigger than a test takes: a telemetry message means a reading sent on its own.
    batcher: { maxReadings: 500, maxAgeMs: 3_600_000 },
  });
  let modem: ModemDriver | undefined;
  if (options.modem !== false) {
    const emulator = new ModemEmulator({
      rat: 'NB-IoT',
      signal: { rsrpDbm: -88, rsrqDb: -9 },
      registrationDelayMs: 5,
      bootDelayMs: 5,
    });
    modem = new ModemDriver({ link: createEmulatorLink(emulator), apn: 'iot' });
    await modem.start();
    stops.push(() => modem?.stop() ?? Promise.resolve());
  }
  const agent = new EdgeAgent({
    thingName: DEVICE,
    thingType: TYPE,
    transport,
    uplink,
    sensors: { read: () => ({ temperature: 21.25 }) },
    clock,
    defaults: DEFAULT_DEVICE_CONFIG,
    ...(modem === undefined ? {} : { modem }),
    firmware: () => ({ version: '2.3.4', slot: 'b' }),
    model: {
      scorer: { intervalRange: { min: 1, max: 86_400 }, scoreFeatures: async () => new Float32Array(1) },
      report: () => ({ version: 'iforest-9' }),
    },
    commands: { directory: join(dir, 'commands'), dataDir: dir, fsync: 'never' },
    ...(options.log === undefined ? {} : { log: options.log }),
  });
  await agent.start();
  stops.push(() => agent.stop());
  const send = (overrides: Parameters<typeof request>[1]) =>
    broker.publish(COMMANDS_TOPIC, JSON.stringify(request(clock.now(), overrides)));
  return { broker, agent, modem, send };
}

describe('the edge agent with commands', () => {
  it('answers diagnostics with the modem driver’s registration and signal, queue depth, disk free, versions and uptime', async () => {
    // Arrange
    const { broker, modem, send } = await agentWithCommands(new FakeClock());

    // Act
    send({ executionId: 'diag-1', name: 'diagnostics' });
    await until(() => answersOn(broker).some((a) => a.status === 'SUCCEEDED'), 'the diagnostics');

    // Assess
    const [progress, done] = answersOn(broker);
    expect(progress).toMatchObject({ executionId: 'diag-1', status: 'IN_PROGRESS' });
    expect(done?.result).toMatchObject({
      modem: {
        state: 'registered',
        registration: 'registered-home',
        rat: 'NB-IoT',
        rsrpDbm: modem?.status.rsrp,
        rsrqDb: modem?.status.rsrq,
        bars: modem?.status.bars,
      },
      uplink: { queuedRecords: 0, droppedRecords: 0, answersQueued: expect.any(Number) },
      disk: { freeBytes: expect.any(Number), totalBytes: expect.any(Number) },
      firmware: { version: '2.3.4', slot: 'b' },
      model: { version: 'iforest-9' },
      uptimeSeconds: expect.any(Number),
      systemUptimeSeconds: expect.any(Number),
    });
    const result = done?.result as { modem: { rsrpDbm: number }; disk: { freeBytes: number } };
    expect(Math.abs(result.modem.rsrpDbm + 88)).toBeLessThanOrEqual(1); // the emulator's -88 dBm, as +CESQ encodes it
    expect(result.disk.freeBytes).toBeGreaterThan(0);
  });

  it('says there is no modem rather than failing diagnostics on a device without one', async () => {
    // Arrange
    const { broker, send } = await agentWithCommands(new FakeClock(), { modem: false });

    // Act
    send({ executionId: 'diag-2', name: 'diagnostics' });
    await until(() => answersOn(broker).some((a) => a.status === 'SUCCEEDED'), 'the diagnostics');

    // Assess
    expect(answersOn(broker).at(-1)?.result).toMatchObject({ modem: { present: false } });
  });

  it('sample-now sends the reading at once, outside the batch, and answers with it', async () => {
    // Arrange: a clock that stands still, so no batch closes by age.
    const { broker, send } = await agentWithCommands(new ManualClock(), { modem: false });
    const telemetry = () => broker.published.filter((m) => m.topic.endsWith('/telemetry'));
    await settle();
    const before = telemetry().length;

    // Act
    send({ executionId: 'sample-1', name: 'sample-now' });
    await until(() => answersOn(broker).length === 1, 'the answer');
    await until(() => telemetry().length > before, 'a telemetry message');

    // Assess
    const answer = answersOn(broker)[0];
    expect(answer).toMatchObject({ executionId: 'sample-1', status: 'SUCCEEDED' });
    const reading = answer?.result?.reading as { seq: number; values: Record<string, number> };
    expect(reading.values.temperature).toBe(21.25);
    const decoded = telemetry().map((m) => decodeUplinkBatch(m.payload));
    const seqs = decoded.flatMap((d) => (d.ok ? d.batch.readings.map((r) => r.seq) : []));
    expect(seqs).toContain(reading.seq);
  });

  it('set-interval overrides the sampling interval for `for` seconds, then the settings apply again', async () => {
    // Arrange
    const clock = new ManualClock();
    const { broker, agent, send } = await agentWithCommands(clock, { modem: false });

    // Act
    send({ executionId: 'fast-1', name: 'set-interval', parameters: { seconds: 30, for: 120 } });
    await until(() => answersOn(broker).length === 1, 'the answer');
    const during = agent.samplingIntervalS;
    clock.advance(119_000);
    await settle();
    const justBefore = agent.samplingIntervalS;
    clock.advance(1_000);
    await settle();

    // Assess
    expect(answersOn(broker)[0]).toMatchObject({
      status: 'SUCCEEDED',
      result: { samplingIntervalS: 30, forSeconds: 120 },
    });
    expect([during, justBefore]).toEqual([30, 30]);
    expect(agent.samplingIntervalS).toBe(DEFAULT_DEVICE_CONFIG.samplingIntervalS);
  });

  it('stops listening when the agent stops', async () => {
    // Arrange
    const { broker, agent, send } = await agentWithCommands(new FakeClock(), { modem: false });
    stops.pop();

    // Act
    await agent.stop();
    send({ executionId: 'after-stop', name: 'ping' });
    await settle();

    // Assess
    expect(answersOn(broker)).toEqual([]);
  });

  it('runs without commands, and says why, when the broker refuses the commands topic', async () => {
    // Arrange
    const logged: string[] = [];
    const { agent } = await agentWithCommands(new FakeClock(), {
      modem: false,
      refuse: [COMMANDS_TOPIC],
      log: (event) => logged.push(event),
    });

    // Act
    await until(() => agent.metrics().telemetry.samples > 0, 'a sample');

    // Assess
    expect(logged).toContain('commands-unavailable');
  });
});
