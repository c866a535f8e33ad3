import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClaimError, claimOnFirstStart } from '../../../edge/src/identity/claim.ts';
import { certificateFacts } from '../../../edge/src/identity/key-pair.ts';
import { systemClock } from '../../../edge/src/ota/clock.ts';
import { connectMqttTransport } from '../../../edge/src/transport/mqtt-transport.ts';
import type { DeviceTransport } from '../../../edge/src/transport/ports.ts';
import { collectLogs, REPO } from '../../support/edge-agent-process.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * The edge agent's first start on a device that left the factory with only the shared claim certificate:
 * it provisions itself by claim (its own key, CreateCertificateFromCsr, RegisterThing with its serial),
 * then runs as its thing, of the type the operator allowed the serial as. A second start uses what the
 * first stored and asks nothing.
 */

let t: TestPlatform;
let dir: string;
const agents: ChildProcess[] = [];

/** Starts the agent with only the claim certificate, its serial and the template. */
async function startAgent(serial: string, logs: Array<Record<string, unknown>>): Promise<ChildProcess> {
  const agent = spawn(process.execPath, ['--import', 'tsx', 'edge/src/main.ts'], {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_NO_WARNINGS: '1',
      FLEETKIT_TRANSPORT: 'mqtt',
      FLEETKIT_MQTT_URL: t.platform.mqttUrl,
      FLEETKIT_CLAIM_CERT_FILE: join(dir, 'factory', 'claim.crt'),
      FLEETKIT_CLAIM_KEY_FILE: join(dir, 'factory', 'claim.key'),
      FLEETKIT_CA_FILE: join(dir, 'factory', 'ca.pem'),
      FLEETKIT_PROVISIONING_TEMPLATE: 'fleetkit-local-factory',
      FLEETKIT_SERIAL_NUMBER: serial,
      FLEETKIT_DATA_DIR: join(dir, serial),
      FLEETKIT_COAP_PORT: '0',
      FLEETKIT_SAMPLING_INTERVAL_S: '1',
      FLEETKIT_STATUS_INTERVAL_S: '2',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  collectLogs(agent, logs);
  agents.push(agent);
  return agent;
}

async function stop(agent: ChildProcess): Promise<void> {
  if (agent.exitCode !== null) return;
  const exited = new Promise((resolve) => agent.once('exit', resolve));
  agent.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  t = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), 'fleetkit-edge-claim-'));
  const claim = await t.platform.claimCredentials('factory');
  await mkdir(join(dir, 'factory'));
  await writeFile(join(dir, 'factory', 'claim.crt'), claim.certPem);
  await writeFile(join(dir, 'factory', 'claim.key'), claim.keyPem, { mode: 0o600 });
  await writeFile(join(dir, 'factory', 'ca.pem'), claim.caPem);
}, 60_000);

