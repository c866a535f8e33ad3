import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCsr } from '../../support/csr.ts';
import { canConnect, connectWith, request } from '../../support/identity.ts';
import { getJson, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * Provisioning, rotation and revocation of one device on the local platform, driven like a device and
 * an operator would: the HTTP API, the MQTT APIs, the broker. The device's side is played by the test
 * with its own keys; the edge agent's own run of it is in edge-identity.test.ts.
 */

let t: TestPlatform;
const THING = 'id-1';

/** Provisions a tracker by a fresh key's CSR and connects it: what a factory line and first boot do. */
async function provisionedDevice(thingName: string) {
  const key = await makeCsr(`CN=${thingName}`);
  const admitted = (
    await call(t.platform, 'POST', '/devices', { thingName, thingType: 'tracker', csr: key.csrPem })
  ).body;
  const client = await connectWith(t.platform, thingName, key.keyPem, admitted.certificatePem);
  return { key, admitted, client };
}

/** Makes a new key on a connected device and gets a certificate for it over CreateCertificateFromCsr. */
async function nextCertificate(client: MqttClient, subject: `CN=${string}`) {
  const key = await makeCsr(subject);
  const created = await request(client, '$aws/certificates/create-from-csr/json', {
    certificateSigningRequest: key.csrPem,
  });
  return { key, created, id: String(created.body.certificateId) };
}

beforeAll(async () => {
  t = await startTestPlatform({ settings: { CERTIFICATE_GRACE_HOURS: '0' } });
});

afterAll(async () => {
  await t.dispose();
});

describe('provisioning one device by its CSR', () => {
  let key: { csrPem: string; keyPem: string };
  let provisioned: Record<string, unknown>;

  beforeAll(async () => {
    key = await makeCsr(`CN=${THING}`);
  });

  it('admits the device: certificate, endpoint and CA in the answer; thing, attachments and registry item made', async () => {
    // Act
    const response = await call(t.platform, 'POST', '/devices', {
      thingName: THING,
      thingType: 'tracker',
      csr: key.csrPem,
    });

    // Assess
    expect(response.status).toBe(201);
    provisioned = response.body;
    expect(provisioned).toMatchObject({
      thingName: THING,
      thingType: 'tracker',
      endpoint: t.platform.mqttUrl,
      caPem: t.platform.pki.caPem,
    });
    const certificateId = String(provisioned.certificateId);
    expect(t.platform.iot.describeThing(THING).thingTypeName).toBe('tracker');
    expect(t.platform.iot.listThingPrincipals(THING).thingPrincipalObjects).toEqual([
      { principal: provisioned.certificateArn, thingPrincipalType: 'EXCLUSIVE_THING' },
    ]);
    expect(
      t.platform.iot
        .listAttachedPolicies(String(provisioned.certificateArn))
        .policies.map((p) => p.policyName),
    ).toEqual(['fleetkit-local-device']);
    const device = await getJson(t.platform, `/devices/${THING}`);
    expect(device.body).toMatchObject({ deviceId: THING, deviceType: 'tracker', certificateId });
    expect(device.body.provisionedAt).toMatch(/^\d{4}-/);
    expect(device.body.lastSeen).toBeUndefined();
    expect(await canConnect(t.platform, THING, key.keyPem, String(provisioned.certificatePem))).toBe(true);
  });

  it('answers a repeated request with the same certificate (retry-safe)', async () => {
    const again = await call(t.platform, 'POST', '/devices', {
      thingName: THING,
      thingType: 'tracker',
      csr: key.csrPem,
    });
    expect(again.status).toBe(201);
    expect(again.body.certificateId).toBe(provisioned.certificateId);
  });

  it.each<[string, () => Promise<Record<string, unknown>>, number, string]>([
    [
      'another key for a thing that has a certificate',
      async () => ({ thingName: THING, thingType: 'tracker', csr: (await makeCsr(`CN=${THING}`)).csrPem }),
      409,
      'ThingHasCertificate',
    ],
    [
      'the thing under another type',
      async () => ({ thingName: THING, thingType: 'env-sensor', csr: key.csrPem }),
      409,
      'ThingTypeConflict',
    ],
    [
      'a type that is not one of the deployment',
      async () => ({ thingName: 'id-x', thingType: 'toaster', csr: (await makeCsr('CN=id-x')).csrPem }),
      400,
      'UnknownThingType',
    ],
    [
      'a private key where the CSR goes',
      async () => ({ thingName: 'id-y', thingType: 'tracker', csr: key.keyPem }),
      400,
      'ValidationError',
    ],
  ])('refuses %s', async (_case, body, status, code) => {
    const response = await call(t.platform, 'POST', '/devices', await body());
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
  });
});

describe('rotation and revocation', () => {
  it('rotates on request: new key and certificate over MQTT, activated, confirmed on the new one, old one retired and deleted', async () => {
    // Prepare: a provisioned device, connected, listening for notifications
    const { key: first, admitted, client: old } = await provisionedDevice('id-2');
    const notified = new Promise<Record<string, unknown>>((resolve) =>
      old.on('message', (topic, payload) => {
        if (topic === 'fleet/things/id-2/identity/notify') resolve(JSON.parse(payload.toString()));
      }),
    );
    await old.subscribeAsync('fleet/things/id-2/identity/notify', { qos: 1 });

    // Act 1: the operator asks
    const asked = await call(t.platform, 'POST', '/devices/rotate', { deviceIds: ['id-2', 'nobody'] });
    expect(asked).toMatchObject({ status: 202, body: { requested: ['id-2'], unknown: ['nobody'] } });
    expect((await notified).rotationRequested).toBe(true);
    expect((await request(old, 'fleet/things/id-2/identity/get', {})).body).toMatchObject({
      rotationRequested: true,
      certificateId: admitted.certificateId,
    });

    // Act 2: the device makes a new key and gets a certificate for it, then activates it on the old one
    const { key: next, created, id: newId } = await nextCertificate(old, 'CN=id-2');
    expect(created.outcome).toBe('accepted');
    expect(await canConnect(t.platform, 'id-2', next.keyPem, String(created.body.certificatePem))).toBe(
      false,
    );
    const activated = await request(old, 'fleet/things/id-2/identity/activate', {
      certificateId: newId,
      clientToken: 'a1',
    });
    expect(activated).toEqual({
      outcome: 'accepted',
      body: { certificateId: newId, status: 'ACTIVE', clientToken: 'a1' },
    });

    // Act 3: reconnect with the new certificate (one client id: the new connection replaces the old one,
    // as in IoT Core) and confirm there
    await old.endAsync();
    const fresh = await connectWith(t.platform, 'id-2', next.keyPem, String(created.body.certificatePem));
    const confirmed = await request(fresh, 'fleet/things/id-2/identity/confirm', { certificateId: newId });

    // Assess
    expect(confirmed).toEqual({
      outcome: 'accepted',
      body: { certificateId: newId, retired: [admitted.certificateId] },
    });
    expect(await canConnect(t.platform, 'id-2', first.keyPem, admitted.certificatePem)).toBe(false);
    const device = (await getJson(t.platform, '/devices/id-2')).body;
    expect(device).toMatchObject({ certificateId: newId });
    expect(device.lastRotatedAt).toMatch(/^\d{4}-/);
    expect(device.rotationRequestedAt).toBeUndefined();
    expect(t.platform.iot.describeCertificate(admitted.certificateId).certificateDescription.status).toBe(
      'INACTIVE',
    );

    // Act 4: the sweeper deletes the retired certificate (grace period 0 here)
    const swept = await t.platform.functions.get('certificateSweeper')?.invoke({});
    expect(swept).toEqual({ deleted: 1 });
    expect(() => t.platform.iot.describeCertificate(admitted.certificateId)).toThrow(/not found/);
    expect(t.platform.iot.listThingPrincipals('id-2').principals).toEqual([
      `arn:aws:iot:us-east-1:000000000000:cert/${newId}`,
    ]);

    // Act 5: revoke the device while it is connected (a refused attempt does not take a client id over)
    expect(fresh.connected).toBe(true);
    const freshClosed = new Promise<void>((resolve) => fresh.once('close', () => resolve()));
    const revoked = await call(t.platform, 'POST', '/devices/id-2/revoke', { reason: 'lost' });
    expect(revoked).toMatchObject({ status: 200, body: { deviceId: 'id-2', revoked: [newId] } });
    await freshClosed;
    expect(await canConnect(t.platform, 'id-2', next.keyPem, String(created.body.certificatePem))).toBe(
      false,
    );
    expect(t.platform.iot.describeCertificate(newId).certificateDescription.status).toBe('REVOKED');
    expect(t.platform.iot.listThingPrincipals('id-2').principals).toEqual([]);
    expect((await call(t.platform, 'POST', '/devices/id-2/revoke', {})).body.revoked).toEqual([]);
  });

  it('keeps a device that never confirms on its old certificate; a confirmation from the old one is refused', async () => {
    // Prepare
    const { key: first, admitted, client: old } = await provisionedDevice('id-3');
    const { id: newId } = await nextCertificate(old, 'CN=id-3');
    await request(old, 'fleet/things/id-3/identity/activate', { certificateId: newId });

    // Act
    const wrong = await request(old, 'fleet/things/id-3/identity/confirm', { certificateId: newId });

    // Assess
    expect(wrong).toMatchObject({ outcome: 'rejected', body: { code: 'Forbidden' } });
    expect(t.platform.iot.describeCertificate(admitted.certificateId).certificateDescription.status).toBe(
      'ACTIVE',
    );
    expect(await canConnect(t.platform, 'id-3', first.keyPem, admitted.certificatePem)).toBe(true);
    await old.endAsync();
  });

  it("refuses to activate a certificate made for another thing's name", async () => {
    const { client } = await provisionedDevice('id-4');
    const { created } = await nextCertificate(client, 'CN=id-2');

    const answer = await request(client, 'fleet/things/id-4/identity/activate', {
      certificateId: created.body.certificateId,
    });

    expect(answer).toMatchObject({ outcome: 'rejected', body: { code: 'Conflict' } });
    expect(
      t.platform.iot.describeCertificate(String(created.body.certificateId)).certificateDescription.status,
    ).toBe('PENDING_ACTIVATION');
    await client.endAsync();
  });
});
