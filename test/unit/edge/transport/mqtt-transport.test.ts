import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  NotConnectedError,
  SubscriptionRefusedError,
  TopicFilterError,
} from '../../../../edge/src/transport/errors.ts';
import {
  connectMqttTransport,
  MqttDeviceTransport,
  type MqttTransportConfig,
} from '../../../../edge/src/transport/mqtt-transport.ts';
import type { ConnectionState } from '../../../../edge/src/transport/ports.ts';
import { type BrokerMessage, type LocalBroker, startBroker } from '../../../../lib/local/broker.ts';
import { LocalPki } from '../../../../lib/local/pki.ts';
import { openTestRegistry } from '../../../support/iot.ts';
import { until } from '../shadow/support.ts';

// mqtt-packet is MQTT.js's dependency, not ours: the copy MQTT.js itself loads, found from where it is.
const mqttPacket = createRequire(createRequire(import.meta.url).resolve('mqtt'))(
  'mqtt-packet',
) as typeof import('mqtt-packet');

/**
 * The MQTT adapter against the local platform's broker (aedes on mutual TLS, the device policy of
 * lib/protocol/device-policy.ts enforced): the same rules IoT Core applies to a device.
 */

const THING = 'sensor-7';
const DELTA = `fleet/things/${THING}/shadow/update/delta`;
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();

let dataDir: string;
let pki: LocalPki;
let iot: Awaited<ReturnType<typeof openTestRegistry>>;
let broker: LocalBroker;
let port: number;
const heardByBroker: BrokerMessage[] = [];
const open: MqttDeviceTransport[] = [];

async function startLocalBroker(atPort = 0): Promise<void> {
  broker = await startBroker({ pki, directory: iot.registry, port: atPort });
  port = broker.port;
  broker.onMessage((message) => heardByBroker.push(message));
}

async function deviceConfig(overrides: Partial<MqttTransportConfig> = {}): Promise<MqttTransportConfig> {
  const credentials = await iot.credentials(THING, 'sensor');
  return {
    url: `mqtts://127.0.0.1:${port}`,
    thingName: THING,
    certPem: credentials.certPem,
    keyPem: credentials.keyPem,
    caPem: credentials.caPem,
    reconnectPeriodMs: 50,
    ...overrides,
  };
}

async function connect(overrides: Partial<MqttTransportConfig> = {}) {
  const events: Array<{ event: string; fields: Readonly<Record<string, unknown>> }> = [];
  const transport = connectMqttTransport(
    await deviceConfig({ log: (event, fields = {}) => events.push({ event, fields }), ...overrides }),
  );
  open.push(transport);
  const states: ConnectionState[] = [];
  transport.onStateChange((state) => states.push(state));
  return { transport, events, states };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-mqtt-transport-'));
  pki = await LocalPki.open(dataDir);
  iot = await openTestRegistry(dataDir, pki);
  await startLocalBroker();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((transport) => transport.close()));
  heardByBroker.splice(0);
});

