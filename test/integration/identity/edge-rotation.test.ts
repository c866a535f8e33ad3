import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IdentityFiles } from '../../../edge/src/identity/identity-files.ts';
import { certificateFacts, makeKeyAndCsr } from '../../../edge/src/identity/key-pair.ts';
import { CertificateRotator } from '../../../edge/src/identity/rotation.ts';
import { writeFileAtomic } from '../../../edge/src/ota/atomic-file.ts';
import { systemClock } from '../../../edge/src/ota/clock.ts';
import {
  connectMqttTransport,
  type MqttDeviceTransport,
} from '../../../edge/src/transport/mqtt-transport.ts';
import { canConnect } from '../../support/identity.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * The rotator's other paths: on its own schedule (certificates here are valid 20 s, so 80 % of their
 * validity passes a few seconds after issue), and when the new certificate cannot connect (the old one
 * is put back and keeps working; the platform never retires it).
 */

let t: TestPlatform;
const running: Array<{ rotator: CertificateRotator; transport: MqttDeviceTransport; dir: string }> = [];

beforeAll(async () => {
  t = await startTestPlatform({ certificateValidityMs: 20_000 });
});

afterEach(async () => {
  for (const { rotator, transport, dir } of running.splice(0)) {
    await rotator.stop();
    await transport.close();
    await rm(dir, { recursive: true, force: true });
  }
});

afterAll(async () => {
  await t.dispose();
});

/** A provisioned device with its rotator running; `switcher` may stand in for the transport's. */
async function device(
  thingName: string,
  wrap?: (transport: MqttDeviceTransport) => MqttDeviceTransport['reconnectWith'],
) {
  const dir = await mkdtemp(join(tmpdir(), 'fleetkit-edge-rotation-'));
  const files = new IdentityFiles({ keyFile: join(dir, 'device.key'), certFile: join(dir, 'device.crt') });
  const { keyPem, csrPem } = await makeKeyAndCsr(thingName);
  const answer = (
    await call(t.platform, 'POST', '/devices', { thingName, thingType: 'tracker', csr: csrPem })
  ).body;
  await files.install({ keyPem, certPem: answer.certificatePem });
  await writeFileAtomic(join(dir, 'ca.pem'), answer.caPem);
  const transport = connectMqttTransport({
    url: t.platform.mqttUrl,
    thingName,
    keyPem,
    certPem: answer.certificatePem,
    caPem: await readFile(join(dir, 'ca.pem'), 'utf8'),
    reconnectPeriodMs: 100,
  });
  const events: string[] = [];
  const rotator = new CertificateRotator({
    thingName,
    transport,
    switcher: { reconnectWith: wrap?.(transport) ?? ((credentials) => transport.reconnectWith(credentials)) },
    files,
    clock: systemClock,
    checkEveryMs: 250,
    connectTimeoutMs: 3_000,
    log: (event) => events.push(event),
  });
  running.push({ rotator, transport, dir });
  return { files, transport, rotator, events, first: { keyPem, certPem: answer.certificatePem as string } };
}

describe('certificate rotation on the edge', () => {
  it('rotates on its own once 80 % of the validity has passed, without an operator', async () => {
    const { files, rotator, first } = await device('sched-1');
    await rotator.start();

    const rotated = await eventually(async () => {
      const body = (await getJson(t.platform, '/devices/sched-1')).body;
      return body.lastRotatedAt === undefined ? undefined : body;
    }, 20_000);

    expect(rotated.certificateId).not.toBe(certificateFacts(first.certPem).certificateId);
    expect(await canConnect(t.platform, 'sched-1', first.keyPem, first.certPem)).toBe(false);
    expect((await files.current()).keyPem).not.toBe(first.keyPem);
  });

  it('puts the old certificate back when the new one cannot connect, and keeps working on it', async () => {
    // Prepare: the new certificate is deactivated just before the device switches to it (the broker
    // refuses it, as IoT Core would)
    const { files, transport, rotator, events, first } = await device(
      'fail-1',
      (transport) => async (credentials) => {
        if (credentials.certPem !== first.certPem)
          await t.platform.iot.updateCertificate(
            certificateFacts(credentials.certPem).certificateId,
            'INACTIVE',
          );
        await transport.reconnectWith(credentials);
      },
    );
    await rotator.start();
    await eventually(async () => (transport.state === 'connected' ? true : undefined));

    // Act
    const outcome = await rotator.rotate('requested');
    await eventually(async () => (transport.state === 'connected' ? true : undefined));
    const commanded = await rotator.rotateOrJoin('command');

    // Assess
    expect(outcome).toBe('failed');
    const id = certificateFacts(first.certPem).certificateId;
    // The command either starts its own rotation or joins the one the reconnection's identity check
    // may have started first (the platform still asks this device to rotate): a race the test does not
    // fix, and either way the rotation fails the same way. Joining itself is the next test's subject.
    expect(commanded).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(new RegExp(`^certificate [0-9a-f]{64} did not connect: back on ${id}$`)),
    });
    expect(events).toContain('rotation-rolled-back');
    expect(await files.current()).toEqual(first);
    expect(await files.awaitingConfirmation()).toBeUndefined();
    await eventually(async () => (transport.state === 'connected' ? true : undefined));
    expect(t.platform.iot.describeCertificate(id).certificateDescription.status).toBe('ACTIVE');
  });

  it('lets a command join a rotation under way: one rotation, whose result both callers get', async () => {
    // Prepare
    const { files, transport, rotator, first } = await device('join-1');
    await rotator.start();
    await eventually(async () => (transport.state === 'connected' ? true : undefined));

    // Act
    const [own, commanded] = await Promise.all([
      rotator.rotate('requested'),
      rotator.rotateOrJoin('command'),
    ]);

    // Assess
    const second = certificateFacts((await files.current()).certPem).certificateId;
    expect(own).toBe('rotated');
    expect(commanded).toEqual({
      outcome: 'rotated',
      certificateId: second,
      previousCertificateId: certificateFacts(first.certPem).certificateId,
      joined: true,
    });
    expect((await getJson(t.platform, '/devices/join-1')).body.certificateId).toBe(second);
  });
});
