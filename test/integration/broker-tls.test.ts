import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SecureVersion, connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalBroker, startBroker } from '../../lib/local/broker.ts';
import { LocalPki } from '../../lib/local/pki.ts';
import { openTestRegistry } from '../support/iot.ts';

/**
 * The local broker's transport, below MQTT: TLS 1.3 only, mutual TLS only, nothing in plaintext. (The
 * MQTT-level refusals — no certificate, a foreign CA, another thing's client id — are in
 * local-platform.test.ts.)
 */
describe('local broker transport', () => {
  let dataDir: string;
  let iot: Awaited<ReturnType<typeof openTestRegistry>>;
  let pki: LocalPki;
  let broker: LocalBroker;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-broker-tls-'));
    pki = await LocalPki.open(dataDir);
    iot = await openTestRegistry(dataDir, pki);
    broker = await startBroker({ pki, directory: iot.registry, port: 0 });
  });
  afterAll(async () => {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A TLS handshake with a valid device certificate, offering at most `maxVersion`. */
  async function handshake(maxVersion: SecureVersion): Promise<string> {
    const device = await iot.credentials('tls-probe', 'tracker');
    return new Promise((resolve) => {
      const socket = tlsConnect({
        host: '127.0.0.1',
        port: broker.port,
        key: device.keyPem,
        cert: device.certPem,
        ca: pki.caPem,
        minVersion: 'TLSv1.2',
        maxVersion,
      });
      socket.once('secureConnect', () => {
        resolve(`connected ${socket.getProtocol()}`);
        socket.destroy();
      });
      socket.once('error', (error: Error & { code?: string }) => resolve(`refused ${error.code}`));
    });
  }

  it('completes a handshake at TLS 1.3 with a client that offers it (control)', async () => {
    expect(await handshake('TLSv1.3')).toBe('connected TLSv1.3');
  });

  it('refuses a client that offers at most TLS 1.2, even with a valid certificate', async () => {
    expect(await handshake('TLSv1.2')).toMatch(/^refused ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION$/);
  });

  it('answers an MQTT CONNECT sent in plaintext with no CONNACK, and closes', async () => {
    // Prepare: CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "plain" (§3.1)
    const connect = Buffer.from([
      0x10, 0x11, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x05, 0x70, 0x6c, 0x61,
      0x69, 0x6e,
    ]);
    // Act
    const received = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const socket = tcpConnect({ host: '127.0.0.1', port: broker.port }, () => socket.write(connect));
      socket.on('data', (chunk) => chunks.push(chunk));
      socket.on('error', () => {});
      socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    // Assess: whatever came back (a TLS alert at most), it was not a CONNACK (0x20)
    expect(received[0]).not.toBe(0x20);
  });
});
