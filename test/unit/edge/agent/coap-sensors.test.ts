import { afterEach, describe, expect, it } from 'vitest';
import { sensorGatewayOptions } from '../../../../edge/src/agent/coap-sensors.ts';
import { EdgeAgent } from '../../../../edge/src/agent/edge-agent.ts';
import { MemoryShadowCopyStore } from '../../../../edge/src/shadow/copy-store.ts';
import { DEFAULT_DEVICE_CONFIG } from '../../../../lib/protocol/device-config.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';
import { cborOf, diagnosticOf, Harness, T0 } from '../coap/support.ts';
import { FakeClock } from '../ota/support.ts';
import { THING } from '../shadow/support.ts';
import { MemoryBroker } from '../transport/memory-transport.ts';

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.stop();
});

/** The agent's CoAP wiring on a real gateway; `queued` is what reached the uplink. */
async function gatewayForAgent(add?: (reading: Reading) => Promise<void>) {
  const broker = new MemoryBroker();
  const queued: Reading[] = [];
  const agent = new EdgeAgent({
    thingName: THING,
    thingType: 'env-sensor',
    transport: broker.attach(THING),
    // The agent is not started: the gateway's readings go to the `add` it is given.
    uplink: {
      add: async (reading) => reading,
      start: () => {},
      stop: async () => {},
      metrics: () => ({}) as never,
    },
    sensors: { read: () => ({ temperature: 21.25, battery: 88 }) },
    clock: new FakeClock(T0),
    defaults: DEFAULT_DEVICE_CONFIG,
    shadowStore: new MemoryShadowCopyStore(),
    firmware: () => ({ version: '1.0.0' }),
  });
  const harness = await new Harness(
    sensorGatewayOptions(agent, add ?? (async (reading) => void queued.push(reading))),
  ).start();
  harnesses.push(harness);
  return { agent, harness, queued };
}

describe("the agent's CoAP gateway", () => {
  it("puts a sensor's readings into the device's uplink, under <sensorId>_<metric>", async () => {
    // Prepare
    const { harness, queued } = await gatewayForAgent();

    // Act
    const result = await harness.send({
      method: 'POST',
      pathname: '/sensors/soil1/readings',
      body: {
        readings: [
          { ts: T0 - 60_000, values: { moisture: 31.25 } },
          { ts: T0, values: { moisture: 31.5 } },
        ],
      },
    });

    // Assess
    expect(result.code).toBe('2.01');
    expect(queued).toEqual([
      { ts: T0 - 60_000, values: { soil1_moisture: 31.25 } },
      { ts: T0, values: { soil1_moisture: 31.5 } },
    ]);
  });

  it('refuses the whole request, with the reason, when one reading cannot travel on the uplink', async () => {
    // Prepare
    const { harness, queued } = await gatewayForAgent();

    // Act
    const result = await harness.send({
      method: 'POST',
      pathname: '/sensors/soil1/readings',
      body: {
        readings: [
          { ts: T0, values: { moisture: 31.25 } },
          { ts: T0, values: { moisture: 1e300 } },
        ],
      },
    });

    // Assess
    expect(result.code).toBe('4.00');
    expect(diagnosticOf(result)).toContain('soil1_moisture');
    expect(queued).toEqual([]);
  });

  it('answers 5.03 when the uplink cannot take readings now (queue full), and queues nothing', async () => {
    // Prepare
    const { harness } = await gatewayForAgent(async () => {
      throw new Error('uplink queue is full (refuse-newest)');
    });

    // Act
    const result = await harness.send({
      method: 'POST',
      pathname: '/sensors/soil1/readings',
      body: { values: { moisture: 30 } },
    });

    // Assess
    expect(result.code).toBe('5.03');
  });

  it('samples the device on sample-now and serves that sample on GET /readings', async () => {
    // Prepare
    const { harness } = await gatewayForAgent();

    // Act
    const command = await harness.send({
      method: 'POST',
      pathname: '/commands',
      body: { name: 'sample-now' },
    });
    const latest = await harness.send({ pathname: '/readings' });

    // Assess
    expect(command.code).toBe('2.04');
    expect(cborOf(command)).toMatchObject({ values: { temperature: 21.25, battery: 88 } });
    expect(latest.code).toBe('2.05');
    expect(cborOf(latest)).toMatchObject({ values: { temperature: 21.25, battery: 88 } });
  });

  it('overrides the sampling interval on set-interval until the shadow next changes it', async () => {
    // Prepare
    const { agent, harness } = await gatewayForAgent();

    // Act
    const result = await harness.send({
      method: 'POST',
      pathname: '/commands',
      body: { name: 'set-interval', seconds: 45 },
    });

    // Assess
    expect(result.code).toBe('2.04');
    expect(cborOf(result)).toEqual({ samplingIntervalS: 45 });
    expect(agent.samplingIntervalS).toBe(45);
    expect(agent.settings.samplingIntervalS).toBe(DEFAULT_DEVICE_CONFIG.samplingIntervalS);
  });
});
