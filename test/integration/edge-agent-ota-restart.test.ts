import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { agentEnvironment, collectLogs, REPO } from '../support/edge-agent-process.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, driveRollout, publishSimFirmware } from '../support/rollouts.ts';

/**
 * A firmware update end to end through the agent's entry point under the component recipe's own Run
 * script: the OTA agent installs to the other slot and "reboots" by exiting with 75, the Run loop
 * starts it again, the bootloader state boots the new slot on trial, the health check passes, and the
 * agent commits and reports the new version. Only the artifact is a stand-in: `agent.mjs` imports the
 * TypeScript entry (run with tsx) instead of being its bundle.
 */

const THING = 'edge-ota-1';
let t: TestPlatform;
let dir: string;
let run: ChildProcess;
const logs: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  t = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), 'fleetkit-edge-ota-'));
  await mkdir(join(dir, 'artifact', 'fleetkit-edge'), { recursive: true });
  await writeFile(join(dir, 'artifact', 'fleetkit-edge', 'agent.mjs'), `import '${REPO}edge/src/main.ts';\n`);
}, 60_000);

afterAll(async () => {
  if (run !== undefined && run.exitCode === null) run.kill('SIGKILL');
  await t.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function startUnderRecipe(keysFile: string): Promise<void> {
  const recipe = parse(readFileSync(join(REPO, 'edge/recipe.yaml'), 'utf8')) as {
    Lifecycle: { Run: { Script: string } };
  };
  const script = recipe.Lifecycle.Run.Script.replaceAll(
    '{artifacts:decompressedPath}',
    join(dir, 'artifact'),
  ).replaceAll('{work:path}', dir);
  run = spawn('sh', ['-c', script], {
    cwd: REPO,
    env: await agentEnvironment(t.platform, THING, dir, {
      NODE_OPTIONS: '--import tsx',
      FLEETKIT_MODEM: 'none',
      FLEETKIT_FIRMWARE_KEYS_FILE: keysFile,
      FLEETKIT_HEALTH_CHECK_AFTER_S: '2',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  collectLogs(run, logs);
}

describe('a firmware update of the agent under the recipe', () => {
  it('installs, restarts through the Run loop, trial-boots the new slot, commits and reports it', async () => {
    // Prepare: the image, the keys the device trusts (as GET /firmware/keys serves them), the agent
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '1.1.0' }, ['tracker']);
    const { body } = await getJson(t.platform, '/firmware/keys');
    const keys = Object.fromEntries(
      (body.keys as Array<{ keyId: string; publicKeyPem: string }>).map((k) => [k.keyId, k.publicKeyPem]),
    );
    const keysFile = join(dir, 'keys.json');
    await writeFile(keysFile, JSON.stringify(keys));
    await startUnderRecipe(keysFile);
    await eventually(async () => {
      const device = await getJson(t.platform, `/devices/${THING}`);
      return device.status === 200 ? true : undefined;
    }, 30_000);

    // Act
    const created = await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'agent-1-1-0',
      firmwareVersion: '1.1.0',
      targets: { things: [THING] },
    });
    expect(created.status).toBe(201);
    const seen = await driveRollout(t.platform, 'agent-1-1-0', (r) => r.status === 'COMPLETED', 90_000);
    const device = await eventually(async () => {
      const { body: d } = await getJson(t.platform, `/devices/${THING}`);
      return d.firmwareVersion === '1.1.0' ? d : undefined;
    }, 30_000);

    // Assess
    expect(seen.at(-1).progress.byStatus.SUCCEEDED).toBe(1);
    expect(device.firmwareVersion).toBe('1.1.0');
    const events = logs.map((l) => l.event);
    expect(logs.filter((l) => l.event === 'stopping').map((l) => l.code)).toEqual([75]);
    // A clean stop, not the shutdown deadline's exit: the reboot must not wait on the agent it stops.
    expect(events).not.toContain('stop-deadline-passed');
    expect(events).not.toContain('stop-failed');
    expect(events.filter((e) => e === 'started').length).toBeGreaterThanOrEqual(2);
    const starts = logs.filter((l) => l.event === 'started' && l.thingName === THING);
    expect(starts.map((l) => (l.firmware as { version: string }).version)).toEqual(['1.0.0', '1.1.0']);
  }, 150_000);

  it('stops with the agent when the nucleus sends SIGTERM', async () => {
    // Act
    const exited = new Promise<number | null>((resolve) => run.once('exit', (code) => resolve(code)));
    run.kill('SIGTERM');

    // Assess
    expect(await exited).toBe(0);
  }, 30_000);
});
