import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GreengrassSdkMissingError } from '../../../../edge/src/transport/errors.ts';
import { GreengrassIpcTransport } from '../../../../edge/src/transport/greengrass-ipc-transport.ts';
import { MqttDeviceTransport } from '../../../../edge/src/transport/mqtt-transport.ts';
import {
  openTransport,
  readTransportSettings,
  TransportConfigError,
  type TransportSettings,
} from '../../../../edge/src/transport/open-transport.ts';
import type { DeviceTransport } from '../../../../edge/src/transport/ports.ts';
import { type LocalBroker, startBroker } from '../../../../lib/local/broker.ts';
import { LocalPki } from '../../../../lib/local/pki.ts';
import { openTestRegistry } from '../../../support/iot.ts';
import { FakeClock } from '../ota/support.ts';
import { until } from '../shadow/support.ts';
import { FakeIpcClient, fakeNucleus } from './fake-ipc-client.ts';

const SOCKET = { AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT: '/greengrass/v2/ipc.socket' };
const MQTT_ENV = {
  FLEETKIT_THING_NAME: 'sensor-7',
  FLEETKIT_MQTT_URL: 'mqtts://broker.example:8883',
  FLEETKIT_CERT_FILE: '/certs/device.pem',
  FLEETKIT_KEY_FILE: '/certs/device.key',
  FLEETKIT_CA_FILE: '/certs/ca.pem',
};

describe('reading the transport settings from the environment', () => {
  it.each<[string, Record<string, string>, TransportSettings]>([
    [
      'Greengrass IPC when the nucleus socket is set',
      { ...SOCKET, AWS_IOT_THING_NAME: 'gg-core-1' },
      { mode: 'greengrass', thingName: 'gg-core-1' },
    ],
    [
      'MQTT when the nucleus socket is not set',
      MQTT_ENV,
      {
        mode: 'mqtt',
        thingName: 'sensor-7',
        url: 'mqtts://broker.example:8883',
        certFile: '/certs/device.pem',
        keyFile: '/certs/device.key',
        caFile: '/certs/ca.pem',
        tlsMinVersion: 'TLSv1.3',
      },
    ],
    [
      'MQTT under Greengrass when FLEETKIT_TRANSPORT says so',
      { ...SOCKET, ...MQTT_ENV, FLEETKIT_TRANSPORT: 'mqtt' },
      expect.objectContaining({ mode: 'mqtt', thingName: 'sensor-7' }),
    ],
    [
      'the default when FLEETKIT_TRANSPORT is empty',
      { ...SOCKET, AWS_IOT_THING_NAME: 'gg-core-1', FLEETKIT_TRANSPORT: '' },
      { mode: 'greengrass', thingName: 'gg-core-1' },
    ],
  ])('picks %s', (_name, env, expected) => {
    // Act
    const settings = readTransportSettings(env);

    // Assess
    expect(settings).toEqual(expected);
  });

  it.each([
    ['no thing name under Greengrass', SOCKET, /AWS_IOT_THING_NAME/],
    [
      'every missing MQTT variable',
      { FLEETKIT_THING_NAME: 'sensor-7' },
      /FLEETKIT_MQTT_URL.*FLEETKIT_CERT_FILE.*FLEETKIT_KEY_FILE.*FLEETKIT_CA_FILE/,
    ],
    [
      'a broker URL without TLS',
      { ...MQTT_ENV, FLEETKIT_MQTT_URL: 'mqtt://broker.example:1883' },
      /FLEETKIT_MQTT_URL: must be mqtts/,
    ],
    [
      'a thing name MQTT cannot carry',
      { ...MQTT_ENV, FLEETKIT_THING_NAME: 'sensor/7' },
      /FLEETKIT_THING_NAME: must be/,
    ],
    ['an unknown mode', { ...MQTT_ENV, FLEETKIT_TRANSPORT: 'lorawan' }, /FLEETKIT_TRANSPORT/],
  ])('refuses %s, naming the variable', (_name, env, message) => {
    // Act
    const attempt = () => readTransportSettings(env);

    // Assess
    expect(attempt).toThrow(TransportConfigError);
    expect(attempt).toThrow(message);
  });
});

describe('opening the transport', () => {
  let dataDir: string;
  let pki: LocalPki;
  let iot: Awaited<ReturnType<typeof openTestRegistry>>;
  let broker: LocalBroker;
  const open: DeviceTransport[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-open-transport-'));
    pki = await LocalPki.open(dataDir);
    iot = await openTestRegistry(dataDir, pki);
    broker = await startBroker({ pki, directory: iot.registry, port: 0 });
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((transport) => transport.close()));
  });

  afterAll(async () => {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('opens MQTT over mutual TLS from certificate, key and CA files', async () => {
    // Prepare
    const credentials = await iot.credentials('sensor-7', 'sensor');
    const files = {
      cert: join(dataDir, 'device.pem'),
      key: join(dataDir, 'device.key'),
      ca: join(dataDir, 'ca.pem'),
    };
    await writeFile(files.cert, credentials.certPem);
    await writeFile(files.key, credentials.keyPem);
    await writeFile(files.ca, credentials.caPem);
    const settings = readTransportSettings({
      FLEETKIT_THING_NAME: 'sensor-7',
      FLEETKIT_MQTT_URL: `mqtts://127.0.0.1:${broker.port}`,
      FLEETKIT_CERT_FILE: files.cert,
      FLEETKIT_KEY_FILE: files.key,
      FLEETKIT_CA_FILE: files.ca,
    });

    // Act
    const transport = await openTransport(settings, { clock: new FakeClock() });
    open.push(transport);
    await until(() => transport.state === 'connected', 'connected');

    // Assess
    expect(transport).toBeInstanceOf(MqttDeviceTransport);
  });

  it('names every certificate, key or CA file it cannot read', async () => {
    // Prepare
    const settings = readTransportSettings({ ...MQTT_ENV, FLEETKIT_CERT_FILE: join(dataDir, 'missing.pem') });

    // Act
    const attempt = openTransport(settings, { clock: new FakeClock() });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(TransportConfigError);
    await expect(attempt).rejects.toThrow(
      /FLEETKIT_CERT_FILE: cannot read .*missing\.pem.*; FLEETKIT_KEY_FILE: cannot read \/certs\/device\.key.*; FLEETKIT_CA_FILE/,
    );
  });

  it('opens Greengrass IPC with the client of the SDK it loads', async () => {
    // Prepare: the SDK module as the importer returns it, its client a fake
    const nucleus = fakeNucleus();
    const sdk = { greengrasscoreipc: { createClient: () => new FakeIpcClient(nucleus) } };
    const settings = readTransportSettings({ ...SOCKET, AWS_IOT_THING_NAME: 'gg-core-1' });

    // Act
    const transport = await openTransport(settings, { clock: new FakeClock(), importer: async () => sdk });
    open.push(transport);
    await until(() => transport.state === 'connected', 'connected');

    // Assess
    expect(transport).toBeInstanceOf(GreengrassIpcTransport);
    expect(nucleus.clients).toHaveLength(1);
    expect(nucleus.clients[0]?.connected).toBe(true);
  });

  it('fails with GreengrassSdkMissingError under Greengrass without the SDK', async () => {
    // Prepare
    const settings = readTransportSettings({ ...SOCKET, AWS_IOT_THING_NAME: 'gg-core-1' });

    // Act
    const attempt = openTransport(settings, {
      clock: new FakeClock(),
      importer: async () => {
        throw new Error("Cannot find package 'aws-iot-device-sdk-v2'");
      },
    });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(GreengrassSdkMissingError);
  });
});
