import { mqtt as crtMqtt, io, iot } from 'aws-crt';
import { iotidentity } from 'aws-iot-device-sdk-v2';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCsr } from '../../support/csr.ts';
import { canConnect, connectWith, request } from '../../support/identity.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * Fleet provisioning by claim on the local platform, driven by the AWS IoT Device SDK v2's own identity
 * client (`iotidentity.IotIdentityClientv2` over an aws-crt MQTT 3.1.1 connection, mutual TLS 1.3), as a
 * device built with the SDK would run it against IoT Core: CreateCertificateFromCsr, then RegisterThing of
 * the `factory` template, whose pre-provisioning hook admits only allowed serial numbers, once each.
 */

let t: TestPlatform;

/** The thing's type in IoT's registry, or 'none' when there is no such thing. */
function thingType(name: string): string {
  try {
    return t.platform.iot.describeThing(name).thingTypeName ?? '(no type)';
  } catch {
    return 'none';
  }
}
let claim: Awaited<ReturnType<TestPlatform['platform']['claimCredentials']>>;
const crtConnections: crtMqtt.MqttClientConnection[] = [];

/** An aws-crt MQTT 3.1.1 connection with the claim certificate, as the SDK's fleet provisioning sample makes. */
async function claimConnection(clientId: string): Promise<crtMqtt.MqttClientConnection> {
  const builder = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder(claim.certPem, claim.keyPem);
  builder.with_certificate_authority(claim.caPem);
  builder.with_endpoint('127.0.0.1');
  builder.with_port(t.platform.mqttPort);
  builder.with_client_id(clientId);
  builder.with_clean_session(true);
  const connection = new crtMqtt.MqttClient(new io.ClientBootstrap()).new_connection(builder.build());
  await connection.connect();
  crtConnections.push(connection);
  return connection;
}

/** The SDK's provisioning steps for one serial: a new key's certificate, then RegisterThing. */
async function provisionBySdk(serial: string, parameters: Record<string, string> = { SerialNumber: serial }) {
  const connection = await claimConnection(`claim-${serial}`);
  const identity = iotidentity.IotIdentityClientv2.newFromMqtt311(connection, {
    maxRequestResponseSubscriptions: 4,
    maxStreamingSubscriptions: 2,
    operationTimeoutInSeconds: 10,
  });
  try {
    const key = await makeCsr(`CN=${serial}`);
    const created = await identity.createCertificateFromCsr({ certificateSigningRequest: key.csrPem });
    try {
      const registered = await identity.registerThing({
        templateName: claim.templateName,
        certificateOwnershipToken: created.certificateOwnershipToken ?? '',
        parameters,
      });
      return { key, created, registered, error: undefined };
    } catch (error) {
      return {
        key,
        created,
        registered: undefined,
        error: (error as { modeledError?: unknown }).modeledError,
      };
    }
  } finally {
    identity.close();
  }
}

beforeAll(async () => {
  t = await startTestPlatform();
  claim = await t.platform.claimCredentials('factory');
});

afterAll(async () => {
  for (const connection of crtConnections) await connection.disconnect().catch(() => {});
  await t.dispose();
});

