import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../../lib/protocol/topics.ts';
import { eventually, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';
import { skipWithout } from '../../support/tools.ts';

/**
 * A real MQTT client, not fleetkit's: Eclipse Mosquitto's `mosquitto_sub` and `mosquitto_pub`, holding a
 * device's certificate, receive a command on the seed's `devices/{type}/{id}/commands` over TLS 1.3 and
 * answer it on the sibling topic — and the same client cannot subscribe to another device's commands.
 */
describe.skipIf(skipWithout('mosquitto'))('commands with mosquitto clients', () => {
  const thing = 'cmd-mosquitto';
  let t: TestPlatform;
  let dir: string;
  let tls: string[];
  const children: ChildProcess[] = [];

  /** Runs a mosquitto tool as the device; resolves with its output and exit code once it exits. */
  function run(tool: 'mosquitto_sub' | 'mosquitto_pub', args: readonly string[]) {
    // stdbuf: the tool's stdout is a pipe here, which libc would buffer until exit (the SUBACK line too).
    const child = spawn('stdbuf', ['-oL', tool, ...tls, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
    });
    const exited = new Promise<{ code: number | null; out: string }>((resolve) =>
      child.on('exit', (code) => resolve({ code, out })),
    );
    return { exited, output: () => out };
  }

  beforeAll(async () => {
    t = await startTestPlatform();
    dir = await mkdtemp(join(tmpdir(), 'fleetkit-mosquitto-'));
    const credentials = await t.platform.deviceCredentials(thing, 'tracker');
    await writeFile(join(dir, 'ca.pem'), credentials.caPem);
    await writeFile(join(dir, 'cert.pem'), credentials.certPem);
    await writeFile(join(dir, 'key.pem'), credentials.keyPem);
    const url = new URL(t.platform.mqttUrl);
    tls = [
      ...['-h', url.hostname, '-p', url.port, '-i', thing, '-V', 'mqttv311', '--tls-version', 'tlsv1.3'],
      ...['--cafile', join(dir, 'ca.pem'), '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')],
    ];
    // The device shows up once, so the registry knows its type and that it is awake.
    const status = run('mosquitto_pub', [
      ...['-q', '1', '-t', deviceTopic('status', 'tracker', thing)],
      ...['-m', JSON.stringify({ ts: Date.now(), firmwareVersion: '1.0.0' })],
    ]);
    expect((await status.exited).code).toBe(0);
    await eventually(
      async () => ((await call(t.platform, 'GET', `/devices/${thing}`)).status === 200 ? true : undefined),
      10_000,
    );
  }, 60_000);
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill();
    await t?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('mosquitto_sub receives the request on the seed topic, and mosquitto_pub answers it', async () => {
    // Prepare: subscribed (-d prints the SUBACK) before the command is sent
    const sub = run('mosquitto_sub', [
      '-d',
      '-q',
      '1',
      '-C',
      '1',
      '-t',
      deviceTopic('commands', 'tracker', thing),
    ]);
    await eventually(async () => (/SUBACK/.test(sub.output()) ? true : undefined), 10_000);

    // Act
    const sent = await call(t.platform, 'POST', `/devices/${thing}/commands`, { name: 'ping' });
    const received = await sub.exited;
    const line = received.out.split('\n').find((l) => l.startsWith('{')) ?? '';
    const request = JSON.parse(line);
    const answered = run('mosquitto_pub', [
      ...['-q', '1', '-t', deviceTopic('command-answers', 'tracker', thing)],
      ...[
        '-m',
        JSON.stringify({ executionId: request.executionId, status: 'SUCCEEDED', result: { pong: 1 } }),
      ],
    ]);
    await answered.exited;
    const done = await eventually(async () => {
      const { body } = await call(t.platform, 'GET', `/devices/${thing}/commands/${sent.body.executionId}`);
      return body.status === 'SUCCEEDED' ? body : undefined;
    }, 10_000);

    // Assess
    expect(sent.status).toBe(202);
    expect(received.code).toBe(0);
    expect(request).toMatchObject({ executionId: sent.body.executionId, name: 'ping', parameters: {} });
    expect(done.result).toEqual({ pong: 1 });
  });

  it("is refused another device's commands topic (SUBACK 0x80)", async () => {
    // Act
    const sub = run('mosquitto_sub', [
      '-d',
      '-q',
      '1',
      '-W',
      '5',
      '-t',
      deviceTopic('commands', 'tracker', 'someone-else'),
    ]);
    const { out } = await sub.exited;

    // Assess
    expect(out).toMatch(/SUBACK/);
    expect(out).toMatch(/denied/i);
  });
});
