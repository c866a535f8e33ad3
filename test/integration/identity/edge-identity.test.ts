import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdentityFiles } from '../../../edge/src/identity/identity-files.ts';
import { certificateFacts } from '../../../edge/src/identity/key-pair.ts';
import { runProvision } from '../../../edge/src/identity/provision.ts';
import { CertificateRotator } from '../../../edge/src/identity/rotation.ts';
import { systemClock } from '../../../edge/src/ota/clock.ts';
import {
  connectMqttTransport,
  type MqttDeviceTransport,
} from '../../../edge/src/transport/mqtt-transport.ts';
import { Uplink } from '../../../edge/src/uplink/uplink.ts';
import type { BrokerMessage } from '../../../lib/local/broker.ts';
import { decodeUplinkBatch } from '../../../lib/protocol/uplink/codec.ts';
import { canConnect } from '../../support/identity.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * The edge agent's own identity on the local platform: `provision csr` makes the key on the device,
 * the operator submits the CSR, `provision install` stores the answer; the rotator rotates when asked,
 * while the uplink keeps sending; revocation cuts the device off. The private keys never leave the
 * device's directory: not in a request, not in a message, not in the platform's data.
 */

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The base64 body of a PEM: what would show up if the key were sent or stored anywhere. */
function pemBody(pem: string): string {
  return pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

describe('an edge device provisions, rotates and is revoked', () => {
  let t: TestPlatform;
  let deviceDir: string;
  let files: { keyFile: string; certFile: string; caFile: string; csrFile: string };
  const heard: BrokerMessage[] = [];
  const requestBodies: string[] = [];
  const keys: string[] = [];
  let transport: MqttDeviceTransport | undefined;
  let rotator: CertificateRotator | undefined;
  let uplink: Uplink | undefined;

  beforeAll(async () => {
    t = await startTestPlatform();
    t.platform.broker.onMessage((message) => heard.push(message));
    deviceDir = await mkdtemp(join(tmpdir(), 'fleetkit-edge-identity-'));
    files = {
      keyFile: join(deviceDir, 'identity', 'device.key'),
      certFile: join(deviceDir, 'identity', 'device.crt'),
      caFile: join(deviceDir, 'identity', 'ca.pem'),
      csrFile: join(deviceDir, 'identity', 'device.csr'),
    };
  });

  afterAll(async () => {
    await rotator?.stop();
    await uplink?.stop();
    await transport?.close();
    await t.dispose();
    await rm(deviceDir, { recursive: true, force: true });
  });

  const flags = () => [
    '--key-file',
    files.keyFile,
    '--cert-file',
    files.certFile,
    '--ca-file',
    files.caFile,
    '--csr-file',
    files.csrFile,
  ];

  it('provisions: the key is made on the device (0600), only the CSR goes out, the answer is installed', async () => {
    // Act
    let csr = '';
    await runProvision(['csr', '--thing', 'edge-1', ...flags()], { env: {}, out: (text) => (csr += text) });
    const body = { thingName: 'edge-1', thingType: 'tracker', csr };
    requestBodies.push(JSON.stringify(body));
    const answer = await call(t.platform, 'POST', '/devices', body);
    await writeFile(join(deviceDir, 'answer.json'), JSON.stringify(answer.body));
    let settings = '';
    await runProvision(['install', '--response', join(deviceDir, 'answer.json'), ...flags()], {
      env: {},
      out: (text) => (settings += text),
    });

    // Assess
    expect(answer.status).toBe(201);
    expect((await stat(files.keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(files.csrFile, 'utf8')).toBe(csr);
    expect(await readFile(files.caFile, 'utf8')).toBe(t.platform.pki.caPem);
    expect(certificateFacts(await readFile(files.certFile, 'utf8')).certificateId).toBe(
      answer.body.certificateId,
    );
    expect(settings).toContain(`FLEETKIT_MQTT_URL=${t.platform.mqttUrl}`);
    keys.push(await readFile(files.keyFile, 'utf8'));
  });

  it('refuses to install an answer for another key', async () => {
    const other = await mkdtemp(join(tmpdir(), 'fleetkit-edge-other-'));
    const otherKey = join(other, 'device.key');
    await runProvision(
      ['csr', '--thing', 'edge-1', '--key-file', otherKey, '--csr-file', join(other, 'd.csr')],
      { env: {}, out: () => {} },
    );

    const install = runProvision(
      [
        'install',
        '--response',
        join(deviceDir, 'answer.json'),
        '--key-file',
        otherKey,
        '--cert-file',
        join(other, 'd.crt'),
        '--ca-file',
        join(other, 'ca.pem'),
      ],
      { env: {}, out: () => {} },
    );

    await expect(install).rejects.toThrow(/not for the key/);
    await rm(other, { recursive: true, force: true });
  });

  it('rotates when asked, with no telemetry lost while the connection switches; the old certificate stops working', async () => {
    // Prepare: the agent's parts, connected with the provisioned identity, sending telemetry
    const identity = new IdentityFiles(files);
    const first = await identity.current();
    transport = connectMqttTransport({
      url: t.platform.mqttUrl,
      thingName: 'edge-1',
      ...first,
      caPem: await readFile(files.caFile, 'utf8'),
      reconnectPeriodMs: 100,
    });
    uplink = await Uplink.open({
      directory: join(deviceDir, 'uplink'),
      transport: { publish: (topic, payload) => (transport as MqttDeviceTransport).publish(topic, payload) },
      topic: 'devices/tracker/edge-1/telemetry',
      batcher: { maxReadings: 5 },
      sender: { backoff: { initialMs: 50, maxMs: 200 } },
    });
    uplink.start();
    rotator = new CertificateRotator({
      thingName: 'edge-1',
      transport,
      switcher: transport,
      files: identity,
      clock: systemClock,
    });
    await rotator.start();
    await eventually(async () => (transport?.state === 'connected' ? true : undefined));
    const start = Date.now();
    let seq = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        await uplink?.add({ ts: start + seq * 1000, seq, values: { temperature: 20 + (seq % 7) } });
        seq++;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();

    // Act: the operator asks; the device rotates on its own
    await call(t.platform, 'POST', '/devices/rotate', { deviceIds: ['edge-1'] });
    const rotated = await eventually(async () => {
      const device = (await getJson(t.platform, '/devices/edge-1')).body;
      return device.lastRotatedAt === undefined ? undefined : device;
    }, 20_000);
    sending = false;
    await sender;
    while (seq % 5 !== 0)
      await uplink.add({ ts: start + seq * 1000, seq: seq++, values: { temperature: 1 } });

    // Assess: the new identity is the device's, on disk and in the registry
    const second = await identity.current();
    keys.push(second.keyPem);
    const newId = certificateFacts(second.certPem).certificateId;
    expect(rotated.certificateId).toBe(newId);
    expect(rotated.rotationRequestedAt).toBeUndefined();
    expect(second.keyPem).not.toBe(first.keyPem);
    expect((await stat(files.keyFile)).mode & 0o777).toBe(0o600);
    // The device hears the confirmation just after the platform records it, then forgets the old pair:
    // the marker goes first and the .prev files after it (identity-files.ts `confirmed`), so wait for both.
    await eventually(async () => ((await identity.awaitingConfirmation()) === undefined ? true : undefined));
    await eventually(async () =>
      (await readdir(join(deviceDir, 'identity'))).some((name) => name.endsWith('.prev')) ? undefined : true,
    );
    expect((await readdir(join(deviceDir, 'identity'))).sort()).toEqual([
      'ca.pem',
      'device.crt',
      'device.csr',
      'device.key',
    ]);
    expect(await canConnect(t.platform, 'edge-1', first.keyPem, first.certPem)).toBe(false);
    await eventually(async () => (transport?.state === 'connected' ? true : undefined));
    // Assess: every reading arrived, in spite of the switch
    const total = seq;
    const received = await eventually(async () => {
      const seqs = new Set<number>();
      for (const message of heard.filter((m) => m.topic === 'devices/tracker/edge-1/telemetry')) {
        const decoded = decodeUplinkBatch(message.payload);
        if (decoded.ok) for (const reading of decoded.batch.readings) seqs.add(reading.seq ?? -1);
      }
      return seqs.size >= total ? seqs : undefined;
    }, 15_000);
    expect([...received].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('is cut off by revocation, live connection included', async () => {
    const closed = new Promise<void>((resolve) =>
      transport?.onStateChange((state) => {
        if (state === 'disconnected') resolve();
      }),
    );

    const revoked = await call(t.platform, 'POST', '/devices/edge-1/revoke', { reason: 'test' });

    expect(revoked.status).toBe(200);
    await closed;
    const current = await new IdentityFiles(files).current();
    expect(await canConnect(t.platform, 'edge-1', current.keyPem, current.certPem)).toBe(false);
  });

  it('never let a private key leave the device: not in a request, a message, or the platform data', async () => {
    // Act
    const platformFiles = await filesUnder(t.dataDir);
    const platformData = await Promise.all(platformFiles.map((file) => readFile(file)));
    const messages = heard.map((m) => m.payload);

    // Assess
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      const body = pemBody(key);
      const der = Buffer.from(body, 'base64');
      expect(requestBodies.some((b) => b.includes(body))).toBe(false);
      expect(messages.some((m) => m.includes(der) || m.toString('latin1').includes(body))).toBe(false);
      expect(platformData.some((d) => d.includes(der) || d.toString('latin1').includes(body))).toBe(false);
    }
    expect(platformFiles.length).toBeGreaterThan(0);
  });
});
