import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedModel, modelVariant } from '../../edge/model/variant.ts';
import { simulatedDeviceName } from '../../lib/local/sim/fleet.ts';
import { type CliRun, runCliOn } from '../support/cli.ts';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, driveRollout, type Json } from '../support/rollouts.ts';

/**
 * Edge models from the cloud, end to end on the local platform (issue 12, step 4): an operator uploads
 * a model with the CLI (the registry checks it against the device types' feature contract and signs it
 * with the model key), rolls it out with `rollout create --model` through the same waves and health gate
 * as firmware; simulated devices run the edge OTA agent's model-update path (signed manifest, model
 * floor, download, SHA-256, the detector's verified load) and their shadows report the model they
 * serve. A model whose scores run high raises the anomaly rate against the control cohort, and the
 * health gate sends the updated devices back to the model they had.
 */

const DEVICES = 8;
const names = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => simulatedDeviceName(from + i));

describe('model rollouts on the local platform with simulated devices', () => {
  let t: TestPlatform;
  let dir: string;

  function cli(...argv: string[]): Promise<CliRun> {
    return runCliOn(t.platform, argv);
  }

  /** Writes a variant of the committed model and uploads it with the CLI. */
  async function uploadModel(version: string, scoreBias = 0): Promise<CliRun> {
    const file = join(dir, `model-${version}.onnx`);
    await writeFile(file, modelVariant(await committedModel(), { version, scoreBias }));
    return cli('model', 'upload', file, '--version', version, '--device-types', 'tracker,env-sensor');
  }

  /** The model version each thing's shadow reports. */
  async function shadowModels(things: readonly string[]): Promise<(string | undefined)[]> {
    return Promise.all(
      things.map(async (thing) => {
        const { body } = await call(t.platform, 'GET', `/things/${thing}/shadow`);
        return body.state?.reported?.model?.version as string | undefined;
      }),
    );
  }

  /** Writes a rollout request and creates it with `rollout create <file> --model <version>`. */
  async function createRollout(request: Json, model: string) {
    const file = join(dir, `${request.rolloutId}.json`);
    await writeFile(file, JSON.stringify(request));
    return cli('rollout', 'create', file, '--model', model);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetkit-models-'));
    t = await startTestPlatform({
      devices: DEVICES,
      statusEveryMs: 500,
      telemetryEveryMs: 300,
      ota: { healthCheckMs: 300, rebootDelayMs: 50 },
      settings: { ROLLOUT_HEALTH_CHECK_SECONDS: '0' },
    });
    // Rollouts select by the model a device reports: wait until every one has.
    await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/devices?limit=100');
      const reported = (body.devices ?? []).filter((d: Json) => d.modelVersion === '1.0.0');
      return reported.length === DEVICES ? true : undefined;
    }, 30_000);
    // The model the devices ship with, registered so that a rollback has a model to send.
    const factory = await cli(
      'model',
      'upload',
      join(process.cwd(), 'edge/model/anomaly-detector.onnx'),
      '--version',
      '1.0.0',
      '--device-types',
      'tracker,env-sensor',
    );
    expect(factory.err).toBe('');
    expect(factory.code).toBe(0);
  }, 90_000);
  afterAll(async () => {
    await t?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a model that does not fit the device types, and signs one that does with the model key', async () => {
    // Prepare: a file that is no ONNX model, and a model declaring another version than it is uploaded as.
    const junk = join(dir, 'junk.onnx');
    await writeFile(junk, Buffer.from('not a model at all'));
    const mislabelled = join(dir, 'mislabelled.onnx');
    await writeFile(mislabelled, modelVariant(await committedModel(), { version: '9.9.9' }));
    // Act
    const notOnnx = await cli('model', 'upload', junk, '--version', '1.0.1', '--device-types', 'tracker');
    const wrongVersion = await cli(
      'model',
      'upload',
      mislabelled,
      '--version',
      '1.0.2',
      '--device-types',
      'tracker',
    );
    const good = await uploadModel('1.1.0');
    const listed = await cli('model', 'list', '--json');
    const keys = JSON.parse((await cli('firmware', 'keys', '--json')).out).keys as Json[];
    // Assess
    expect(notOnnx.code).toBe(1);
    expect(notOnnx.err).toMatch(/^ModelContract: .*not an ONNX model/);
    expect(wrongVersion.code).toBe(1);
    expect(wrongVersion.err).toMatch(/declares version 9\.9\.9 in its metadata, registered as 1\.0\.2/);
    expect(good.code).toBe(0);
    const models = JSON.parse(listed.out).models as Json[];
    expect(models.map((m) => m.version)).toEqual(['1.1.0', '1.0.0']);
    const signed = models[0];
    expect(signed).toMatchObject({ status: 'available', manifest: { purpose: 'model', version: '1.1.0' } });
    const keyOf = (purpose: string) => keys.find((k) => k.purposes.includes(purpose))?.keyId;
    expect(signed.keyId).toBe(keyOf('model'));
    expect(signed.keyId).not.toBe(keyOf('firmware'));
    // A refused model leaves no registration behind.
    expect((await call(t.platform, 'GET', '/models/1.0.1')).status).toBe(404);
  });

  it('rolls a new model out wave by wave, and each device shadow shows the model it serves', async () => {
    // Prepare
    const things = names(1, 4);
    // Act
    const created = await createRollout(
      {
        rolloutId: 'model-good',
        targets: { things },
        waves: { sizes: [50, 100], gate: { successPercentage: 100 } },
      },
      '1.1.0',
    );
    const seen = await driveRollout(t.platform, 'model-good', (r) => r.status === 'COMPLETED');
    // Assess
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/rollout model-good is .*: 4 devices in 2 waves/);
    expect(seen.find((r) => r.waves[0].notified === 2 && r.waves[1].notified === 0)).toBeDefined();
    for (const snapshot of seen.filter((r) => r.waves[1].notified > 0))
      expect(snapshot.waves[0].byStatus.SUCCEEDED).toBe(2);
    expect(seen.at(-1).progress.byStatus.SUCCEEDED).toBe(4);
    const { body } = await call(t.platform, 'GET', '/rollouts/model-good/executions');
    for (const execution of body.executions)
      expect(execution.statusDetails).toMatchObject({ step: 'committed', modelVersion: '1.1.0' });
    await eventually(async () =>
      (await shadowModels(things)).every((v) => v === '1.1.0') ? true : undefined,
    );
    expect(await shadowModels(names(5, DEVICES))).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);
  }, 90_000);

  it('rolls back a model that makes the anomaly rate worse than the control cohort', async () => {
    // Prepare: the same network with its output bias raised by 20: every window scores near 1, above the
    // anomaly rule's 0.8, on devices whose sensors are as healthy as the control cohort's.
    expect((await uploadModel('1.2.0', 20)).code).toBe(0);
    const things = names(5, 8);
    // Each device scores once its window holds 60 readings (18 s at 300 ms): a gate judging before
    // would judge nothing.
    const scored = () =>
      things.map((thing) => {
        const device = t.platform.fleet.devices.find((d) => d.thingName === thing);
        return device?.agent?.metrics().telemetry.scoredWindows ?? 0;
      });
    await eventually(async () => (scored().every((n) => n > 0) ? true : undefined), 60_000);
    // Act
    const created = await createRollout(
      {
        rolloutId: 'model-worse',
        targets: { things },
        healthGate: {
          metric: 'anomalyRate',
          maxWorsening: { absolute: 10 },
          windowMinutes: 60,
          controlPercentage: 50,
          // 36 device-seconds per cohort: several windows of each updated device scored by the new model.
          minDeviceHours: 0.01,
        },
      },
      '1.2.0',
    );
    const seen = await driveRollout(t.platform, 'model-worse', (r) => r.status === 'ROLLED_BACK', 90_000);
    // Assess
    expect(created.code).toBe(0);
    const rolledBack = seen.at(-1);
    expect(rolledBack.statusReason).toMatch(/^health gate failed: anomalyRate/);
    expect(rolledBack.health).toMatchObject({ verdict: 'fail', metric: 'anomalyRate', controlRate: 0 });
    expect(rolledBack.rollbackJobs).toEqual([
      { jobId: 'model-worse-rollback-0', toVersion: '1.0.0', things: 2 },
    ]);
    // The way back is a model-update job too, authorized for these devices by the rollback key.
    await eventually(async () => {
      const { body } = await call(t.platform, 'GET', '/rollouts/model-worse-rollback-0/executions');
      return body.executions?.length === 2 && body.executions.every((e: Json) => e.status === 'SUCCEEDED')
        ? body.executions
        : undefined;
    }, 30_000);
    await eventually(
      async () => ((await shadowModels(things)).every((v) => v === '1.0.0') ? true : undefined),
      30_000,
    );
  }, 120_000);

  it('logged no error on the way', async () => {
    // Prepare
    await t.platform.rules.idle();
    // Assess
    expect(
      t.lines.filter((line) => line.includes('"level":"error"') || line.includes('dead-lettered')),
    ).toEqual([]);
  });
});
