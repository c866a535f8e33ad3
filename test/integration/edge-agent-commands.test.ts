import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CommandAnswer, commandAnswer } from '../../lib/protocol/commands.ts';
import { agentEnvironment, startAgentProcess } from '../support/edge-agent-process.ts';
import { eventually, startTestPlatform, type TestPlatform } from '../support/platform.ts';

/**
 * Commands to the agent's entry point (`edge/src/main.ts`) as a device runs it: its own process, mutual
 * TLS to the local broker with its device certificate (so the device policy's rules for the commands
 * topic and its answers apply), the modem emulator behind the real driver. The test publishes requests
 * as the platform does (IoT data plane Publish) and reads the answers the device publishes.
 */

const THING = 'edge-cmd-1';
const COMMANDS = `devices/tracker/${THING}/commands`;
let t: TestPlatform;
let dir: string;
let env: Record<string, string>;
let agent: ChildProcess;
const logs: Array<Record<string, unknown>> = [];
const answers: CommandAnswer[] = [];

function startAgent(): ChildProcess {
  return startAgentProcess(env, logs);
}

function send(executionId: string, name: string): Promise<void> {
  const now = Date.now();
  const request = { executionId, name, parameters: {}, issuedAt: now, expiresAt: now + 120_000 };
  return t.platform.broker.publish(COMMANDS, JSON.stringify(request), 1);
}

const answerOf = (executionId: string, status: string) =>
  eventually(async () => answers.find((a) => a.executionId === executionId && a.status === status), 30_000);

beforeAll(async () => {
  t = await startTestPlatform();
  dir = await mkdtemp(join(tmpdir(), 'fleetkit-edge-cmd-'));
  let statuses = 0;
  t.platform.broker.onMessage((message) => {
    if (message.clientId === THING && message.topic.endsWith('/status')) statuses++;
    if (message.clientId !== THING || !message.topic.endsWith('/command-answers')) return;
    answers.push(commandAnswer.parse(JSON.parse(Buffer.from(message.payload).toString('utf8'))));
  });
  env = await agentEnvironment(t.platform, THING, dir, { FLEETKIT_MODEM: 'emulator' });
  agent = startAgent();
  // Listening: started (subscribed, if the link was up), and connected (subscribed again, if it was not).
  await eventually(async () => (statuses > 0 ? logs.find((l) => l.event === 'started') : undefined), 60_000);
}, 90_000);

afterAll(async () => {
  if (agent.exitCode === null) agent.kill('SIGKILL');
  await t.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('commands to the edge agent process', () => {
  it('hears a command on its seed topic and answers on its answers topic', async () => {
    // Act
    await send('proc-ping-1', 'ping');

    // Assess
    expect((await answerOf('proc-ping-1', 'SUCCEEDED')).result).toMatchObject({ pong: true });
  }, 40_000);

  it('answers diagnostics with the modem emulator’s registration and signal through the real driver', async () => {
    // Act: asked again until the emulated modem has registered and the driver has taken it in (it
    // reports `searching` until then; the +CEREG registration can come a poll before the driver's state).
    let asked = 0;
    const answer = await eventually(async () => {
      const id = `proc-diag-${++asked}`;
      await send(id, 'diagnostics');
      const diagnostics = await answerOf(id, 'SUCCEEDED');
      const modem = diagnostics.result?.modem as { registration?: string; state?: string } | undefined;
      return modem?.registration === 'registered-home' && modem.state === 'registered'
        ? diagnostics
        : undefined;
    }, 30_000);

    // Assess
    expect(answer.result).toMatchObject({
      modem: { state: 'registered', registration: 'registered-home', rsrpDbm: expect.any(Number) },
      firmware: { version: '1.0.0' },
      disk: { freeBytes: expect.any(Number) },
    });
  }, 40_000);

  it('reboots through the clean shutdown with exit code 75, and the next run answers SUCCEEDED', async () => {
    // Act
    const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
    await send('proc-reboot-1', 'reboot');
    const code = await exited;
    agent = startAgent();

    // Assess
    expect(code).toBe(75);
    await answerOf('proc-reboot-1', 'SUCCEEDED');
    const mine = answers.filter((a) => a.executionId === 'proc-reboot-1').map((a) => a.status);
    expect(mine).toEqual(['IN_PROGRESS', 'SUCCEEDED']);
  }, 90_000);
});
