import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageKey } from '../../lambdas/adapters/s3-firmware-store.ts';
import { FirmwareInUseError, FirmwareStateError } from '../../lambdas/domain/firmware/errors.ts';
import { firmwareForDevice, jobDocumentFirmware } from '../../lambdas/services/firmware-downloads.ts';
import {
  firmwareDownloadsFrom,
  firmwareS3Config,
  firmwareServiceFrom,
} from '../../lambdas/services/firmware-setup.ts';
import { aws } from '../../lambdas/shared/aws-config.ts';
import { createLogger } from '../../lambdas/shared/logger.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localResourceName } from '../../lib/local/names.ts';
import { canonicalJson } from '../../lib/protocol/canonical-json.ts';
import { FIRMWARE_KEYS_PATH, firmwareKeysResponse } from '../../lib/protocol/firmware.ts';
import { firmwareJobDocument } from '../../lib/protocol/jobs.ts';
import { verifyEnvelopeSignature } from '../../lib/protocol/manifest.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call as callPlatform } from '../support/rollouts.ts';
import { firmwareTopology } from './firmware-topology.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON bodies field by field
type Json = any;

const MiB = 1024 * 1024;
const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An image of `size` random bytes and what an uploader declares about it. */
function image(size: number) {
  const bytes = randomBytes(size);
  return { bytes, size, sha256: sha256Of(bytes) };
}

