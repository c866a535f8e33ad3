import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeUplinkBatch } from '../../lib/protocol/uplink/codec.ts';
import { agentEnvironment, collectLogs, REPO } from '../support/edge-agent-process.ts';
import { eventually, getJson, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call } from '../support/rollouts.ts';

/**
 * The agent's entry point (`edge/src/main.ts`) as a device runs it: its own process, settings from the
 * environment, mutual TLS to the local platform with its certificate, the modem emulator behind the
 * real driver, the committed model. What a Greengrass core runs is the same module, bundled.
 */

const THING = 'edge-proc-1';
let t: TestPlatform;
let dir: string;
let agent: ChildProcess;
const logs: Array<Record<string, unknown>> = [];
const batches: number[] = [];

beforeAll(async () => {
  t = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), 'fleetkit-edge-proc-'));
  t.platform.broker.onMessage((message) => {
    if (message.clientId !== THING || !message.topic.endsWith('/telemetry')) return;
    const decoded = decodeUplinkBatch(new Uint8Array(message.payload));
    batches.push(decoded.ok ? decoded.batch.readings.length : -1);
  });
  agent = spawn(process.execPath, ['--import', 'tsx', 'edge/src/main.ts'], {
    cwd: REPO,
    env: await agentEnvironment(t.platform, THING, dir, {
      FLEETKIT_MODEM: 'emulator',
      FLEETKIT_BATCH_SIZE: '3',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  collectLogs(agent, logs);
}, 60_000);

afterAll(async () => {
  if (agent.exitCode === null) agent.kill('SIGKILL');
  await t.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('the edge agent as a process', () => {
  it('starts, registers with its firmware and model, and sends readings in compact batches', async () => {
    // Act
    const device = await eventually(async () => {
      const { status, body } = await getJson(t.platform, `/devices/${THING}`);
      return status === 200 && body.modelVersion !== undefined ? body : undefined;
    }, 30_000);
    await eventually(async () => (batches.length >= 2 ? true : undefined), 30_000);

    // Assess
    expect(device).toMatchObject({ deviceType: 'tracker', firmwareVersion: '1.0.0', modelVersion: '1.0.0' });
    expect(batches.slice(0, 2)).toEqual([3, 3]);
    expect(logs.map((l) => l.event)).toContain('started');
  }, 60_000);

  it('reports its state in the shadow and applies desired settings from the cloud', async () => {
    // Act
    await call(t.platform, 'POST', `/things/${THING}/shadow`, {
      state: { desired: { config: { samplingIntervalS: 2 } } },
    });
    const shadow = await eventually(async () => {
      const { body } = await getJson(t.platform, `/things/${THING}/shadow`);
      return body.state?.reported?.config?.samplingIntervalS === 2 ? body : undefined;
    }, 30_000);

    // Assess
    expect(shadow.state.delta).toBeUndefined();
    expect(shadow.state.reported).toMatchObject({
      firmware: { version: '1.0.0', slot: 'a' },
      model: { version: '1.0.0', inputs: [{ name: 'features', shape: ['batch', 25] }] },
      modem: { bars: expect.any(Number) },
    });
  }, 60_000);

  it('stops cleanly on SIGTERM, with exit code 0', async () => {
    // Act
    const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
    agent.kill('SIGTERM');

    // Assess
    expect(await exited).toBe(0);
    expect(logs.map((l) => l.event)).toContain('stopping');
  }, 30_000);
});
