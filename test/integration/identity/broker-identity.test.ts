import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrokerMessage,
  type DenialEvent,
  type LocalBroker,
  startBroker,
} from '../../../lib/local/broker.ts';
import { createFromCsrApi } from '../../../lib/local/iot/create-from-csr.ts';
import { OwnershipTokens } from '../../../lib/local/iot/ownership-tokens.ts';
import { LOCAL_DEVICE_POLICY_NAME } from '../../../lib/local/names.ts';
import { LocalPki } from '../../../lib/local/pki.ts';
import { makeCsr } from '../../support/csr.ts';
import { openTestRegistry } from '../../support/iot.ts';
import { eventually } from '../../support/platform.ts';

/**
 * The broker asks the IoT registry who a client is on CONNECT, as IoT Core does: registered and ACTIVE
 * certificate, a policy attached, attached to the thing its client id names (IsAttached); a certificate
 * that leaves ACTIVE loses its live connection. CreateCertificateFromCsr answers the asker only.
 */

let dataDir: string;
let pki: LocalPki;
let iot: Awaited<ReturnType<typeof openTestRegistry>>;
let broker: LocalBroker;
const denials: DenialEvent[] = [];
const heard: BrokerMessage[] = [];
const open: MqttClient[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-broker-identity-'));
  pki = await LocalPki.open(dataDir);
  iot = await openTestRegistry(dataDir, pki);
  await iot.registry.createThingType('tracker');
  broker = await startBroker({
    pki,
    directory: iot.registry,
    reservedApis: [createFromCsrApi(iot.registry, new OwnershipTokens())],
    port: 0,
    onDenied: (event) => denials.push(event),
  });
  broker.onMessage((message) => heard.push(message));
});

