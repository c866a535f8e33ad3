import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_REGION, localResourceName } from '../../lib/local/names.ts';
import { buildSimulatedFirmwareImage } from '../../lib/local/sim/firmware-behaviour.ts';
import { simulatedDeviceName } from '../../lib/local/sim/fleet.ts';
import { runCliOn } from '../support/cli.ts';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, createRollout, driveRollout, type Json } from '../support/rollouts.ts';
import { skipWithout } from '../support/tools.ts';

/**
 * Delta images end to end on the local platform (issue 12, step 5): `firmware upload` makes a VCDIFF
 * delta with xdelta3 from the previous release, the registry verifies it by decoding it against the
 * stored base, a rollout's job document offers it to a device running that base, and the device
 * patches instead of downloading the image, holding the result to the signed SHA-256. A delta that does
 * not make the signed image is refused by the registry and never offered.
 */

const SIZE = 64 * 1024;
/** Two releases sharing their padding: they differ as consecutive builds do, in a few bytes. */
const release = (version: string, offset: number) =>
  buildSimulatedFirmwareImage(
    { fleetkitSimFirmware: 1, version, telemetry: { temperatureOffset: offset } },
    SIZE,
    'shared-build',
  );
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const thing = simulatedDeviceName(1);

describe.skipIf(skipWithout('xdelta3'))('firmware deltas on the local platform', () => {
  let t: TestPlatform;
  let dir: string;
  const events: Array<{ event: string; fields?: Readonly<Record<string, unknown>> }> = [];
  const cli = (...argv: string[]) => runCliOn(t.platform, argv);
  const upload = (version: string, ...extra: string[]) =>
    cli(
      'firmware',
      'upload',
      join(dir, version),
      '--version',
      version,
      '--device-types',
      'tracker,env-sensor',
      ...extra,
    );

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetkit-delta-'));
    for (const [version, offset] of [
      ['1.0.0', 0],
      ['1.1.0', 1],
      ['1.2.0', 2],
      ['1.3.0', 3],
    ] as const)
      await writeFile(join(dir, version), release(version, offset));
    t = await startTestPlatform({
      devices: 1,
      statusEveryMs: 300,
      telemetryEveryMs: 300,
      ota: { healthCheckMs: 300, rebootDelayMs: 50, log: (event, fields) => events.push({ event, fields }) },
      settings: { ROLLOUT_HEALTH_CHECK_SECONDS: '0' },
    });
    await eventually(
      async () => ((await call(t.platform, 'GET', `/devices/${thing}`)).status === 200 ? true : undefined),
      20_000,
    );
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  async function rollOut(rolloutId: string, version: string) {
    const created = await createRollout(t.platform, {
      rolloutId,
      firmwareVersion: version,
      targets: { things: [thing] },
      waves: { sizes: [100], gate: { successPercentage: 100 } },
    });
    expect(created.status).toBe(202);
    const seen = await driveRollout(
      t.platform,
      rolloutId,
      (r) => r.status === 'COMPLETED' || r.status === 'ABORTED',
    );
    expect(seen.at(-1).progress.byStatus.SUCCEEDED).toBe(1);
    await eventually(async () => {
      const { body } = await call(t.platform, 'GET', `/devices/${thing}`);
      return body.firmwareVersion === version ? true : undefined;
    }, 20_000);
  }

  it('uploads 1.2.0 with a verified delta from 1.1.0; a device on 1.1.0 patches from it and ends on 1.2.0', async () => {
    // Prepare: 1.0.0 and 1.1.0 in the registry, the device on 1.1.0 (a full download: its factory slot
    // holds no image to patch).
    expect((await upload('1.0.0', '--max-deltas', '0')).code).toBe(0);
    const second = await upload('1.1.0', '--max-deltas', '0');
    expect(second.code).toBe(0);
    await rollOut('to-110', '1.1.0');
    events.length = 0;
    // Act
    const third = await upload('1.2.0', '--max-deltas', '1', '--base-dir', dir);
    const described = await call(t.platform, 'GET', '/firmware/1.2.0');
    await rollOut('to-120', '1.2.0');
    // Assess: the registry verified one delta, from the newest earlier release only (--max-deltas 1).
    expect(third.err).toBe('');
    expect(third.out).toMatch(/delta from 1\.1\.0: .* verified/);
    expect(third.out).toMatch(/deltas from 1\.1\.0\n$/);
    const image = await readFile(join(dir, '1.2.0'));
    expect(described.body.deltas).toEqual([
      expect.objectContaining({
        format: 'vcdiff',
        fromVersion: '1.1.0',
        key: 'deltas/1.2.0/from-1.1.0',
        fromSha256: sha256(await readFile(join(dir, '1.1.0'))),
      }),
    ]);
    const delta = described.body.deltas[0];
    expect(delta.size).toBeLessThan(SIZE / 4);
    // The device patched: it fetched the delta's bytes, not the image's, and the result passed the signed SHA-256.
    const applied = events.filter((e) => e.event === 'delta-applied');
    expect(applied).toEqual([
      {
        event: 'delta-applied',
        fields: expect.objectContaining({ fromVersion: '1.1.0', deltaBytes: delta.size }),
      },
    ]);
    expect(events.some((e) => e.event === 'delta-unusable')).toBe(false);
    const device = t.platform.fleet.devices.find((d) => d.thingName === thing);
    expect(device?.firmwareVersion()).toBe('1.2.0');
    expect(described.body.sha256).toBe(sha256(image));
  }, 120_000);

  it('refuses a corrupted delta: deleted, a 400 naming why, never recorded or offered; and never a second delta from one base', async () => {
    // Prepare: a real delta from 1.0.0 to 1.2.0 (a few dozen bytes) with its middle byte changed.
    const deltaFile = join(dir, 'corrupt.vcdiff');
    execFileSync('xdelta3', [
      '-e',
      '-9',
      '-f',
      '-S',
      'none',
      '-A',
      '-n',
      '-s',
      join(dir, '1.0.0'),
      join(dir, '1.2.0'),
      deltaFile,
    ]);
    const corrupted = await readFile(deltaFile);
    const middle = Math.floor(corrupted.length / 2);
    corrupted[middle] = (corrupted[middle] ?? 0) ^ 0x5a;
    // Act
    const planned = await call(t.platform, 'POST', '/firmware/1.2.0/deltas', {
      fromVersion: '1.0.0',
      size: corrupted.length,
    });
    const put = await fetch(planned.body.upload.url, { method: 'PUT', body: corrupted });
    const completed = await call(t.platform, 'POST', '/firmware/1.2.0/deltas/1.0.0/complete');
    const again = await call(t.platform, 'POST', '/firmware/1.2.0/deltas', {
      fromVersion: '1.1.0',
      size: 100,
    });
    const described = await call(t.platform, 'GET', '/firmware/1.2.0');
    const stillThere = await call(t.platform, 'POST', '/firmware/1.2.0/deltas/1.0.0/complete');
    // Assess
    expect(planned.status).toBe(200);
    expect(put.status).toBe(200);
    expect(completed.status).toBe(400);
    expect(completed.body).toMatchObject({
      code: 'DeltaRefused',
      reason: expect.stringMatching(/decode|SHA-256|bytes/),
    });
    expect(described.body.deltas.map((d: Json) => d.fromVersion)).toEqual(['1.1.0']);
    // The refused delta was deleted: completing it again finds nothing uploaded.
    expect(stillThere.status).toBe(409);
    expect(stillThere.body.code).toBe('UploadIncomplete');
    expect(again.status).toBe(400);
    expect(again.body.reason).toMatch(/exists already/);
  }, 60_000);

  it('a delta damaged in the bucket after it was verified: the device falls back to the full image and ends on 1.3.0', async () => {
    // Prepare: 1.3.0 with a verified delta from 1.2.0 (what the device runs), then other bytes of the
    // same length written over the delta's object, as a fault or an attacker at the source would.
    const uploaded = await upload('1.3.0', '--max-deltas', '1');
    expect(uploaded.err).toBe('');
    expect(uploaded.out).toMatch(/delta from 1\.2\.0: .* verified/);
    const { body } = await call(t.platform, 'GET', '/firmware/1.3.0');
    const [delta] = body.deltas as Json[];
    const s3 = new S3Client({
      endpoint: t.platform.s3Endpoint,
      region: LOCAL_REGION,
      credentials: t.platform.credentials,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    await s3.send(
      new PutObjectCommand({
        Bucket: localResourceName('firmware'),
        Key: delta.key,
        Body: Buffer.alloc(delta.size, 7),
      }),
    );
    events.length = 0;
    // Act
    const more = await cli(
      'firmware',
      'deltas',
      join(dir, '1.3.0'),
      '--version',
      '1.3.0',
      '--max-deltas',
      '2',
      '--json',
    );
    await rollOut('to-130', '1.3.0');
    // Assess: `firmware deltas` added the next base only, keeping the one made at upload.
    // With --json, stdout holds the JSON only; what the CLI did goes to stderr.
    expect(more.err).toMatch(/delta from 1\.1\.0: .* verified\n/);
    expect(
      JSON.parse(more.out)
        .deltas.map((d: Json) => d.fromVersion)
        .sort(),
    ).toEqual(['1.1.0', '1.2.0']);
    // The damaged delta was tried and given up, the full image installed and verified.
    expect(events.filter((e) => e.event === 'delta-applied')).toEqual([]);
    expect(events.find((e) => e.event === 'delta-unusable')?.fields).toMatchObject({ fromVersion: '1.2.0' });
    expect(t.platform.fleet.devices.find((d) => d.thingName === thing)?.firmwareVersion()).toBe('1.3.0');
  }, 120_000);
});