describe('provisioning by claim with the AWS IoT Device SDK identity client', () => {
  it('admits an allowed serial: a thing of the allowed type, an active certificate, a device that connects', async () => {
    // Prepare: the operator allows the serial as an env-sensor; the device claims to be a tracker
    const allowed = await call(t.platform, 'POST', '/devices/allow', {
      deviceType: 'env-sensor',
      serialNumbers: ['SN-1001'],
    });
    expect(allowed).toEqual({
      status: 200,
      body: { deviceType: 'env-sensor', allowed: ['SN-1001'], alreadyClaimed: [] },
    });

    // Act
    const result = await provisionBySdk('SN-1001', { SerialNumber: 'SN-1001', DeviceType: 'tracker' });

    // Assess: RegisterThing's answer, and what IoT's registry now holds
    expect(result.error).toBeUndefined();
    expect(result.registered).toEqual({
      thingName: 'SN-1001',
      deviceConfiguration: { thingType: 'env-sensor' },
    });
    const certificateId = String(result.created.certificateId);
    expect(thingType('SN-1001')).toBe('env-sensor');
    expect(t.platform.iot.describeCertificate(certificateId).certificateDescription.status).toBe('ACTIVE');
    expect(t.platform.iot.listThingPrincipals('SN-1001').principals).toEqual([
      expect.stringMatching(new RegExp(`:cert/${certificateId}$`)),
    ]);

    // Assess: the device connects as its thing with its own key, and fleetkit records the certificate
    // on its first identity request (origin 'registered')
    const device = await connectWith(
      t.platform,
      'SN-1001',
      result.key.keyPem,
      String(result.created.certificatePem),
    );
    const answer = await request(device, 'fleet/things/SN-1001/identity/get', {});
    await device.endAsync();
    expect(answer).toEqual({
      outcome: 'accepted',
      body: { certificateId, rotationRequested: false },
    });
    const registry = await eventually(async () => {
      const shown = await getJson(t.platform, '/devices/SN-1001');
      return shown.status === 200 ? shown.body : undefined;
    });
    expect(registry).toMatchObject({ deviceId: 'SN-1001', deviceType: 'env-sensor' });
  });

  it("refuses a serial that is not on the allow-list with the hook's AccessDenied, and makes no thing", async () => {
    // Act
    const result = await provisionBySdk('SN-9999');

    // Assess
    expect(result.registered).toBeUndefined();
    expect(result.error).toEqual({
      statusCode: 403,
      errorCode: 'AccessDenied',
      errorMessage: 'The pre-provisioning hook denied the provisioning request.',
    });
    expect(thingType('SN-9999')).toBe('none');
    expect(
      t.platform.iot.describeCertificate(String(result.created.certificateId)).certificateDescription.status,
    ).toBe('PENDING_ACTIVATION');
  });

  it('admits a serial once: a second device with it is refused until the operator allows it again', async () => {
    // Prepare
    await call(t.platform, 'POST', '/devices/allow', { deviceType: 'tracker', serialNumbers: ['SN-1002'] });
    const first = await provisionBySdk('SN-1002');
    expect(first.registered?.thingName).toBe('SN-1002');

    // Act: a copy of the claim certificate registers the same serial with another key
    const copy = await provisionBySdk('SN-1002');
    const notAgain = await call(t.platform, 'POST', '/devices/allow', {
      deviceType: 'tracker',
      serialNumbers: ['SN-1002'],
    });
    const again = await call(t.platform, 'POST', '/devices/allow', {
      deviceType: 'tracker',
      serialNumbers: ['SN-1002'],
      again: true,
    });
    const reset = await provisionBySdk('SN-1002');

    // Assess
    expect(copy.error).toMatchObject({ statusCode: 403, errorCode: 'AccessDenied' });
    expect(notAgain.body).toEqual({ deviceType: 'tracker', allowed: [], alreadyClaimed: ['SN-1002'] });
    expect(again.body).toEqual({ deviceType: 'tracker', allowed: ['SN-1002'], alreadyClaimed: [] });
    expect(reset.registered?.thingName).toBe('SN-1002');
  });

  it('refuses an ownership token used already for another serial, which stays free for its own device', async () => {
    // Prepare: SN-1004 is provisioned; SN-1005 is allowed and not yet used
    await call(t.platform, 'POST', '/devices/allow', {
      deviceType: 'tracker',
      serialNumbers: ['SN-1004', 'SN-1005'],
    });
    const first = await provisionBySdk('SN-1004');
    expect(first.registered?.thingName).toBe('SN-1004');
    const connection = await claimConnection('claim-SN-1005');
    const identity = iotidentity.IotIdentityClientv2.newFromMqtt311(connection, {
      maxRequestResponseSubscriptions: 4,
      maxStreamingSubscriptions: 2,
      operationTimeoutInSeconds: 10,
    });

    // Act: SN-1004's token (within its hour) offered for SN-1005
    const error = await identity
      .registerThing({
        templateName: claim.templateName,
        certificateOwnershipToken: first.created.certificateOwnershipToken ?? '',
        parameters: { SerialNumber: 'SN-1005' },
      })
      .then(
        () => undefined,
        (e: { modeledError?: unknown }) => e.modeledError,
      );
    identity.close();
    const own = await provisionBySdk('SN-1005');

    // Assess: refused by the hook, nothing made, SN-1004's certificate on SN-1004 only; SN-1005's own device admitted
    expect(error).toMatchObject({ statusCode: 403, errorCode: 'AccessDenied' });
    expect(
      t.platform.iot.listPrincipalThings(
        t.platform.iot.describeCertificate(String(first.created.certificateId)).certificateDescription
          .certificateArn,
      ).things,
    ).toEqual(['SN-1004']);
    expect(own.registered?.thingName).toBe('SN-1005');
  });

  it('refuses an ownership token CreateCertificateFromCsr never issued', async () => {
    // Prepare
    await call(t.platform, 'POST', '/devices/allow', { deviceType: 'tracker', serialNumbers: ['SN-1003'] });
    const connection = await claimConnection('claim-SN-1003');
    const identity = iotidentity.IotIdentityClientv2.newFromMqtt311(connection, {
      maxRequestResponseSubscriptions: 4,
      maxStreamingSubscriptions: 2,
      operationTimeoutInSeconds: 10,
    });

    // Act
    const error = await identity
      .registerThing({
        templateName: claim.templateName,
        certificateOwnershipToken: 'forged',
        parameters: { SerialNumber: 'SN-1003' },
      })
      .then(
        () => undefined,
        (e: { modeledError?: unknown }) => e.modeledError,
      );
    identity.close();

    // Assess
    expect(error).toMatchObject({ statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken' });
    expect(thingType('SN-1003')).toBe('none');
  });
});

describe('a claim certificate outside provisioning', () => {
  const claimClient = (clientId: string) =>
    mqtt.connectAsync(t.platform.mqttUrl, {
      clientId,
      protocolVersion: 4,
      key: claim.keyPem,
      cert: claim.certPem,
      ca: claim.caPem,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });

  it("may not connect with a device's client id (it would knock the device off)", async () => {
    // Prepare
    await call(t.platform, 'POST', '/devices/allow', { deviceType: 'tracker', serialNumbers: ['SN-2001'] });
    const device = await provisionBySdk('SN-2001');

    // Act + Assess
    expect(
      await canConnect(t.platform, 'SN-2001', device.key.keyPem, String(device.created.certificatePem)),
    ).toBe(true);
    expect(await canConnect(t.platform, 'SN-2001', claim.keyPem, claim.certPem)).toBe(false);
    expect(await canConnect(t.platform, 'claim-SN-2001', claim.keyPem, claim.certPem)).toBe(true);
  });

  it.each([
    ['telemetry of a device', 'devices/tracker/SN-2001/telemetry'],
    ["a device's shadow", 'fleet/things/SN-2001/shadow/update'],
    ['CreateKeysAndCertificate (platform-made keys)', '$aws/certificates/create/json'],
    ['RegisterThing of another template', '$aws/provisioning-templates/other/provision/json'],
  ])('may not publish %s: the broker closes the connection', async (_what, topic) => {
    // Prepare
    const client = await claimClient('claim-probe');
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));

    // Act
    client.publish(topic, '{}', { qos: 1 });

    // Assess
    await closed;
    expect(t.platform.denials).toContainEqual(
      expect.objectContaining({ clientId: 'claim-probe', action: 'Publish', resource: topic }),
    );
  });

  it('may not subscribe to device topics, and may to its own answers (control)', async () => {
    // Prepare
    const client = await claimClient('claim-subscriber');

    const suback = new Promise<number[]>((resolve) =>
      client.on('packetreceive', (packet) => {
        if (packet.cmd === 'suback') resolve(packet.granted as number[]);
      }),
    );

    // Act
    client.subscribe(
      [
        'fleet/things/SN-2001/#',
        'devices/tracker/SN-2001/commands',
        `$aws/provisioning-templates/${claim.templateName}/provision/json/accepted`,
        '$aws/certificates/create-from-csr/json/rejected',
      ],
      { qos: 1 },
      () => {},
    );

    // Assess: SUBACK 0x80 for each refusal
    expect(await suback).toEqual([128, 128, 1, 1]);
    await client.endAsync();
  });
});