afterAll(async () => {
  await broker.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('MQTT transport (mutual TLS, local broker)', () => {
  it('connects with the device certificate and delivers what the platform publishes on a subscribed topic', async () => {
    // Prepare
    const { transport } = await connect();
    await until(() => transport.state === 'connected', 'connected');
    const heard: Array<[string, string]> = [];
    await transport.subscribe(`fleet/things/${THING}/shadow/+/delta`, (topic, payload) =>
      heard.push([topic, text(payload)]),
    );

    // Act
    await broker.publish(DELTA, '{"state":{},"version":2}');
    await until(() => heard.length > 0, 'the message');

    // Assess
    expect(heard).toEqual([[DELTA, '{"state":{},"version":2}']]);
  });

  it("writes MQTT numbers without building mqtt-packet's process-wide cache of 65,536 Buffers", async () => {
    // Prepare
    const { transport } = await connect();

    // Act
    await until(() => transport.state === 'connected', 'connected');

    // Assess
    expect(mqttPacket.writeToStream.cacheNumbers).toBe(false);
  });

  it('publishes as the thing (the broker sees the client id of the certificate)', async () => {
    // Prepare
    const { transport } = await connect();
    await until(() => transport.state === 'connected', 'connected');

    // Act
    await transport.publish(`fleet/things/${THING}/shadow/get`, '{"clientToken":"t1"}');
    await until(() => heardByBroker.some((m) => m.topic.endsWith('/shadow/get')), 'the publish');

    // Assess
    const message = heardByBroker.find((m) => m.topic.endsWith('/shadow/get'));
    expect(message?.clientId).toBe(THING);
    expect(message?.payload.toString()).toBe('{"clientToken":"t1"}');
  });

  it('rejects a subscription the device policy refuses (SUBACK 0x80) and keeps no handler for it', async () => {
    // Prepare
    const { transport } = await connect();
    await until(() => transport.state === 'connected', 'connected');

    // Act
    const attempt = transport.subscribe('fleet/things/someone-else/shadow/update/delta', () => {});

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(SubscriptionRefusedError);
    // The refused filter is not made again on the next connection (it would be refused again).
    await expect(
      transport.subscribe('fleet/things/someone-else/shadow/update/delta', () => {}),
    ).rejects.toBeInstanceOf(SubscriptionRefusedError);
  });

  it('rejects an invalid topic filter before asking the broker', async () => {
    // Prepare
    const { transport } = await connect();

    // Act
    const attempt = transport.subscribe('fleet/#/things', () => {});

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(TopicFilterError);
  });

  it('refuses to publish while not connected, and makes subscriptions taken meanwhile before turning connected', async () => {
    // Prepare: a client that does not connect until told to
    const config = await deviceConfig();
    const client = mqtt.connect(config.url, {
      clientId: THING,
      key: config.keyPem,
      cert: config.certPem,
      ca: config.caPem,
      manualConnect: true,
      resubscribe: false,
    });
    const transport = new MqttDeviceTransport(client);
    open.push(transport);
    const states: ConnectionState[] = [];
    transport.onStateChange((state) => states.push(state));
    const heard: string[] = [];
    await transport.subscribe(DELTA, (_topic, payload) => heard.push(text(payload)));

    // Act
    const early = await transport
      .publish(`fleet/things/${THING}/shadow/get`, '{}')
      .catch((error: unknown) => error);
    client.connect();
    await until(() => transport.state === 'connected', 'connected');
    await broker.publish(DELTA, 'first');
    await until(() => heard.length > 0, 'the message');

    // Assess
    expect(early).toBeInstanceOf(NotConnectedError);
    expect(states).toEqual(['connected']);
    expect(heard).toEqual(['first']);
  });

  it('turns connected when the policy refuses one of the filters taken while down, and delivers on the others', async () => {
    // Prepare: two filters taken before connecting, one of them another thing's
    const config = await deviceConfig();
    const client = mqtt.connect(config.url, {
      clientId: THING,
      key: config.keyPem,
      cert: config.certPem,
      ca: config.caPem,
      manualConnect: true,
      resubscribe: false,
    });
    const events: string[] = [];
    const transport = new MqttDeviceTransport(client, (event, fields) =>
      events.push(`${event} ${fields?.filter}`),
    );
    open.push(transport);
    const heard: string[] = [];
    await transport.subscribe(DELTA, (_topic, payload) => heard.push(text(payload)));
    await transport.subscribe('fleet/things/someone-else/shadow/update/delta', () => {});

    // Act
    client.connect();
    await until(() => transport.state === 'connected', 'connected');
    await broker.publish(DELTA, 'still delivered');
    await until(() => heard.length > 0, 'the message');

    // Assess
    expect(events).toContain('subscription-refused fleet/things/someone-else/shadow/update/delta');
    expect(heard).toEqual(['still delivered']);
  });

  it('stops delivering once the last handler unsubscribes', async () => {
    // Prepare
    const { transport } = await connect();
    await until(() => transport.state === 'connected', 'connected');
    const heard: string[] = [];
    const first = await transport.subscribe(DELTA, (_topic, payload) => heard.push(`a:${text(payload)}`));
    const second = await transport.subscribe(DELTA, (_topic, payload) => heard.push(`b:${text(payload)}`));

    // Act
    await first();
    await broker.publish(DELTA, '1');
    await until(() => heard.length === 1, 'the message to the remaining handler');
    await second();
    await broker.publish(DELTA, '2');
    // A marker on a topic still subscribed shows that the broker has delivered past the second message.
    const markers: string[] = [];
    await transport.subscribe(`fleet/things/${THING}/shadow/get/accepted`, () => markers.push('marker'));
    await broker.publish(`fleet/things/${THING}/shadow/get/accepted`, 'm');
    await until(() => markers.length === 1, 'the marker');

    // Assess
    expect(heard).toEqual(['b:1']);
  });

  it('keeps calling the other handlers when one throws', async () => {
    // Prepare
    const { transport, events } = await connect();
    await until(() => transport.state === 'connected', 'connected');
    const heard: string[] = [];
    await transport.subscribe(DELTA, () => {
      throw new Error('handler bug');
    });
    await transport.subscribe(DELTA, (_topic, payload) => heard.push(text(payload)));

    // Act
    await broker.publish(DELTA, 'x');
    await until(() => heard.length === 1, 'the second handler');

    // Assess
    expect(events.find((e) => e.event === 'handler-error')?.fields).toMatchObject({
      topic: DELTA,
      error: 'Error: handler bug',
    });
  });

  it('reconnects after the broker restarts and subscribes again before turning connected', async () => {
    // Prepare
    const { transport, states } = await connect();
    await until(() => transport.state === 'connected', 'connected');
    const heard: string[] = [];
    await transport.subscribe(DELTA, (_topic, payload) => heard.push(text(payload)));

    // Act
    await broker.close();
    await until(() => transport.state !== 'connected', 'the link to drop');
    await startLocalBroker(port);
    await until(() => transport.state === 'connected', 'reconnected');
    await broker.publish(DELTA, 'after the restart');
    await until(() => heard.length > 0, 'the message');

    // Assess
    expect(states[0]).toBe('connected');
    expect(states).toContain('disconnected');
    expect(states.at(-1)).toBe('connected');
    expect(heard).toEqual(['after the restart']);
  });

  it('never connects to a broker whose certificate its CA did not sign', async () => {
    // Prepare: a CA from another installation
    const otherDir = await mkdtemp(join(tmpdir(), 'fleetkit-other-ca-'));
    try {
      const foreign = await (await LocalPki.open(otherDir)).deviceCredentials(THING, 'sensor');

      // Act
      const { transport, events } = await connect({ caPem: foreign.caPem, reconnectPeriodMs: 0 });
      await until(() => events.some((e) => e.event === 'mqtt-error'), 'the TLS failure');

      // Assess
      expect(transport.state).not.toBe('connected');
      await expect(transport.publish(DELTA, 'x')).rejects.toBeInstanceOf(NotConnectedError);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });
});