describe('firmware registry over HTTP on the local platform', () => {
  let t: TestPlatform;
  const bucket = localResourceName('firmware');

  /** The env credentials of the firmware API's function: tests that build its services act as it. */
  const asFirmwareFunction = () => {
    const key = t.platform.principals.functionKey('apiFirmware');
    return { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey };
  };

  const call = (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> =>
    callPlatform(t.platform, method, path, body);

  /** Registers and uploads through the presigned URL; returns the registration answer. */
  async function registerAndUpload(version: string, img: { bytes: Buffer; size: number; sha256: string }) {
    const registered = await call('POST', '/firmware', {
      version,
      deviceTypes: ['tracker'],
      size: img.size,
      sha256: img.sha256,
    });
    expect(registered.status).toBe(201);
    const put = await fetch(registered.body.upload.url, { method: 'PUT', body: img.bytes });
    expect(put.status).toBe(200);
    return registered;
  }

  beforeAll(async () => {
    t = await startTestPlatform({ topology: firmwareTopology });
  });
  afterAll(async () => {
    await t.dispose();
  });

  describe('the full flow: register, upload, complete, download in two ranges, verify', () => {
    const img = image(300_000);
    let completed: Json;
    let keys: Json;

    beforeAll(async () => {
      await registerAndUpload('1.0.0', img);
      completed = (await call('POST', '/firmware/1.0.0/complete')).body;
      keys = (await call('GET', FIRMWARE_KEYS_PATH)).body;
    });

    it('registers as pending-upload with a presigned PUT that expires in an hour', async () => {
      // Act
      const again = await call('POST', '/firmware', {
        version: '1.0.0-rc.1',
        deviceTypes: ['tracker'],
        size: 10,
        sha256: sha256Of(Buffer.alloc(10)),
      });
      // Assess
      expect(again.status).toBe(201);
      expect(again.body.firmware).toMatchObject({ version: '1.0.0-rc.1', status: 'pending-upload' });
      expect(again.body.firmware.signature).toBeUndefined();
      expect(again.body.upload.method).toBe('PUT');
      expect(again.body.upload.url).toContain(`/${bucket}/${imageKey('1.0.0-rc.1')}?`);
      expect(again.body.upload.url).toContain('X-Amz-SignedHeaders=content-length%3Bhost');
      expect(again.body.upload.expiresAt - Date.now() / 1000).toBeGreaterThan(3590);
    });

    it('completes to available with an ECDSA_SHA_256 signature and the key id', async () => {
      // Act
      const described = await call('GET', '/firmware/1.0.0');
      // Assess
      expect(described.status).toBe(200);
      expect(described.body).toEqual(completed);
      expect(described.body).toMatchObject({
        version: '1.0.0',
        deviceTypes: ['tracker'],
        size: img.size,
        sha256: img.sha256,
        status: 'available',
        securityVersion: 0,
        signatureAlgorithm: 'ECDSA_SHA_256',
        keyId: expect.stringMatching(/^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]{36}$/),
        uploadedAt: expect.any(String),
        manifest: {
          purpose: 'firmware',
          version: '1.0.0',
          sha256: img.sha256,
          size: img.size,
          deviceTypes: ['tracker'],
          securityVersion: 0,
          issuedAt: expect.any(Number),
          expiresAt: expect.any(Number),
        },
      });
      // Valid for the deployment's FIRMWARE_MANIFEST_VALIDITY_DAYS (365 by default).
      expect(described.body.manifest.expiresAt - described.body.manifest.issuedAt).toBe(365 * 86_400);
    });

    it('signs the manifest: its canonical bytes in a DSSE envelope, verified with the published key', () => {
      const key = keys.keys[0].publicKeyPem as string;
      const { envelope, manifest } = completed;
      expect(Buffer.from(envelope.payload, 'base64').toString('utf8')).toBe(canonicalJson(manifest));
      expect(envelope.signatures).toEqual([{ keyid: completed.keyId, sig: completed.signature }]);
      expect(verifyEnvelopeSignature(envelope, completed.signature, key)).toBe(true);
      // The payload is what is signed: another manifest under the same signature does not verify.
      const forged = {
        ...envelope,
        payload: Buffer.from(canonicalJson({ ...manifest, securityVersion: 9 })).toString('base64'),
      };
      expect(verifyEnvelopeSignature(forged, completed.signature, key)).toBe(false);
    });

    it('publishes a key per purpose, and the key set devices trust, signed by the key-set key', () => {
      const parsed = firmwareKeysResponse.parse(keys);
      expect(parsed.keys.map((k) => k.purposes)).toEqual([['firmware'], ['model'], ['rollback'], ['keyset']]);
      expect(parsed.keys[0]?.keyId).toBe(completed.keyId);
      expect(new Set(parsed.keys.map((k) => k.keyId)).size).toBe(4);
      const { manifest, envelope } = parsed.keySet;
      expect(manifest).toMatchObject({ purpose: 'keyset', version: 1 });
      expect(manifest.keys.map((k) => k.purposes).sort()).toEqual([
        ['firmware'],
        ['keyset'],
        ['model'],
        ['rollback'],
      ]);
      const root = parsed.keys[3];
      expect(envelope.signatures[0]?.keyid).toBe(root?.keyId);
      expect(
        verifyEnvelopeSignature(envelope, envelope.signatures[0]?.sig ?? '', root?.publicKeyPem ?? ''),
      ).toBe(true);
    });

    it('issues no new key set while the keys stay the same, and refuses to retire a key in use', async () => {
      const again = await call('POST', '/firmware/keys/rollover', {});
      const retire = await call('POST', '/firmware/keys/rollover', { retire: [completed.keyId] });
      expect(again).toMatchObject({ status: 200, body: { changed: false, keySet: keys.keySet } });
      expect(retire).toMatchObject({ status: 400, body: { code: 'RetireCurrentKey' } });
    });

    it('downloads in two Range requests that add up to the image the signed manifest names', async () => {
      // Prepare
      const { body: download } = await call('GET', '/firmware/1.0.0/download');
      const half = Math.floor(img.size / 2);
      // Act
      const first = await fetch(download.url, { headers: { range: `bytes=0-${half - 1}` } });
      const second = await fetch(download.url, { headers: { range: `bytes=${half}-` } });
      const bytes = Buffer.concat([
        Buffer.from(await first.arrayBuffer()),
        Buffer.from(await second.arrayBuffer()),
      ]);
      // Assess
      expect([first.status, second.status]).toEqual([206, 206]);
      expect(second.headers.get('content-range')).toBe(`bytes ${half}-${img.size - 1}/${img.size}`);
      expect(bytes.length).toBe(img.size);
      // The bytes are the ones the signed manifest names.
      expect(sha256Of(bytes)).toBe(completed.manifest.sha256);
      expect(download.expiresAt - Date.now() / 1000).toBeLessThanOrEqual(900);
    });

    it('keeps the key in <dataDir>/keys across restarts, so earlier signatures still verify', async () => {
      // Prepare
      const pem = await readFile(join(t.dataDir, 'keys', 'firmwareSigning.pem'), 'utf8');
      // Act
      await t.restart();
      const after = (await call('GET', FIRMWARE_KEYS_PATH)).body;
      const described = (await call('GET', '/firmware/1.0.0')).body;
      // Assess
      expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      expect(after).toEqual(keys);
      expect(described.signature).toBe(completed.signature);
    });

    it('answers a repeated complete with the same signed image', async () => {
      const again = await call('POST', '/firmware/1.0.0/complete');
      expect(again).toEqual({ status: 200, body: completed });
    });
  });

  it('gives the jobs service a fresh presigned GET per call and a valid job document block', async () => {
    // Prepare
    const img = image(4096);
    await registerAndUpload('1.1.0', img);
    await call('POST', '/firmware/1.1.0/complete');
    const env = {
      FIRMWARE_BUCKET_NAME: bucket,
      FIRMWARE_CATALOG_TABLE_NAME: localResourceName('firmwareCatalog'),
      AWS_REGION: LOCAL_REGION,
      ...asFirmwareFunction(),
      AWS_ENDPOINT_URL_S3: t.platform.s3Endpoint,
    };
    const client = new S3Client(firmwareS3Config(env));
    const dynamo = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: t.platform.dynamoEndpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    let clock = Date.now();
    const downloads = firmwareDownloadsFrom({ s3: client, dynamo, env, now: () => clock });
    // Act
    const first = await firmwareForDevice(downloads, '1.1.0');
    clock += 60_000;
    const second = await firmwareForDevice(downloads, '1.1.0');
    const job = firmwareJobDocument.parse({
      operation: 'firmware-update',
      rolloutId: 'r-1',
      firmware: jobDocumentFirmware(second),
    });
    const fetched = Buffer.from(await (await fetch(second.url)).arrayBuffer());
    // Assess
    expect(second.url).not.toBe(first.url);
    expect(second.urlExpiresAt - first.urlExpiresAt).toBe(60);
    expect(first.urlExpiresAt).toBe(Math.floor((clock - 60_000) / 1000) + 900);
    expect(job.firmware.manifest).toMatchObject({ version: '1.1.0', size: img.size, sha256: img.sha256 });
    expect(sha256Of(fetched)).toBe(img.sha256);
    await expect(firmwareForDevice(downloads, '9.9.9')).rejects.toThrow('no firmware 9.9.9');
    client.destroy();
    dynamo.destroy();
  });

  it('uploads a large image in presigned parts and completes it with their ETags', async () => {
    // Prepare
    const img = image(11 * MiB + 123);
    const registered = await call('POST', '/firmware', {
      version: '2.0.0',
      deviceTypes: ['tracker', 'gateway'],
      minVersion: '1.0.0',
      size: img.size,
      sha256: img.sha256,
      upload: 'multipart',
      partSize: 5 * MiB,
    });
    const plan = registered.body.upload;
    // Act
    const parts: Array<{ partNumber: number; etag: string }> = [];
    let offset = 0;
    for (const part of plan.parts as Array<{ partNumber: number; size: number; url: string }>) {
      const response = await fetch(part.url, {
        method: 'PUT',
        body: img.bytes.subarray(offset, offset + part.size),
      });
      offset += part.size;
      parts.push({ partNumber: part.partNumber, etag: response.headers.get('etag') ?? '' });
    }
    const withoutParts = await call('POST', '/firmware/2.0.0/complete');
    const completed = await call('POST', '/firmware/2.0.0/complete', { parts });
    // Assess
    expect(registered.status).toBe(201);
    expect(plan.method).toBe('multipart');
    expect(plan.parts.map((p: { size: number }) => p.size)).toEqual([5 * MiB, 5 * MiB, MiB + 123]);
    expect(withoutParts.status).toBe(400);
    expect(withoutParts.body.issues).toEqual([{ field: 'parts', reason: expect.any(String) }]);
    expect(completed.status).toBe(200);
    expect(completed.body).toMatchObject({ status: 'available', size: img.size, sha256: img.sha256 });
    const { body: download } = await call('GET', '/firmware/2.0.0/download');
    expect(sha256Of(Buffer.from(await (await fetch(download.url)).arrayBuffer()))).toBe(img.sha256);
  });

  it('refuses an object tampered with after upload: 400 with both digests, object deleted, registration dropped', async () => {
    // Prepare
    const img = image(50_000);
    await registerAndUpload('3.0.0', img);
    const tampered = Buffer.from(img.bytes);
    tampered[100] = (tampered[100] ?? 0) ^ 0xff;
    // The platform restarted in an earlier test: its S3 endpoint is the current one.
    const s3 = new S3Client({
      endpoint: t.platform.s3Endpoint,
      region: LOCAL_REGION,
      credentials: t.platform.credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: imageKey('3.0.0'), Body: tampered }));
    // Act
    const refused = await call('POST', '/firmware/3.0.0/complete');
    // Assess
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      code: 'UploadMismatch',
      declared: { size: 50_000, sha256: img.sha256 },
      received: { size: 50_000, sha256: sha256Of(tampered) },
    });
    expect(refused.body.message).toContain(`sha256 ${sha256Of(tampered)}, declared ${img.sha256}`);
    await expect(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: imageKey('3.0.0') })),
    ).rejects.toThrow();
    expect((await call('GET', '/firmware/3.0.0')).status).toBe(404);
    // The version is free again: the real image can be registered and completed.
    await registerAndUpload('3.0.0', img);
    expect((await call('POST', '/firmware/3.0.0/complete')).body.status).toBe('available');
    s3.destroy();
  });

  it.each([
    ['a declared SHA-256 the bytes do not have', 0, 'sha256'],
    ['a declared size the upload does not have', 1, 'size'],
  ])('refuses %s, naming the numbers', async (_case, extraBytes, differs) => {
    // Prepare
    const img = image(1000);
    const version = `4.0.${extraBytes}`;
    const declared = {
      size: img.size,
      sha256: differs === 'sha256' ? sha256Of(Buffer.from('other')) : img.sha256,
    };
    const registered = await call('POST', '/firmware', { version, deviceTypes: ['tracker'], ...declared });
    // s3rver does not check the signed Content-Length (S3 does, and refuses the PUT itself).
    const uploaded = Buffer.concat([img.bytes, Buffer.alloc(extraBytes)]);
    await fetch(registered.body.upload.url, { method: 'PUT', body: uploaded });
    // Act
    const refused = await call('POST', `/firmware/${version}/complete`);
    // Assess
    expect(refused.status).toBe(400);
    expect(refused.body.declared).toEqual(declared);
    expect(refused.body.received).toEqual({ size: uploaded.length, sha256: sha256Of(uploaded) });
    expect(refused.body.message).toContain(
      differs === 'size'
        ? `size ${uploaded.length} bytes, declared ${img.size}`
        : `declared ${declared.sha256}`,
    );
  });

  it('answers 409 for a version that exists with another declaration, and a fresh plan for the same one', async () => {
    // Prepare
    const img = image(2000);
    const declaration = { version: '5.0.0', deviceTypes: ['tracker'], size: img.size, sha256: img.sha256 };
    const first = await call('POST', '/firmware', declaration);
    // Act
    const same = await call('POST', '/firmware', declaration);
    const other = await call('POST', '/firmware', { ...declaration, size: 2001 });
    const existing = await call('POST', '/firmware', { ...declaration, version: '1.0.0' });
    // Assess
    expect(first.status).toBe(201);
    expect(same.status).toBe(200);
    expect(same.body.firmware).toEqual(first.body.firmware);
    expect(other).toMatchObject({ status: 409, body: { code: 'FirmwareExists' } });
    expect(existing).toMatchObject({ status: 409, body: { code: 'FirmwareExists' } });
  });

  it.each([
    ['a version that is not semver', { version: '1.2' }, 'version'],
    ['build metadata', { version: '1.2.3+build.7' }, 'version'],
    ['a device type with a space', { deviceTypes: ['bad type'] }, 'deviceTypes.0'],
    ['no device type', { deviceTypes: [] }, 'deviceTypes'],
    ['a minVersion above the version', { minVersion: '7.0.0' }, 'minVersion'],
    ['an upper-case SHA-256', { sha256: 'A'.repeat(64) }, 'sha256'],
    ['a size of zero', { size: 0 }, 'size'],
    ['a part size below S3 minimum', { upload: 'multipart', partSize: 1024 }, 'partSize'],
  ])('answers 400 naming the field for %s', async (_case, change, field) => {
    // Act
    const response = await call('POST', '/firmware', {
      version: '6.0.0',
      deviceTypes: ['tracker'],
      size: 10,
      sha256: 'a'.repeat(64),
      ...change,
    });
    // Assess
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('ValidationError');
    expect(response.body.issues.map((i: { field: string }) => i.field)).toContain(field);
  });

  it.each([
    ['GET', '/firmware/8.8.8'],
    ['POST', '/firmware/8.8.8/complete'],
    ['GET', '/firmware/8.8.8/download'],
    ['DELETE', '/firmware/8.8.8'],
  ])('answers 404 for %s of unknown firmware (%s)', async (method, path) => {
    expect(await call(method, path)).toMatchObject({ status: 404, body: { code: 'NotFound' } });
  });

  it('answers 409 when complete comes before the upload, and 400 for a path that is no version', async () => {
    // Prepare
    await call('POST', '/firmware', {
      version: '7.0.0',
      deviceTypes: ['tracker'],
      size: 5,
      sha256: 'b'.repeat(64),
    });
    // Act
    const early = await call('POST', '/firmware/7.0.0/complete');
    const download = await call('GET', '/firmware/7.0.0/download');
    const badPath = await call('GET', '/firmware/latest');
    // Assess
    expect(early).toMatchObject({ status: 409, body: { code: 'UploadIncomplete' } });
    expect(download).toMatchObject({ status: 409, body: { code: 'InvalidState' } });
    expect(badPath.status).toBe(400);
  });

  it('withdraws: no longer sent to devices, still downloadable by operators, withdrawn twice is the same', async () => {
    // Prepare
    const img = image(3000);
    await registerAndUpload('0.9.0', img);
    await call('POST', '/firmware/0.9.0/complete');
    // Act
    const withdrawn = await call('DELETE', '/firmware/0.9.0');
    const again = await call('DELETE', '/firmware/0.9.0');
    const complete = await call('POST', '/firmware/0.9.0/complete');
    const download = await call('GET', '/firmware/0.9.0/download');
    // Assess
    expect(withdrawn.body).toMatchObject({
      status: 'withdrawn',
      withdrawnAt: expect.any(String),
      signature: expect.any(String),
    });
    expect(again.body).toEqual(withdrawn.body);
    expect(complete).toMatchObject({ status: 409, body: { code: 'InvalidState' } });
    expect(download.status).toBe(200);
    const client = new S3Client(
      firmwareS3Config({
        AWS_REGION: LOCAL_REGION,
        ...asFirmwareFunction(),
        AWS_ENDPOINT_URL_S3: t.platform.s3Endpoint,
      }),
    );
    const dynamo = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: t.platform.dynamoEndpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
    );
    const downloads = firmwareDownloadsFrom({
      s3: client,
      dynamo,
      env: {
        FIRMWARE_BUCKET_NAME: bucket,
        FIRMWARE_CATALOG_TABLE_NAME: localResourceName('firmwareCatalog'),
      },
    });
    await expect(firmwareForDevice(downloads, '0.9.0')).rejects.toBeInstanceOf(FirmwareStateError);
    client.destroy();
    dynamo.destroy();
  });

  it('refuses to withdraw a version an active rollout uses (FirmwareUsage port), changing nothing', async () => {
    // Prepare
    const img = image(1500);
    await registerAndUpload('0.8.0', img);
    await call('POST', '/firmware/0.8.0/complete');
    const env = {
      FIRMWARE_BUCKET_NAME: bucket,
      FIRMWARE_CATALOG_TABLE_NAME: localResourceName('firmwareCatalog'),
      FIRMWARE_SIGNING_KEY_ID: 'alias/fleetkit-local-firmware-signing',
      AWS_REGION: LOCAL_REGION,
      ...asFirmwareFunction(),
      AWS_ENDPOINT_URL_S3: t.platform.s3Endpoint,
      AWS_ENDPOINT_URL_KMS: t.platform.kmsEndpoint,
    };
    const clients = {
      s3: new S3Client(firmwareS3Config(env)),
      kms: new KMSClient(aws(env, 'KMS')),
      dynamo: DynamoDBDocumentClient.from(
        new DynamoDBClient({
          endpoint: t.platform.dynamoEndpoint,
          region: LOCAL_REGION,
          credentials: LOCAL_CREDENTIALS,
        }),
      ),
    };
    const asked: string[] = [];
    const service = firmwareServiceFrom({
      ...clients,
      env,
      log: createLogger('test', { write: () => {}, now: Date.now }),
      now: Date.now,
      usage: {
        isInUse: async (version) => {
          asked.push(version);
          return true;
        },
      },
    });
    // Act
    const withdrawal = service.withdraw('0.8.0');
    // Assess
    await expect(withdrawal).rejects.toBeInstanceOf(FirmwareInUseError);
    expect(asked).toEqual(['0.8.0']);
    expect((await call('GET', '/firmware/0.8.0')).body.status).toBe('available');
    clients.s3.destroy();
    clients.kms.destroy();
    clients.dynamo.destroy();
  });

  it('lists newest first by semantic version (a pre-release below its release), filtered and paginated', async () => {
    // Act
    const all = await call('GET', '/firmware?limit=100');
    const available = await call('GET', '/firmware?status=available');
    const firstPage = await call('GET', '/firmware?limit=3');
    const secondPage = await call('GET', `/firmware?limit=100&nextToken=${firstPage.body.nextToken}`);
    const gateways = await call('GET', '/firmware?deviceType=gateway');
    const badToken = await call('GET', '/firmware?nextToken=garbage');
    // Assess
    const versions = (page: { body: Json }) => page.body.firmware.map((f: { version: string }) => f.version);
    expect(versions(all)).toEqual([
      '7.0.0',
      '5.0.0',
      '3.0.0',
      '2.0.0',
      '1.1.0',
      '1.0.0',
      '1.0.0-rc.1',
      '0.9.0',
      '0.8.0',
    ]);
    expect(all.body.nextToken).toBeUndefined();
    expect(versions(available)).toEqual(['3.0.0', '2.0.0', '1.1.0', '1.0.0', '0.8.0']);
    expect([...versions(firstPage), ...versions(secondPage)]).toEqual(versions(all));
    expect(versions(gateways)).toEqual(['2.0.0']);
    expect(badToken).toMatchObject({ status: 400, body: { code: 'InvalidToken' } });
  });
});
