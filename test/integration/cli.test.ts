import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProvision } from '../../edge/src/identity/provision.ts';
import { buildSimulatedFirmwareImage } from '../../lib/local/sim/firmware-behaviour.ts';
import { type CliRun, runCliOn } from '../support/cli.ts';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, driveRollout } from '../support/rollouts.ts';

/** The operator CLI against the local platform, as `npm run cli` runs it (stdout and stderr captured). */

describe('fleetkit CLI on the local platform', () => {
  let t: TestPlatform;
  let dir: string;

  function cli(...argv: string[]): Promise<CliRun> {
    return runCliOn(t.platform, argv);
  }

  beforeAll(async () => {
    t = await startTestPlatform({
      devices: 2,
      statusEveryMs: 500,
      ota: { healthCheckMs: 200, rebootDelayMs: 20 },
    });
    dir = await mkdtemp(join(tmpdir(), 'fleetkit-cli-'));
    await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/devices');
      return body.devices?.length === 2 ? true : undefined;
    }, 20_000);
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('uploads a 12 MiB image in parts with a progress bar, and the registry verifies and signs it', async () => {
    // Prepare
    const file = join(dir, 'fw-2.0.0.bin');
    await writeFile(
      file,
      buildSimulatedFirmwareImage({ fleetkitSimFirmware: 1, version: '2.0.0' }, 12 * 1024 * 1024),
    );
    // Act
    const result = await cli(
      'firmware',
      'upload',
      file,
      '--version',
      '2.0.0',
      '--device-types',
      'tracker,env-sensor',
      '--multipart',
      '--part-size',
      '5',
    );
    // Assess
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/uploading \[#{30}\] 100 %\s+12\.0 MiB in 3 parts/);
    expect(result.out.split('\n').filter((line) => line.startsWith('uploading')).length).toBeLessThanOrEqual(
      12,
    );
    expect(result.out).toMatch(/firmware 2\.0\.0 is available, signed by arn:aws:kms:/);
  }, 60_000);

  it('keeps stdout JSON only with --json: the answer there, the progress on stderr', async () => {
    // Prepare
    const file = join(dir, 'fw-2.0.1.bin');
    await writeFile(file, buildSimulatedFirmwareImage({ fleetkitSimFirmware: 1, version: '2.0.1' }, 4096));
    // Act
    const result = await cli(
      'firmware',
      'upload',
      file,
      '--version',
      '2.0.1',
      '--device-types',
      'tracker',
      '--json',
    );
    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ version: '2.0.1', status: 'available' });
    expect(result.err).toMatch(/uploading \[#{30}\] 100 %/);
  }, 60_000);

  it('creates a rollout from a file and shows its waves until it completes', async () => {
    // Prepare
    const request = join(dir, 'rollout.json');
    await writeFile(
      request,
      JSON.stringify({ rolloutId: 'cli-rollout', firmwareVersion: '2.0.0', targets: { percentage: 100 } }),
    );
    // Act
    const created = await cli('rollout', 'create', request);
    await driveRollout(t.platform, 'cli-rollout', (r) => r.status === 'COMPLETED');
    const status = await cli('rollout', 'status', 'cli-rollout');
    // Assess
    expect(created.out).toMatch(/^planning \[#{30}\] 100 % {2}2 eligible of 2 targeted$/m);
    expect(created.out).toContain('rollout cli-rollout is IN_PROGRESS: 2 devices in 1 waves');
    expect(status.out).toContain('cli-rollout  COMPLETED');
    expect(status.out).toMatch(/wave 0 {2}\[#{30}\] 100 % {2}2\/2 succeeded, 2 notified/);
  }, 60_000);

  it('reports a rollout whose planning found no device as the API refusal, with its code', async () => {
    // Prepare: accepted (202, the image exists), but only the registry can say no device matches.
    const request = join(dir, 'rollout-nobody.json');
    await writeFile(
      request,
      JSON.stringify({
        rolloutId: 'cli-nobody',
        firmwareVersion: '2.0.0',
        targets: { things: ['no-such-thing'] },
      }),
    );
    // Act
    const created = await cli('rollout', 'create', request);
    const after = await call(t.platform, 'GET', '/rollouts/cli-nobody');
    // Assess
    expect(created.code).toBe(1);
    expect(created.err).toMatch(/^NoEligibleDevices: no device is eligible for firmware 2\.0\.0: 0 targeted/);
    expect(after.body).toMatchObject({
      status: 'CANCELED',
      planning: { error: { code: 'NoEligibleDevices' } },
    });
  }, 60_000);

  it('sets groups and attributes of a device', async () => {
    // Act
    const result = await cli(
      'devices',
      'set',
      'sim-0001',
      '--groups',
      'pilot',
      '--attr',
      'site=depot-4',
      '--json',
    );
    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toMatchObject({ groups: ['pilot'], attributes: { site: 'depot-4' } });
  });

  it('takes a thing group of the simulated fleet offline, shows it, and brings it back', async () => {
    // Act: sim-0001 is in group pilot (the test before)
    const fault = await cli('sim', 'fault', 'offline', '--groups', 'pilot');
    const held = await eventually(async () => {
      const status = await cli('sim', 'status');
      return status.out.includes('1 held offline') ? status : undefined;
    });
    const listed = await cli('sim', 'faults');
    const cleared = await cli('sim', 'clear', '--all');
    const back = await eventually(async () => {
      const status = await cli('sim', 'status', '--json');
      return JSON.parse(status.out).connected === 2 ? status : undefined;
    }, 15_000);
    // Assess
    expect(fault.out).toMatch(/^fault-[0-9a-f]{8}: offline on 1 devices; clear it with: sim clear fault-/);
    expect(held.out).toContain('2 simulated devices: 2 up, 1 connected, 1 held offline by faults');
    expect(listed.out).toMatch(/fault-[0-9a-f]{8} {2}offline {2}1 devices \(sim-0001\)/);
    expect(cleared.out).toBe('cleared 1 faults\n');
    expect(JSON.parse(back.out)).toMatchObject({ connected: 2, heldOffline: 0 });
  }, 30_000);

  it.each([
    ['an unknown command', ['rollout', 'explode'], 2, /unknown command 'rollout explode'/],
    [
      'a fault of no known kind',
      ['sim', 'fault', 'meteor', '--things', 'sim-0001'],
      2,
      /needs one of offline/,
    ],
    ['a missing option', ['firmware', 'upload', '/nope.bin'], 2, /missing --version/],
    [
      'a refusal of the API, with its code',
      ['rollout', 'resume', 'cli-rollout'],
      1,
      /^InvalidRolloutTransition: cannot resume a COMPLETED rollout/,
    ],
    [
      'an API that is not there',
      ['--api', 'http://127.0.0.1:9', 'fleet', 'health'],
      1,
      /cannot reach http:\/\/127\.0\.0\.1:9 .*npm start/,
    ],
  ])('exits with a clear message on %s', async (_case, argv, code, message) => {
    // Act
    const result = await cli(...argv);
    // Assess
    expect(result.code).toBe(code);
    expect(result.err).toMatch(message);
  });
  it('provisions a device by its CSR, asks it to rotate and revokes it (devices provision | rotate | revoke)', async () => {
    // Prepare: the device makes its key and CSR (the edge agent's provision command)
    const keyFile = join(dir, 'cli-dev.key');
    const csrFile = join(dir, 'cli-dev.csr');
    await runProvision(['csr', '--thing', 'cli-dev', '--key-file', keyFile, '--csr-file', csrFile], {
      env: {},
      out: () => {},
    });
    const answerFile = join(dir, 'cli-dev.json');

    // Act
    const provisioned = await cli(
      'devices',
      'provision',
      'cli-dev',
      '--type',
      'tracker',
      '--csr',
      csrFile,
      '--out',
      answerFile,
    );
    await runProvision(
      [
        'install',
        '--response',
        answerFile,
        '--key-file',
        keyFile,
        '--cert-file',
        join(dir, 'cli-dev.crt'),
        '--ca-file',
        join(dir, 'ca.pem'),
      ],
      { env: {}, out: () => {} },
    );
    const rotate = await cli('devices', 'rotate', 'cli-dev', 'nobody');
    const revoke = await cli('devices', 'revoke', 'cli-dev', '--reason', 'decommissioned');
    const again = await cli('devices', 'revoke', 'cli-dev');

    // Assess
    expect(provisioned).toMatchObject({ code: 0, err: '' });
    expect(provisioned.out).toMatch(/^cli-dev provisioned with certificate [0-9a-f]{64}; endpoint mqtts:/);
    expect(rotate.out).toBe('rotation requested of 1 device(s); not registered: nobody\n');
    expect(revoke.out).toBe('cli-dev: 1 certificate(s) revoked\n');
    expect(again.out).toBe('cli-dev: 0 certificate(s) revoked\n');
    expect((await cli('devices', 'provision', 'cli-dev', '--type', 'tracker', '--csr', csrFile)).code).toBe(
      1,
    );
  });
});
