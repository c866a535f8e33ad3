import { afterEach, describe, expect, it } from 'vitest';
import {
  GreengrassSdkMissingError,
  NotConnectedError,
  SubscriptionRefusedError,
} from '../../../../edge/src/transport/errors.ts';
import {
  GreengrassIpcTransport,
  ipcPayloadBytes,
  loadGreengrassIpcClientFactory,
} from '../../../../edge/src/transport/greengrass-ipc-transport.ts';
import type { ConnectionState } from '../../../../edge/src/transport/ports.ts';
import { FakeClock } from '../ota/support.ts';
import { until } from '../shadow/support.ts';
import { FakeIpcClient, type FakeNucleus, fakeNucleus } from './fake-ipc-client.ts';

const TOPIC = 'fleet/things/gg-core-1/shadow/update/delta';
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();

const open: GreengrassIpcTransport[] = [];

function harness(nucleus: FakeNucleus = fakeNucleus()) {
  const events: Array<{ event: string; fields: Readonly<Record<string, unknown>> }> = [];
  const transport = GreengrassIpcTransport.open({
    createClient: () => new FakeIpcClient(nucleus),
    clock: new FakeClock(),
    log: (event, fields = {}) => events.push({ event, fields }),
  });
  open.push(transport);
  const states: ConnectionState[] = [];
  transport.onStateChange((state) => states.push(state));
  const client = (index = -1) => nucleus.clients.at(index) as FakeIpcClient;
  return { nucleus, transport, events, states, client };
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((transport) => transport.close()));
});

describe('Greengrass IPC transport (fake greengrasscoreipc client)', () => {
  it('connects to the nucleus and opens one SubscribeToIoTCore stream per filter', async () => {
    // Prepare
    const h = harness();
    await until(() => h.transport.state === 'connected', 'connected');
    const heard: Array<[string, string]> = [];

    // Act
    await h.transport.subscribe(TOPIC, (topic, payload) => heard.push([topic, text(payload)]));
    await h.transport.subscribe(TOPIC, (topic) => heard.push([topic, 'second handler']));
    h.client().openStreams(TOPIC)[0]?.deliver(TOPIC, new TextEncoder().encode('{"version":3}'));

    // Assess
    expect(h.client().streams.map((s) => s.request)).toEqual([{ topicName: TOPIC, qos: '1' }]);
    expect(heard).toEqual([
      [TOPIC, '{"version":3}'],
      [TOPIC, 'second handler'],
    ]);
  });

  it('publishes with PublishToIoTCore, QoS 1 unless asked for 0, payload as bytes', async () => {
    // Prepare
    const h = harness();
    await until(() => h.transport.state === 'connected', 'connected');

    // Act
    await h.transport.publish('fleet/things/gg-core-1/shadow/get', '{}');
    await h.transport.publish('devices/sensor/gg-core-1/telemetry', new Uint8Array([1, 2]), { qos: 0 });

    // Assess
    expect(h.client().published.map((p) => ({ ...p, payload: [...(p.payload ?? [])] }))).toEqual([
      { topicName: 'fleet/things/gg-core-1/shadow/get', qos: '1', payload: [...Buffer.from('{}')] },
      { topicName: 'devices/sensor/gg-core-1/telemetry', qos: '0', payload: [1, 2] },
    ]);
  });

  it('refuses to publish before the nucleus connection is up', async () => {
    // Prepare
    const nucleus = fakeNucleus();
    nucleus.failConnects = 1;
    const h = harness(nucleus);

    // Act
    const attempt = h.transport.publish('fleet/things/gg-core-1/shadow/get', '{}');

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(NotConnectedError);
  });

  it('rejects a subscription the recipe does not authorize, with the nucleus reason', async () => {
    // Prepare
    const nucleus = fakeNucleus();
    nucleus.unauthorized.add('fleet/things/other/shadow/update/delta');
    const h = harness(nucleus);
    await until(() => h.transport.state === 'connected', 'connected');

    // Act
    const attempt = h.transport.subscribe('fleet/things/other/shadow/update/delta', () => {});

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(SubscriptionRefusedError);
    await expect(attempt).rejects.toThrow(/not authorized to subscribe/);
    expect(h.client().streams[0]?.closed).toBe(true);
  });

  it('keeps trying to connect with a new client each time, then opens streams made while down', async () => {
    // Prepare: the nucleus is not up yet for the first two attempts
    const nucleus = fakeNucleus();
    nucleus.failConnects = 2;
    const h = harness(nucleus);
    const heard: string[] = [];
    await h.transport.subscribe(TOPIC, (_topic, payload) => heard.push(text(payload)));

    // Act
    await until(() => h.transport.state === 'connected', 'connected');
    h.client().openStreams(TOPIC)[0]?.deliver(TOPIC, 'hello');

    // Assess
    expect(nucleus.clients).toHaveLength(3);
    expect(nucleus.clients.slice(0, 2).every((client) => client.closed)).toBe(true);
    expect(h.events.filter((e) => e.event === 'ipc-connect-failed')).toHaveLength(2);
    expect(heard).toEqual(['hello']);
  });

  it('reconnects after the nucleus connection drops and opens every stream again before connected', async () => {
    // Prepare
    const h = harness();
    await until(() => h.transport.state === 'connected', 'connected');
    const heard: string[] = [];
    await h.transport.subscribe(TOPIC, (_topic, payload) => heard.push(text(payload)));
    const first = h.client();

    // Act
    first.drop();
    await until(() => h.nucleus.clients.length === 2 && h.transport.state === 'connected', 'reconnected');
    first.streams[0]?.deliver(TOPIC, 'from the old stream');
    h.client().openStreams(TOPIC)[0]?.deliver(TOPIC, 'from the new stream');

    // Assess
    expect(h.states).toEqual(['connected', 'disconnected', 'connected']);
    expect(h.client().openStreams(TOPIC)).toHaveLength(1);
    // A late message of the dropped connection still reaches the handler: it is a real message.
    expect(heard).toEqual(['from the old stream', 'from the new stream']);
  });

  it('opens a stream again when the nucleus ends it', async () => {
    // Prepare
    const h = harness();
    await until(() => h.transport.state === 'connected', 'connected');
    await h.transport.subscribe(TOPIC, () => {});

    // Act
    h.client().openStreams(TOPIC)[0]?.end();
    await until(() => h.client().streams.length === 2, 'the stream to be opened again');

    // Assess
    expect(h.client().streams[1]?.request).toEqual({ topicName: TOPIC, qos: '1' });
  });

  it('closes the stream when the last handler unsubscribes', async () => {
    // Prepare
    const h = harness();
    await until(() => h.transport.state === 'connected', 'connected');
    const first = await h.transport.subscribe(TOPIC, () => {});
    const second = await h.transport.subscribe(TOPIC, () => {});

    // Act
    await first();
    const afterFirst = h.client().openStreams(TOPIC).length;
    await second();

    // Assess
    expect(afterFirst).toBe(1);
    expect(h.client().openStreams(TOPIC)).toHaveLength(0);
  });

  it('closes streams and the client on close, and stays closed', async () => {
    // Prepare
    const h = harness();
    await until(() => h.transport.state === 'connected', 'connected');
    await h.transport.subscribe(TOPIC, () => {});
    const client = h.client();

    // Act
    await h.transport.close();

    // Assess
    expect(h.transport.state).toBe('closed');
    expect(client.closed).toBe(true);
    expect(client.streams.every((s) => s.closed)).toBe(true);
    await expect(h.transport.publish(TOPIC, 'x')).rejects.toBeInstanceOf(NotConnectedError);
  });
});