afterAll(async () => {
  for (const agent of agents) if (agent.exitCode === null) agent.kill('SIGKILL');
  await t.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('an edge agent with a claim certificate', () => {
  it('provisions itself on first start and reports as its thing, of the allowed type', async () => {
    // Prepare
    await call(t.platform, 'POST', '/devices/allow', { deviceType: 'env-sensor', serialNumbers: ['SN-E1'] });
    const logs: Array<Record<string, unknown>> = [];

    // Act
    const agent = await startAgent('SN-E1', logs);
    const device = await eventually(async () => {
      const { status, body } = await getJson(t.platform, '/devices/SN-E1');
      return status === 200 && body.firmwareVersion !== undefined ? body : undefined;
    }, 40_000);
    await stop(agent);

    // Assess: the thing is the serial's, typed as allowed; the key stayed on the device, 0600
    expect(device).toMatchObject({ deviceId: 'SN-E1', deviceType: 'env-sensor', firmwareVersion: '1.0.0' });
    expect(logs).toContainEqual(
      expect.objectContaining({ event: 'provisioned-by-claim', thingName: 'SN-E1', thingType: 'env-sensor' }),
    );
    const identity = join(dir, 'SN-E1', 'identity');
    expect((await stat(join(identity, 'device.key'))).mode & 0o777).toBe(0o600);
    const certificateId = certificateFacts(
      await readFile(join(identity, 'device.crt'), 'utf8'),
    ).certificateId;
    expect(t.platform.iot.describeCertificate(certificateId).certificateDescription.status).toBe('ACTIVE');
  }, 60_000);

  it('starts again from what it stored, without asking (its serial is used)', async () => {
    // Prepare
    const logs: Array<Record<string, unknown>> = [];

    // Act
    const agent = await startAgent('SN-E1', logs);
    await eventually(async () => (logs.some((l) => l.event === 'started') ? true : undefined), 40_000);
    await stop(agent);

    // Assess
    expect(logs.map((l) => l.event)).not.toContain('provisioned-by-claim');
    expect(logs).toContainEqual(expect.objectContaining({ event: 'started', thingName: 'SN-E1' }));
  }, 60_000);

  it("stops with the platform's refusal when its serial is not allowed", async () => {
    // Prepare
    const stderr: string[] = [];
    const agent = await startAgent('SN-E2', []);
    agent.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));

    // Act
    const code = await new Promise<number | null>((resolve) => agent.once('exit', resolve));

    // Assess
    expect(code).toBe(1);
    expect(stderr.join('')).toMatch(/AccessDenied/);
  }, 60_000);

  it('finishes after a lost RegisterThing answer with the same certificate, which the hook admits again', async () => {
    // Prepare: a device whose first RegisterThing answer never arrives (the link dropped it)
    await call(t.platform, 'POST', '/devices/allow', { deviceType: 'tracker', serialNumbers: ['SN-E3'] });
    const env = {
      FLEETKIT_MQTT_URL: t.platform.mqttUrl,
      FLEETKIT_CLAIM_CERT_FILE: join(dir, 'factory', 'claim.crt'),
      FLEETKIT_CLAIM_KEY_FILE: join(dir, 'factory', 'claim.key'),
      FLEETKIT_CA_FILE: join(dir, 'factory', 'ca.pem'),
      FLEETKIT_PROVISIONING_TEMPLATE: 'fleetkit-local-factory',
      FLEETKIT_SERIAL_NUMBER: 'SN-E3',
      FLEETKIT_DATA_DIR: join(dir, 'SN-E3'),
    };
    const connect =
      (dropRegisterAnswer: boolean) =>
      (options: { clientId: string; certPem: string; keyPem: string; caPem: string }): DeviceTransport => {
        const transport = connectMqttTransport({
          url: t.platform.mqttUrl,
          thingName: options.clientId,
          ...options,
        });
        if (!dropRegisterAnswer) return transport;
        return Object.assign(Object.create(transport) as DeviceTransport, {
          subscribe: (filter: string, handler: (topic: string, payload: Uint8Array) => void) =>
            transport.subscribe(filter, filter.includes('provisioning-templates') ? () => {} : handler),
        });
      };

    // Act
    const first = await claimOnFirstStart(env, {
      connect: connect(true),
      clock: systemClock,
      timeoutMs: 2_000,
    }).catch((error: unknown) => error);
    const staged = certificateFacts(
      await readFile(join(dir, 'SN-E3', 'identity', 'device.crt.next'), 'utf8'),
    ).certificateId;
    const second = await claimOnFirstStart(env, { connect: connect(false), clock: systemClock });

    // Assess: the first attempt's certificate is the device's, and the thing exists
    expect(first).toBeInstanceOf(ClaimError);
    expect(second).toMatchObject({ FLEETKIT_THING_NAME: 'SN-E3', FLEETKIT_THING_TYPE: 'tracker' });
    const installed = certificateFacts(
      await readFile(join(dir, 'SN-E3', 'identity', 'device.crt'), 'utf8'),
    ).certificateId;
    expect(installed).toBe(staged);
    expect(t.platform.iot.describeCertificate(installed).certificateDescription.status).toBe('ACTIVE');
  }, 60_000);
});