afterAll(async () => {
  for (const client of open) client.end(true);
  await broker.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function connect(clientId: string, keyPem: string, certPem: string, extra: IClientOptions = {}) {
  const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${broker.port}`, {
    clientId,
    protocolVersion: 4,
    key: keyPem,
    cert: certPem,
    ca: pki.caPem,
    reconnectPeriod: 0,
    connectTimeout: 3_000,
    ...extra,
  });
  open.push(client);
  return client;
}

async function outcome(clientId: string, keyPem: string, certPem: string): Promise<'connected' | 'refused'> {
  try {
    const client = await connect(clientId, keyPem, certPem);
    client.end(true);
    return 'connected';
  } catch {
    return 'refused';
  }
}

/** A certificate from the thing's own CSR, ACTIVE, with the device policy; attached only if asked. */
async function csrCertificate(thingName: string, options: { attach: boolean; policy?: boolean }) {
  const { csrPem, keyPem } = await makeCsr(`CN=${thingName}`);
  const cert = await iot.registry.createCertificateFromCsr(csrPem, 'ACTIVE');
  await iot.registry.createThing(thingName, 'tracker');
  if (options.policy !== false)
    await iot.registry.attachPolicy(LOCAL_DEVICE_POLICY_NAME, cert.certificateArn);
  if (options.attach)
    await iot.registry.attachThingPrincipal(thingName, cert.certificateArn, 'EXCLUSIVE_THING');
  return { ...cert, keyPem };
}

describe('CONNECT is decided by the IoT registry', () => {
  it('accepts a certificate made from the device CSR, attached to its thing (control)', async () => {
    const cert = await csrCertificate('dev-1', { attach: true });
    expect(await outcome('dev-1', cert.keyPem, cert.certificatePem)).toBe('connected');
  });

  it('refuses a valid, active certificate that is not attached to the thing (IsAttached)', async () => {
    const cert = await csrCertificate('dev-2', { attach: false });

    expect(await outcome('dev-2', cert.keyPem, cert.certificatePem)).toBe('refused');
    expect(denials.at(-1)).toMatchObject({
      action: 'Connect',
      reason: "certificate is not attached to thing 'dev-2'",
    });
    await iot.registry.attachThingPrincipal('dev-2', cert.certificateArn, 'EXCLUSIVE_THING');
    expect(await outcome('dev-2', cert.keyPem, cert.certificatePem)).toBe('connected');
  });

  it("refuses device A connecting as B with A's attached certificate", async () => {
    const a = await csrCertificate('dev-a', { attach: true });
    await iot.registry.createThing('dev-b', 'tracker');

    expect(await outcome('dev-b', a.keyPem, a.certificatePem)).toBe('refused');
    expect(await outcome('dev-a', a.keyPem, a.certificatePem)).toBe('connected');
  });

  it('refuses a certificate without a policy: nothing is allowed', async () => {
    const cert = await csrCertificate('dev-3', { attach: true, policy: false });
    expect(await outcome('dev-3', cert.keyPem, cert.certificatePem)).toBe('refused');
  });

  it.each(['INACTIVE', 'REVOKED'])('refuses an attached certificate that is %s', async (status) => {
    const cert = await csrCertificate(`dev-${status}`, { attach: true });
    await iot.registry.updateCertificate(cert.certificateId, status);

    expect(await outcome(`dev-${status}`, cert.keyPem, cert.certificatePem)).toBe('refused');
    expect(denials.at(-1)).toMatchObject({ action: 'Authenticate', reason: `certificate is ${status}` });
  });

  it('refuses a certificate the local CA signed but the registry does not know', async () => {
    const creds = await pki.deviceCredentials('dev-unregistered', 'tracker');
    expect(await outcome('dev-unregistered', creds.keyPem, creds.certPem)).toBe('refused');
  });

  it('drops the live connection of a certificate that is revoked, and tells the rules its principal', async () => {
    // Prepare
    const cert = await csrCertificate('dev-live', { attach: true });
    const client = await connect('dev-live', cert.keyPem, cert.certificatePem);
    await client.publishAsync('devices/tracker/dev-live/status', '{}', { qos: 1 });
    expect(heard.find((m) => m.clientId === 'dev-live')?.principal).toBe(cert.certificateId);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));

    // Act
    await iot.registry.updateCertificate(cert.certificateId, 'REVOKED');

    // Assess: closed at once by the platform (IoT Core takes "a few minutes"); the test times out otherwise
    await closed;
    expect(client.connected).toBe(false);
  });
});

describe('CreateCertificateFromCsr over MQTT', () => {
  const accepted = '$aws/certificates/create-from-csr/json/accepted';
  const rejected = '$aws/certificates/create-from-csr/json/rejected';

  async function subscribed(thingName: string) {
    const cert = await csrCertificate(thingName, { attach: true });
    const client = await connect(thingName, cert.keyPem, cert.certificatePem);
    const messages: Array<{ topic: string; body: Record<string, unknown> }> = [];
    client.on('message', (topic, payload) => messages.push({ topic, body: JSON.parse(payload.toString()) }));
    await client.subscribeAsync([accepted, rejected], { qos: 1 });
    return { client, messages };
  }

  it('answers a CSR with a PENDING_ACTIVATION certificate, to the asking connection only', async () => {
    // Prepare
    const asker = await subscribed('dev-csr-1');
    const bystander = await subscribed('dev-csr-2');
    const next = await makeCsr('CN=dev-csr-1');

    // Act
    await asker.client.publishAsync(
      '$aws/certificates/create-from-csr/json',
      JSON.stringify({ certificateSigningRequest: next.csrPem }),
      { qos: 1 },
    );

    // Assess
    const answer = await eventually(async () => asker.messages[0]);
    expect(answer.topic).toBe(accepted);
    expect(Object.keys(answer.body).sort()).toEqual([
      'certificateId',
      'certificateOwnershipToken',
      'certificatePem',
    ]);
    const id = String(answer.body.certificateId);
    expect(iot.registry.describeCertificate(id).certificateDescription.status).toBe('PENDING_ACTIVATION');
    expect(await outcome('dev-csr-1', next.keyPem, String(answer.body.certificatePem))).toBe('refused');
    expect(bystander.messages).toEqual([]);
  });

  it.each([
    ['not JSON', 'hello', 'InvalidPayload'],
    ['without a CSR', '{}', 'InvalidPayload'],
    ['with a CSR whose signature does not verify', 'TAMPERED', 'InvalidCertificateSigningRequest'],
  ])('rejects a request %s with IoT ErrorResponse', async (_case, payload, errorCode) => {
    const asker = await subscribed(`dev-bad-${errorCode.length}-${payload.length}`);
    let body = payload;
    if (payload === 'TAMPERED') {
      const { csrPem } = await makeCsr('CN=x');
      const lines = csrPem.split('\n');
      // Flip a character in the middle of the base64 body: still a CSR, no longer a valid signature.
      const i = Math.floor(lines.length / 2);
      lines[i] =
        `${(lines[i] ?? '').slice(0, 10)}${(lines[i] ?? '')[10] === 'A' ? 'B' : 'A'}${(lines[i] ?? '').slice(11)}`;
      body = JSON.stringify({ certificateSigningRequest: lines.join('\n') });
    }

    await asker.client.publishAsync('$aws/certificates/create-from-csr/json', body, { qos: 1 });

    const answer = await eventually(async () => asker.messages[0]);
    expect(answer).toMatchObject({ topic: rejected, body: { statusCode: 400, errorCode } });
    expect(typeof answer.body.errorMessage).toBe('string');
  });
});
