import { createHash, randomBytes, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetPublicKeyCommand, KMSClient, SignCommand, VerifyCommand } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoFirmwareCatalog } from '../../lambdas/adapters/dynamo-firmware-catalog.ts';
import { KmsSigner } from '../../lambdas/adapters/kms-signer.ts';
import { S3FirmwareStore } from '../../lambdas/adapters/s3-firmware-store.ts';
import type { FirmwareMetadata } from '../../lambdas/domain/firmware/metadata.ts';
import { firmwareS3Config } from '../../lambdas/services/firmware-setup.ts';
import { endpointGuard } from '../../lib/local/endpoint-guard.ts';
import { type LocalKms, startLocalKms } from '../../lib/local/kms.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, localResourceName } from '../../lib/local/names.ts';
import { localPrincipals } from '../../lib/local/principals.ts';
import { openSigningKeys } from '../../lib/local/signing-keys.ts';
import { startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { firmwareTopology } from './firmware-topology.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest();
const ALIAS = 'alias/fleetkit-local-firmware-signing';

describe('KmsSigner on the local KMS endpoint (the real @aws-sdk/client-kms)', () => {
  let dataDir: string;
  let kms: LocalKms;
  let client: KMSClient;
  let signer: KmsSigner;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-kms-'));
    // The operator of a topology without functions: allowed every operation, as a key administrator is.
    const operator = { accessKeyId: 'FKLOTESTTESTTESTTEST', secretAccessKey: 'test-secret' };
    const principals = localPrincipals(operator, { resources: {}, functions: {} });
    kms = await startLocalKms({
      keys: await openSigningKeys(dataDir, ['firmwareSigning', 'other']),
      guard: endpointGuard({ service: 'kms', principals, listenHost: '127.0.0.1' }),
    });
    client = new KMSClient({ endpoint: kms.endpoint, region: LOCAL_REGION, credentials: operator });
    signer = new KmsSigner({ client, keyId: ALIAS });
  });
  afterAll(async () => {
    client.destroy();
    await kms.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('signs a digest that verifies as ECDSA-with-SHA-256 of the message, and names the key by ARN', async () => {
    // Prepare
    const message = randomBytes(5000);
    // Act
    const { signature, keyId } = await signer.sign(sha256(message));
    const key = await signer.publicKey();
    // Assess
    expect(keyId).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f]{8}-/);
    expect(key.keyId).toBe(keyId);
    expect(verify('sha256', message, key.pem, signature)).toBe(true);
    expect(verify('sha256', randomBytes(10), key.pem, signature)).toBe(false);
  });

  it('answers Verify like KMS: valid for the digest it signed, KMSInvalidSignatureException otherwise', async () => {
    // Prepare
    const digest = sha256(Buffer.from('image'));
    const { signature } = await signer.sign(digest);
    const request = { KeyId: ALIAS, Signature: signature, SigningAlgorithm: 'ECDSA_SHA_256' as const };
    // Act
    const valid = await client.send(
      new VerifyCommand({ ...request, Message: digest, MessageType: 'DIGEST' }),
    );
    const wrong = client.send(
      new VerifyCommand({ ...request, Message: sha256(Buffer.from('other')), MessageType: 'DIGEST' }),
    );
    // Assess
    expect(valid.SignatureValid).toBe(true);
    await expect(wrong).rejects.toMatchObject({ name: 'KMSInvalidSignatureException' });
  });

  it('hashes a RAW message itself, as KMS does', async () => {
    // Prepare
    const message = Buffer.from('a short message');
    // Act
    const raw = await client.send(
      new SignCommand({
        KeyId: ALIAS,
        Message: message,
        MessageType: 'RAW',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    // Assess
    expect(verify('sha256', message, (await signer.publicKey()).pem, raw.Signature ?? new Uint8Array())).toBe(
      true,
    );
  });

  it.each([
    ['a 31-byte DIGEST', 'ValidationException', { Message: new Uint8Array(31), MessageType: 'DIGEST' }],
    ['an unknown alias', 'NotFoundException', { KeyId: 'alias/nope' }],
    ['an RSA algorithm', 'InvalidKeyUsageException', { SigningAlgorithm: 'RSASSA_PSS_SHA_256' }],
  ] as const)('refuses %s with KMS error %s', async (_case, errorName, change) => {
    const request = {
      KeyId: ALIAS,
      Message: new Uint8Array(32),
      MessageType: 'DIGEST' as const,
      SigningAlgorithm: 'ECDSA_SHA_256' as const,
      ...change,
    };
    await expect(client.send(new SignCommand(request))).rejects.toMatchObject({ name: errorName });
  });

  it('refuses to send KMS anything but a 32-byte digest', async () => {
    await expect(signer.sign(new Uint8Array(64))).rejects.toThrow('a SHA-256 digest is 32 bytes, got 64');
  });

  it('finds a key by alias, alias ARN, key id and key ARN; keys of other names differ', async () => {
    // Prepare
    const { KeyId: arn } = await client.send(new GetPublicKeyCommand({ KeyId: ALIAS }));
    const id = arn?.split('/')[1] ?? '';
    const aliasArn = `arn:aws:kms:us-east-1:000000000000:${ALIAS}`;
    // Act
    const answers = await Promise.all(
      [arn ?? '', id, aliasArn].map((KeyId) => client.send(new GetPublicKeyCommand({ KeyId }))),
    );
    const other = await client.send(new GetPublicKeyCommand({ KeyId: 'alias/fleetkit-local-other' }));
    // Assess
    expect(answers.map((a) => a.KeyId)).toEqual([arn, arn, arn]);
    expect(answers[0]).toMatchObject({
      KeySpec: 'ECC_NIST_P256',
      KeyUsage: 'SIGN_VERIFY',
      SigningAlgorithms: ['ECDSA_SHA_256'],
    });
    expect(other.KeyId).not.toBe(arn);
  });

  it('reopens the same key from <dataDir>/keys: same key id, same public key', async () => {
    // Act
    const again = await openSigningKeys(dataDir, ['firmwareSigning']);
    // Assess
    expect(again.get('firmwareSigning')?.arn).toBe((await signer.publicKey()).keyId);
  });
});

describe('S3FirmwareStore and DynamoFirmwareCatalog on the local platform', () => {
  let t: TestPlatform;
  let s3: S3Client;
  let dynamo: DynamoDBDocumentClient;
  let store: S3FirmwareStore;
  let catalog: DynamoFirmwareCatalog;

  const pending: FirmwareMetadata = {
    version: '1.0.0',
    deviceTypes: ['tracker'],
    size: 3,
    sha256: 'a'.repeat(64),
    status: 'pending-upload',
    registeredAt: 1_764_000_000_000,
    upload: { mode: 'single' },
  };

  beforeAll(async () => {
    t = await startTestPlatform({ topology: firmwareTopology });
    s3 = new S3Client(
      firmwareS3Config({
        AWS_REGION: LOCAL_REGION,
        AWS_ACCESS_KEY_ID: t.platform.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: t.platform.credentials.secretAccessKey,
        AWS_ENDPOINT_URL_S3: t.platform.s3Endpoint,
      }),
    );
    dynamo = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: t.platform.dynamoEndpoint,
        region: LOCAL_REGION,
        credentials: LOCAL_CREDENTIALS,
      }),
      { marshallOptions: { removeUndefinedValues: true } },
    );
    store = new S3FirmwareStore({ client: s3, bucketName: localResourceName('firmware') });
    catalog = new DynamoFirmwareCatalog({ client: dynamo, tableName: localResourceName('firmwareCatalog') });
  });
  afterAll(async () => {
    s3.destroy();
    dynamo.destroy();
    await t.dispose();
  });

  it('measures an uploaded image, and finds nothing where nothing was uploaded or after discard', async () => {
    // Prepare
    const bytes = randomBytes(70_000);
    const { url } = await store.presignUpload('9.0.0', bytes.length, 60);
    await fetch(url, { method: 'PUT', body: bytes });
    // Act
    const measured = await store.digest('9.0.0');
    const missing = await store.digest('9.0.1');
    await store.discard('9.0.0');
    const discarded = await store.digest('9.0.0');
    // Assess
    expect(measured).toEqual({ size: bytes.length, sha256: sha256(bytes).toString('hex') });
    expect([missing, discarded]).toEqual([undefined, undefined]);
  });

  it('signs URLs with its clock: one made an hour ago with a minute to live is refused by the server', async () => {
    // Prepare
    const past = new S3FirmwareStore({
      client: s3,
      bucketName: localResourceName('firmware'),
      now: () => Date.now() - 3_600_000,
    });
    // Act
    const expired = await past.presignUpload('9.1.0', 3, 60);
    const response = await fetch(expired.url, { method: 'PUT', body: 'abc' });
    // Assess
    expect(expired.expiresAt).toBeLessThan(Date.now() / 1000);
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Request has expired');
  });

  it.each([
    ['NoSuchUpload', 'missing'],
    ['InvalidPart', 'missing'],
  ])(
    'maps S3 %s on CompleteMultipartUpload to %s (fake S3 client: s3rver answers InternalError instead)',
    async (errorName, expected) => {
      // Prepare
      const failing = {
        send: async () => {
          throw Object.assign(new Error(errorName), { name: errorName });
        },
      } as unknown as S3Client;
      const withFake = new S3FirmwareStore({ client: failing, bucketName: 'b' });
      // Act
      const result = await withFake.completeMultipartUpload('1.0.0', 'u', [{ partNumber: 1, etag: '"e"' }]);
      const aborted = withFake.abortMultipartUpload('1.0.0', 'u');
      // Assess
      expect(result).toBe(expected);
      await expect(aborted).resolves.toBeUndefined();
    },
  );

  it('creates a version once and never overwrites it', async () => {
    // Act
    const first = await catalog.create(pending);
    const second = await catalog.create({ ...pending, sha256: 'b'.repeat(64) });
    // Assess
    expect([first, second]).toEqual(['created', 'exists']);
    expect(await catalog.get('1.0.0')).toEqual(pending);
  });

  it('changes and removes a version only from the status it was read in', async () => {
    // Prepare
    await catalog.create({ ...pending, version: '1.0.1' });
    const available = { ...pending, version: '1.0.1', status: 'available' as const, signature: 'c2ln' };
    // Act
    const fromWrong = await catalog.replace(available, 'available');
    const fromRight = await catalog.replace(available, 'pending-upload');
    const removeWrong = await catalog.remove('1.0.1', 'pending-upload');
    const removeMissing = await catalog.remove('1.0.9', 'pending-upload');
    // Assess
    expect([fromWrong, fromRight, removeWrong, removeMissing]).toEqual([
      'conflict',
      'saved',
      'conflict',
      'conflict',
    ]);
    expect(await catalog.get('1.0.1')).toEqual(available);
    expect((await catalog.list()).map((f) => f.version).sort()).toEqual(['1.0.0', '1.0.1']);
  });

  it('records deltas from eight bases at once without losing one, and none on a version that is not available', async () => {
    // Prepare
    await catalog.create({ ...pending, version: '3.0.0', status: 'available' });
    await catalog.create({ ...pending, version: '3.0.1' });
    const delta = (fromVersion: string) => ({
      format: 'vcdiff' as const,
      fromVersion,
      fromSha256: 'b'.repeat(64),
      size: 2,
      sha256: 'c'.repeat(64),
      key: `deltas/3.0.0/from-${fromVersion}`,
      verifiedAt: 1,
    });
    const bases = Array.from({ length: 8 }, (_, i) => `2.${i}.0`);
    // Act
    const results = await Promise.all(bases.map((base) => catalog.recordDelta('3.0.0', delta(base))));
    const onPending = await catalog.recordDelta('3.0.1', delta('2.0.0'));
    // Assess
    expect(results).toEqual(bases.map(() => 'saved'));
    expect(Object.keys((await catalog.get('3.0.0'))?.deltas ?? {}).sort()).toEqual(bases);
    expect(onPending).toBe('conflict');
    expect((await catalog.get('3.0.1'))?.deltas).toBeUndefined();
  });
});
