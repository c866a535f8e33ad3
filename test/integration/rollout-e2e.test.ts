import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cohortOf } from '../../lambdas/domain/rollout/cohort.ts';
import { simulatedInstallFails } from '../../lib/local/sim/firmware-behaviour.ts';
import { simulatedDeviceName } from '../../lib/local/sim/fleet.ts';
import { eventually, type TestPlatform } from '../support/platform.ts';
import {
  call,
  driveRollout,
  type Json,
  publishSimFirmware,
  startRolloutPlatform,
} from '../support/rollouts.ts';

/**
 * Rollouts end to end on the local platform: simulated devices run the edge OTA agent over mutual-TLS
 * MQTT, download from the S3-API server through presigned URLs, verify size, SHA-256 and the ECDSA
 * signature made by the (loopback) KMS key, install on A/B slots and report through the Jobs topics; the
 * scheduler is fired as EventBridge would fire it.
 */

const DEVICES = 18;
const names = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => simulatedDeviceName(from + i));
const firmwareOf = (t: TestPlatform, thing: string) =>
  t.platform.fleet.devices.find((d) => d.thingName === thing)?.firmwareVersion();

describe('rollouts on the local platform with simulated devices', () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await startRolloutPlatform(DEVICES);
    // The version devices run from the factory, registered so a rollback has an image to send.
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '1.0.0' });
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('rolls a good image out wave by wave: the second wave starts only after the first passed its gate', async () => {
    // Prepare
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '2.0.0' });
    const things = names(1, 6);
    // Act
    const created = await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'good-image',
      firmwareVersion: '2.0.0',
      targets: { things },
      waves: { sizes: [34, 100], gate: { successPercentage: 100 } },
    });
    const seen = await driveRollout(t.platform, 'good-image', (r) => r.status === 'COMPLETED');
    // Assess
    expect(created.status).toBe(201);
    expect(created.body.waves.map((w: Json) => w.planned)).toEqual([3, 3]);
    const firstWaveOnly = seen.find((r) => r.waves[0].notified === 3 && r.waves[1].notified === 0);
    expect(firstWaveOnly, 'a snapshot with wave 0 notified and wave 1 not yet').toBeDefined();
    // Wave 1 was offered only once every device of wave 0 had succeeded (the gate's 100 %).
    for (const snapshot of seen.filter((r) => r.waves[1].notified > 0))
      expect(snapshot.waves[0].byStatus.SUCCEEDED).toBe(3);
    const done = seen.at(-1);
    expect(done.progress.byStatus.SUCCEEDED).toBe(6);
    expect(done.progress.notified).toBe(6);
    await eventually(async () =>
      things.every((thing) => firmwareOf(t, thing) === '2.0.0') ? true : undefined,
    );
    expect(names(7, DEVICES).map((thing) => firmwareOf(t, thing))).not.toContain('2.0.0');
  }, 90_000);

  it('stops a rollout whose image fails to install on some devices once the abort threshold is met', async () => {
    // Prepare: a version whose deterministic failures hit at least two of the first wave's three devices.
    const things = names(7, 12);
    const first = [...things].sort((a, b) => cohortOf(a) - cohortOf(b)).slice(0, 3);
    let version = '';
    for (let patch = 0; version === ''; patch++) {
      const manifest = { fleetkitSimFirmware: 1, version: `2.1.${patch}`, installFailRate: 0.5 } as const;
      const fails = (thing: string) =>
        simulatedInstallFails(thing, { ...manifest, healthCheck: 'pass', telemetry: {} });
      if (first.filter(fails).length >= 2) version = manifest.version;
    }
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version, installFailRate: 0.5 });
    // Act
    const created = await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'failing-image',
      firmwareVersion: version,
      targets: { things },
      waves: { sizes: [50, 100], gate: { successPercentage: 0 } },
      abort: {
        criteriaList: [
          { failureType: 'FAILED', thresholdPercentage: 30, minNumberOfExecutedThings: 3, action: 'cancel' },
        ],
      },
    });
    const seen = await driveRollout(t.platform, 'failing-image', (r) => r.status === 'CANCELED');
    // Assess
    expect(created.status).toBe(201);
    const stopped = seen.at(-1);
    expect(stopped.statusReason).toMatch(/^abort: FAILED .* ≥ 30 %/);
    expect(stopped.progress.byStatus.FAILED).toBeGreaterThanOrEqual(2);
    // Nothing is installed on the devices that failed: they still run what they ran.
    const failed = things.filter((thing) =>
      simulatedInstallFails(thing, {
        fleetkitSimFirmware: 1,
        version,
        installFailRate: 0.5,
        healthCheck: 'pass',
        telemetry: {},
      }),
    );
    for (const thing of failed) expect(firmwareOf(t, thing)).toBe('1.0.0');
  }, 90_000);

  it('rolls back an image that installs fine but makes telemetry worse than the control cohort', async () => {
    // Prepare: the image raises every device's anomaly score above the anomaly rule's 0.8. It also raises
    // the security version, so going back below it takes the rollback authorization the scheduler signs.
    await publishSimFirmware(
      t.platform,
      { fleetkitSimFirmware: 1, version: '3.0.0', telemetry: { anomalyScore: 0.95 } },
      ['tracker', 'env-sensor'],
      { securityVersion: 1 },
    );
    const things = names(13, 16);
    // Act
    await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'worse-telemetry',
      firmwareVersion: '3.0.0',
      targets: { things },
      healthGate: {
        metric: 'anomalyRate',
        maxWorsening: { absolute: 10 },
        windowMinutes: 60,
        controlPercentage: 50,
        // 18 device-seconds per cohort. The image's anomaly alert is raised during its trial boot,
        // before the execution succeeds: the gate counts an episode still active at that point.
        minDeviceHours: 0.005,
      },
    });
    const seen = await driveRollout(t.platform, 'worse-telemetry', (r) => r.status === 'ROLLED_BACK', 90_000);
    // Assess
    const rolledBack = seen.at(-1);
    expect(rolledBack.statusReason).toMatch(/^health gate failed: anomalyRate/);
    expect(rolledBack.health).toMatchObject({ verdict: 'fail', metric: 'anomalyRate', controlRate: 0 });
    expect(rolledBack.rollbackJobs).toEqual([
      { jobId: 'worse-telemetry-rollback-0', toVersion: '1.0.0', things: 2 },
    ]);
    const rollback = await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/rollouts/worse-telemetry');
      return body;
    });
    expect(rollback.selection).toMatchObject({ eligible: 4, control: 2 });
    // The updated devices go back to the old image, through the same verified install path.
    await eventually(
      async () => (things.every((thing) => firmwareOf(t, thing) === '1.0.0') ? true : undefined),
      30_000,
    );
    // Those that ran 3.0.0 keep its floor, and remember the authorization they used once their rollback
    // committed (the control cohort never committed anything, so it has no trust file).
    const readTrusts = () =>
      Promise.all(
        things.map((thing) =>
          readFile(join(t.dataDir, 'sim', thing, 'trust.json'), 'utf8').then(JSON.parse, () => undefined),
        ),
      );
    const rolledBackDevices = await eventually(async () => {
      const back = (await readTrusts()).filter((trust) => trust?.usedRollbacks.length === 1);
      return back.length === 2 ? back : undefined;
    }, 30_000);
    for (const trust of rolledBackDevices) expect(trust.floors.firmware).toBe(1);
  }, 120_000);

  it('reports FAILED when the stored image was tampered with after it was signed', async () => {
    // Prepare: flip a byte of the stored object, behind the registry's back.
    const image = await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '4.0.0' });
    const stored = await findStoredObject(join(t.dataDir, 's3'), image.length, image);
    const bytes = await readFile(stored);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    await writeFile(stored, bytes);
    const things = names(17, 18);
    // Act
    await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'tampered-image',
      firmwareVersion: '4.0.0',
      targets: { things },
    });
    const seen = await driveRollout(t.platform, 'tampered-image', (r) => r.status === 'COMPLETED');
    // Assess
    expect(seen.at(-1).progress.byStatus).toMatchObject({ FAILED: 2, SUCCEEDED: 0 });
    for (const thing of things) expect(firmwareOf(t, thing)).toBe('1.0.0');
    const { body } = await call(t.platform, 'GET', '/rollouts/tampered-image/executions?status=FAILED');
    expect(body.executions.map((e: Json) => e.thingName).sort()).toEqual(things);
    for (const execution of body.executions)
      expect(JSON.stringify(execution.statusDetails)).toMatch(/sha-?256|signature/i);
  }, 90_000);

  it('pauses, resumes and cancels on command: nothing is queued while paused, queued executions are canceled', async () => {
    // Prepare: one device a minute, so most of the rollout is still ahead when the commands come.
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '2.5.0' });
    await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'commanded',
      firmwareVersion: '2.5.0',
      targets: { things: names(1, 6) },
      waves: { maximumPerMinute: 1 },
    });
    await t.platform.scheduler.fire('rolloutScheduler');
    // Act
    const paused = await call(t.platform, 'POST', '/rollouts/commanded/pause', { reason: 'support call' });
    await t.platform.scheduler.fire('rolloutScheduler');
    const whilePaused = await call(t.platform, 'GET', '/rollouts/commanded');
    const resumed = await call(t.platform, 'POST', '/rollouts/commanded/resume');
    const canceled = await call(t.platform, 'POST', '/rollouts/commanded/cancel');
    const seen = await driveRollout(t.platform, 'commanded', (r) => r.pendingWork === undefined);
    // Assess
    expect(paused.body).toMatchObject({ status: 'PAUSED', statusReason: 'support call' });
    expect(whilePaused.body.progress.notified).toBe(1);
    expect(resumed.body.status).toBe('IN_PROGRESS');
    expect(canceled.body).toMatchObject({ status: 'CANCELED', pendingWork: { cancelQueued: true } });
    const after = seen.at(-1);
    expect(after.status).toBe('CANCELED');
    expect(after.progress.byStatus.QUEUED).toBe(0);
    expect(after.progress.notified).toBeLessThan(6);
  }, 60_000);

  it.each([
    [
      'unknown firmware',
      { firmwareVersion: '9.9.9', targets: { things: ['sim-0001'] } },
      404,
      'UnknownFirmware',
    ],
    [
      'a device type the image does not fit',
      { firmwareVersion: '2.0.0', deviceType: 'gateway', targets: { things: ['sim-0001'] } },
      400,
      'ImageDoesNotFit',
    ],
    [
      'a downgrade not allowed',
      { firmwareVersion: '1.0.0', targets: { things: ['sim-0001'] } },
      409,
      'NoEligibleDevices',
    ],
    [
      'a misspelt safety setting',
      { firmwareVersion: '2.0.0', targets: { things: ['sim-0001'] }, abbort: {} },
      400,
      'ValidationError',
    ],
  ])('refuses %s with a clear error and creates nothing', async (_case, request, status, code) => {
    // Act
    const before = await call(t.platform, 'GET', '/rollouts?limit=100');
    const refused = await call(t.platform, 'POST', '/rollouts', request);
    const after = await call(t.platform, 'GET', '/rollouts?limit=100');
    // Assess
    expect(refused.status).toBe(status);
    expect(refused.body.code).toBe(code);
    expect(after.body.rollouts.length).toBe(before.body.rollouts.length);
  });

  it('refuses a command the rollout is not in a state for, naming the state', async () => {
    // Act
    const resumed = await call(t.platform, 'POST', '/rollouts/good-image/resume');
    // Assess
    expect(resumed.status).toBe(409);
    expect(resumed.body).toMatchObject({
      code: 'InvalidRolloutTransition',
      details: { status: 'COMPLETED' },
    });
  });

  it('logged no error and dead-lettered nothing on the way', async () => {
    // Prepare
    await t.platform.rules.idle();
    // Assess
    expect(
      t.lines.filter((line) => line.includes('"level":"error"') || line.includes('dead-lettered')),
    ).toEqual([]);
  });
});

/** The file s3rver keeps an object's bytes in: the one of the image's size whose bytes are the image. */
async function findStoredObject(root: string, size: number, image: Buffer): Promise<string> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path);
    if (bytes.length === size && bytes.equals(image)) return path;
  }
  throw new Error(`no stored object of ${size} bytes matches the image under ${root}`);
}
