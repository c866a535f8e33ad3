import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  connectMqttTransport,
  type MqttDeviceTransport,
} from '../../../../edge/src/transport/mqtt-transport.ts';
import {
  readTransportSettings,
  TransportConfigError,
} from '../../../../edge/src/transport/open-transport.ts';
import { type LocalBroker, startBroker } from '../../../../lib/local/broker.ts';
import { LocalPki } from '../../../../lib/local/pki.ts';
import { openTestRegistry } from '../../../support/iot.ts';
import { until } from '../shadow/support.ts';

/**
 * The edge client's TLS floor: 1.3 unless FLEETKIT_TLS_MIN_VERSION allows 1.2 (a modem whose TLS offload
 * lacks 1.3), and the version it negotiated, which the device reports in its status.
 */
const THING = 'sensor-tls';
let dataDir: string;
let iot: Awaited<ReturnType<typeof openTestRegistry>>;
let pki: LocalPki;
const open: MqttDeviceTransport[] = [];

const ENV = {
  FLEETKIT_THING_NAME: THING,
  FLEETKIT_MQTT_URL: 'mqtts://broker.example:8883',
  FLEETKIT_CERT_FILE: '/certs/device.pem',
  FLEETKIT_KEY_FILE: '/certs/device.key',
  FLEETKIT_CA_FILE: '/certs/ca.pem',
};

async function transportTo(port: number, tlsMinVersion?: 'TLSv1.2' | 'TLSv1.3') {
  const credentials = await iot.credentials(THING, 'sensor');
  const transport = connectMqttTransport({
    url: `mqtts://127.0.0.1:${port}`,
    thingName: THING,
    certPem: credentials.certPem,
    keyPem: credentials.keyPem,
    caPem: credentials.caPem,
    reconnectPeriodMs: 60_000,
    ...(tlsMinVersion === undefined ? {} : { tlsMinVersion }),
  });
  open.push(transport);
  return transport;
}

/** A TLS server that speaks at most TLS 1.2 (an old endpoint), reporting each handshake's outcome. */
async function tls12Server(): Promise<{ server: Server; port: number; outcome: () => Promise<string> }> {
  const certificate = await pki.serverCertificate();
  const server = createServer({ key: certificate.keyPem, cert: certificate.certPem, maxVersion: 'TLSv1.2' });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const outcome = () =>
    new Promise<string>((resolve) => {
      server.once('secureConnection', (socket: TLSSocket) => resolve(`handshake ${socket.getProtocol()}`));
      server.once('tlsClientError', (error: Error & { code?: string }) => resolve(`refused ${error.code}`));
    });
  return { server, port: (server.address() as AddressInfo).port, outcome };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-edge-tls-'));
  pki = await LocalPki.open(dataDir);
  iot = await openTestRegistry(dataDir, pki);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((transport) => transport.close()));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe('FLEETKIT_TLS_MIN_VERSION', () => {
  it.each([
    ['unset', {}, 'TLSv1.3'],
    ['empty', { FLEETKIT_TLS_MIN_VERSION: '' }, 'TLSv1.3'],
    ['TLSv1.2 (a modem without 1.3)', { FLEETKIT_TLS_MIN_VERSION: 'TLSv1.2' }, 'TLSv1.2'],
  ])('is TLS 1.3 unless set otherwise: %s', (_name, env, expected) => {
    expect(readTransportSettings({ ...ENV, ...env })).toMatchObject({ tlsMinVersion: expected });
  });

  it.each(['TLSv1.1', 'TLSv1', '1.2'])('refuses %s, naming the variable', (value) => {
    const attempt = () => readTransportSettings({ ...ENV, FLEETKIT_TLS_MIN_VERSION: value });

    expect(attempt).toThrow(TransportConfigError);
    expect(attempt).toThrow(/FLEETKIT_TLS_MIN_VERSION: must be TLSv1\.3 \(the default\) or TLSv1\.2/);
  });
});

describe('the edge MQTT client over TLS', () => {
  it('refuses by default an endpoint that offers at most TLS 1.2', async () => {
    // Prepare
    const old = await tls12Server();
    const handshake = old.outcome();
    // Act
    const transport = await transportTo(old.port);
    // Assess
    expect(await handshake).toMatch(/^refused /);
    expect(transport.state).not.toBe('connected');
    expect(transport.tlsVersion).toBeUndefined();
    old.server.close();
  });

  it('negotiates TLS 1.2 with such an endpoint only when allowed to', async () => {
    const old = await tls12Server();
    const handshake = old.outcome();

    await transportTo(old.port, 'TLSv1.2');

    expect(await handshake).toBe('handshake TLSv1.2');
    old.server.close();
  });

  it('reports the TLS version it negotiated with the broker while connected, none once closed', async () => {
    // Prepare
    const broker: LocalBroker = await startBroker({
      pki,
      directory: iot.registry,
      port: 0,
    });
    const transport = await transportTo(broker.port);
    // Act
    await until(() => transport.state === 'connected', 'connected');
    const whileUp = transport.tlsVersion;
    await transport.close();
    // Assess
    expect(whileUp).toBe('TLSv1.3');
    expect(transport.tlsVersion).toBeUndefined();
    await broker.close();
  });
});