describe('IPC payloads', () => {
  it.each([
    ['a string', 'abc', 'abc'],
    ['a Uint8Array', new TextEncoder().encode('abc'), 'abc'],
    ['a Buffer slice', Buffer.from('xxabcxx').subarray(2, 5), 'abc'],
    ['an ArrayBuffer', new TextEncoder().encode('abc').buffer, 'abc'],
    ['an object (the SDK decoded JSON)', { a: 1 }, '{"a":1}'],
    ['no payload', undefined, ''],
  ])('turns %s into bytes', (_name, payload, expected) => {
    // Act
    const bytes = ipcPayloadBytes(payload);

    // Assess
    expect(text(bytes)).toBe(expected);
  });
});

describe('loading the Greengrass SDK', () => {
  it('returns a factory from the SDK module (named or default export)', async () => {
    // Prepare
    const made: string[] = [];
    const greengrasscoreipc = { createClient: () => made.push('client') };

    // Act
    const named = await loadGreengrassIpcClientFactory(async () => ({ greengrasscoreipc }));
    const viaDefault = await loadGreengrassIpcClientFactory(async () => ({ default: { greengrasscoreipc } }));
    named();
    viaDefault();

    // Assess
    expect(made).toEqual(['client', 'client']);
  });

  it('says how to fix it when the SDK is not installed', async () => {
    // Act
    const attempt = loadGreengrassIpcClientFactory(async (specifier) => {
      throw new Error(`Cannot find package '${specifier}'`);
    });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(GreengrassSdkMissingError);
    await expect(attempt).rejects.toThrow(/aws-iot-device-sdk-v2.*FLEETKIT_TRANSPORT=mqtt/s);
  });

  it('refuses a module without greengrasscoreipc.createClient', async () => {
    // Act
    const attempt = loadGreengrassIpcClientFactory(async () => ({ mqtt: {} }));

    // Assess
    await expect(attempt).rejects.toThrow(/has no greengrasscoreipc.createClient/);
  });
});
