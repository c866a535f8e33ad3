import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessKey } from '../../lib/local/credentials.ts';
import { LOCAL_REGION } from '../../lib/local/names.ts';
import { signRequest } from '../../lib/local/sigv4.ts';
import { deviceTopic } from '../../lib/protocol/topics.ts';
import { connectDevice, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call } from '../support/rollouts.ts';

/** Sends exactly these headers (fetch would set its own Host). */
function raw(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {} }, (res) => {
      let body = '';
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The headers of a request signed for `service` by `key`, as if sent to `url`. */
const sign = (
  key: AccessKey,
  service: string,
  url: string,
  init: { method: string; body?: string; headers?: Record<string, string> },
) =>
  signRequest(
    {
      method: init.method,
      url: new URL(url),
      headers: init.headers ?? {},
      ...(init.body === undefined ? {} : { body: init.body }),
    },
    { service, region: LOCAL_REGION, credentials: key },
  );

const forged = (key: AccessKey): AccessKey => ({ ...key, secretAccessKey: `${key.secretAccessKey}x` });

/** True when something accepts TCP connections on host:port. */
const listening = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

const portOf = (endpoint: string) => Number(new URL(endpoint).port);

describe('the local platform is not an open door', () => {
  let t: TestPlatform;
  const register = { version: '9.9.9', deviceTypes: ['tracker'], size: 10, sha256: 'a'.repeat(64) };

  beforeAll(async () => {
    t = await startTestPlatform();
  });
  afterAll(async () => {
    await t.dispose();
  });

  const firmwareVersions = async () =>
    ((await call(t.platform, 'GET', '/firmware')).body.firmware as Array<{ version: string }>).map(
      (f) => f.version,
    );

  describe('HTTP API', () => {
    const url = () => `${t.platform.gatewayUrl}/firmware`;
    const json = { 'content-type': 'application/json' };
    const body = JSON.stringify(register);

    it('keeps the credentials in the data directory, readable by their owner only', async () => {
      const file = await stat(t.platform.credentials.file);
      expect(file.mode & 0o777).toBe(0o600);
      expect(t.platform.credentials.file.startsWith(t.dataDir)).toBe(true);
    });

    it.each<[string, () => Promise<Record<string, string>>, string]>([
      ['unsigned', async () => ({ ...json }), 'MissingAuthenticationToken'],
      [
        'signed with a wrong secret',
        () =>
          sign(forged(t.platform.credentials), 'execute-api', url(), { method: 'POST', body, headers: json }),
        'SignatureDoesNotMatch',
      ],
      [
        'signed for another service',
        () => sign(t.platform.credentials, 'kms', url(), { method: 'POST', body, headers: json }),
        'SignatureDoesNotMatch',
      ],
      [
        'signed by a function (its role may not invoke the API)',
        () =>
          sign(t.platform.principals.functionKey('apiFirmware'), 'execute-api', url(), {
            method: 'POST',
            body,
            headers: json,
          }),
        'AccessDenied',
      ],
    ])('refuses a POST /firmware %s with 403 and creates nothing', async (_name, headers, code) => {
      // Act
      const answer = await raw(url(), { method: 'POST', headers: await headers(), body });
      // Assess
      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ code });
      expect(await firmwareVersions()).not.toContain(register.version);
    });

    it('refuses a request whose Host is not its own, even signed for that Host (DNS rebinding)', async () => {
      const port = new URL(t.platform.gatewayUrl).port;
      const rebound = `http://attacker.example:${port}/devices`;
      const headers = await sign(t.platform.credentials, 'execute-api', rebound, { method: 'GET' });

      const answer = await raw(`${t.platform.gatewayUrl}/devices`, { headers });

      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'ForbiddenHost' });
    });

    it.each([
      ['text/plain', 'text/plain;charset=UTF-8'],
      ['a form', 'application/x-www-form-urlencoded'],
    ])('refuses a POST with %s, signed or not, and creates nothing (CSRF)', async (_name, type) => {
      // Prepare: what a web page can send without a preflight, and the same request properly signed
      const headers = { 'content-type': type };
      const signed = await sign(t.platform.credentials, 'execute-api', url(), {
        method: 'POST',
        body,
        headers,
      });
      // Act
      const fromPage = await raw(url(), { method: 'POST', headers, body });
      const fromOperator = await raw(url(), { method: 'POST', headers: signed, body });
      // Assess
      expect([fromPage.status, fromOperator.status]).toEqual([415, 415]);
      expect(await firmwareVersions()).not.toContain(register.version);
    });

    it('refuses a body without a content type', async () => {
      const signed = await sign(t.platform.credentials, 'execute-api', url(), { method: 'POST', body });

      const answer = await raw(url(), { method: 'POST', headers: signed, body });

      expect(answer.status).toBe(415);
    });

    it('serves a request signed with the operator credentials (control)', async () => {
      const created = await call(t.platform, 'POST', '/firmware', { ...register, version: '9.9.8' });

      expect(created.status).toBe(201);
      expect(await firmwareVersions()).toContain('9.9.8');
    });
  });

  describe('KMS', () => {
    const KEY_ID = 'alias/fleetkit-local-firmware-signing';
    const digest = Buffer.alloc(32, 7);
    const signBody = JSON.stringify({
      KeyId: KEY_ID,
      Message: digest.toString('base64'),
      MessageType: 'DIGEST',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    const kmsHeaders = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.Sign' };
    const client = (key: AccessKey) =>
      new KMSClient({ endpoint: t.platform.kmsEndpoint, region: LOCAL_REGION, credentials: key });
    const signWith = (key: AccessKey) =>
      client(key).send(
        new SignCommand({
          KeyId: KEY_ID,
          Message: digest,
          MessageType: 'DIGEST',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );

    it('refuses an unsigned Sign with 403 and signs nothing', async () => {
      const answer = await raw(t.platform.kmsEndpoint, {
        method: 'POST',
        headers: kmsHeaders,
        body: signBody,
      });

      expect(answer.status).toBe(403);
      expect(JSON.parse(answer.body)).toEqual({
        __type: 'MissingAuthenticationTokenException',
        message: expect.any(String),
      });
    });

    it('refuses a Sign with a wrong secret with 403 (the SDK sees InvalidSignatureException)', async () => {
      const refused = await signWith(forged(t.platform.credentials)).catch((error: unknown) => error);

      expect(refused).toMatchObject({
        name: 'InvalidSignatureException',
        $metadata: { httpStatusCode: 403 },
      });
    });

    it('lets a function do what its role may: apiFirmware signs, apiDevices may not', async () => {
      const allowed = await signWith(t.platform.principals.functionKey('apiFirmware'));
      const denied = await signWith(t.platform.principals.functionKey('apiDevices')).catch((e: unknown) => e);

      expect(allowed.Signature?.length).toBeGreaterThan(60);
      expect(denied).toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
    });

    it('serves the operator (control)', async () => {
      const key = await client(t.platform.credentials).send(new GetPublicKeyCommand({ KeyId: KEY_ID }));

      expect(key.KeySpec).toBe('ECC_NIST_P256');
    });
  });

  describe('IoT data plane', () => {
    let device: MqttClient;
    const heard: string[] = [];
    const delta = 'fleet/things/lock-1/shadow/update/delta';
    const commands = deviceTopic('commands', 'tracker', 'lock-1');
    const publish = (key: AccessKey, topic: string, payload: string) =>
      new IoTDataPlaneClient({ endpoint: t.platform.iotDataEndpoint, region: LOCAL_REGION, credentials: key })
        .send(new PublishCommand({ topic, qos: 1, payload: Buffer.from(payload) }))
        .then(
          () => 'published',
          (error: { name: string; $metadata: { httpStatusCode?: number } }) =>
            `${error.$metadata.httpStatusCode} ${error.name}`,
        );

    beforeAll(async () => {
      device = await connectDevice(t.platform, 'lock-1', 'tracker');
      await device.subscribeAsync([delta, commands], { qos: 1 });
      device.on('message', (topic, payload) => heard.push(`${topic} ${payload}`));
    });
    afterAll(async () => {
      await device.endAsync();
    });

    it('publishes only what a deployed role may publish; every refusal is a 403 and reaches no device', async () => {
      // Act
      const unsigned = await raw(`${t.platform.iotDataEndpoint}/topics/${encodeURIComponent(delta)}?qos=1`, {
        method: 'POST',
        body: 'unsigned',
      });
      const outcomes = {
        wrongSecret: await publish(forged(t.platform.principals.functionKey('shadowMqtt')), delta, 'forged'),
        noTopicsGrant: await publish(t.platform.principals.functionKey('apiDevices'), delta, 'no grant'),
        // A device's own topic: no role publishes there (commands are the platform's; telemetry is not).
        operatorToDevice: await publish(
          t.platform.credentials,
          deviceTopic('telemetry', 'tracker', 'lock-1'),
          'not a role topic',
        ),
        shadowToDevice: await publish(
          t.platform.principals.functionKey('shadowMqtt'),
          commands,
          'not its topic',
        ),
        shadowToShadow: await publish(t.platform.principals.functionKey('shadowMqtt'), delta, 'allowed'),
      };
      await t.platform.rules.idle();
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Assess
      expect(unsigned.status).toBe(403);
      expect(outcomes).toEqual({
        wrongSecret: '403 ForbiddenException',
        noTopicsGrant: '403 ForbiddenException',
        operatorToDevice: '403 ForbiddenException',
        shadowToDevice: '403 ForbiddenException',
        shadowToShadow: 'published',
      });
      // The allowed publish went last: had any refused one gone through, it would be here first.
      expect(heard).toEqual([`${delta} allowed`]);
    });
  });

  describe('S3 (s3rver, which checks no signature)', () => {
    const bucket = 'fleetkit-local-firmware';
    const s3 = () =>
      new S3Client({
        endpoint: t.platform.s3Endpoint,
        region: LOCAL_REGION,
        credentials: t.platform.credentials,
        forcePathStyle: true,
      });
    const keys = async () =>
      ((await s3().send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);

    it('refuses a foreign Host, an unsigned request, s3rver’s built-in key and a form upload with 403', async () => {
      // Prepare: a form upload as a web page would send it, and a fake presigned GET with the public key
      const port = new URL(t.platform.s3Endpoint).port;
      const form = new FormData();
      form.append('key', 'planted.bin');
      form.append('file', new Blob(['not firmware']), 'planted.bin');
      const builtIn = `X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=S3RVER%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=${'0'.repeat(64)}`;
      // Act
      const answers = {
        rebound: (
          await raw(`${t.platform.s3Endpoint}/${bucket}`, { headers: { host: `attacker.example:${port}` } })
        ).status,
        unsigned: (await raw(`${t.platform.s3Endpoint}/${bucket}`)).status,
        builtInKey: (await raw(`${t.platform.s3Endpoint}/${bucket}?${builtIn}`)).status,
        formUpload: (await fetch(`${t.platform.s3Endpoint}/${bucket}`, { method: 'POST', body: form }))
          .status,
      };
      // Assess
      expect(answers).toEqual({ rebound: 403, unsigned: 403, builtInKey: 403, formUpload: 403 });
      expect(await keys()).not.toContain('planted.bin');
    });

    it('serves a request that names the platform’s key (control)', async () => {
      await s3().send(new PutObjectCommand({ Bucket: bucket, Key: 'control.bin', Body: 'x' }));

      expect(await keys()).toContain('control.bin');
    });
  });
});

describe('--host 0.0.0.0', () => {
  it('opens the broker and the API to the network with a warning, keeps every internal endpoint on loopback', async () => {
    // Prepare
    const t = await startTestPlatform({ host: '0.0.0.0' });
    try {
      const p = t.platform;
      // Act: 127.0.0.2 is loopback but not 127.0.0.1: only a wildcard listener answers there.
      const reachable = {
        api: await listening('127.0.0.2', portOf(p.gatewayUrl)),
        broker: await listening('127.0.0.2', p.mqttPort),
        dynamo: await listening('127.0.0.2', portOf(p.dynamoEndpoint)),
        s3: await listening('127.0.0.2', portOf(p.s3Endpoint)),
        kms: await listening('127.0.0.2', portOf(p.kmsEndpoint)),
        iotData: await listening('127.0.0.2', portOf(p.iotDataEndpoint)),
        iot: await listening('127.0.0.2', portOf(p.iotEndpoint)),
      };
      // Assess
      expect(reachable).toEqual({
        api: true,
        broker: true,
        dynamo: false,
        s3: false,
        kms: false,
        iotData: false,
        iot: false,
      });
      for (const endpoint of [
        p.dynamoEndpoint,
        p.s3Endpoint,
        p.kmsEndpoint,
        p.iotDataEndpoint,
        p.iotEndpoint,
      ]) {
        expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:/);
      }
      const warning = t.lines.map((line) => JSON.parse(line)).find((line) => line.level === 'warn');
      expect(warning).toMatchObject({ message: expect.stringContaining('beyond loopback'), host: '0.0.0.0' });
    } finally {
      await t.dispose();
    }
  });
});
