import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CommandHandler, CommandOutcome } from '../../../../edge/src/commands/edge-commands.ts';
import { EXECUTIONS_FILE } from '../../../../edge/src/commands/execution-store.ts';
import { FakeClock } from '../ota/support.ts';
import { until } from '../shadow/support.ts';
import { ManualClock } from '../uplink/support.ts';
import {
  answersOn,
  COMMANDS_TOPIC,
  DEVICE,
  MemoryBroker,
  openCommands,
  removeDirs,
  request,
  tempDir,
} from './support.ts';

afterEach(removeDirs);

/** Handlers that record each call and answer as told. */
function recording(
  outcome: (name: string) => CommandOutcome = () => ({ status: 'SUCCEEDED', result: { ok: 1 } }),
) {
  const calls: Array<{ name: string; parameters: Record<string, unknown> }> = [];
  const handler =
    (name: string): CommandHandler =>
    async (parameters) => {
      calls.push({ name, parameters });
      return outcome(name);
    };
  const handlers = Object.fromEntries(
    ['ping', 'sample-now', 'set-interval', 'diagnostics', 'reboot'].map((name) => [name, handler(name)]),
  );
  return { calls, handlers };
}

async function rig(options: { outcome?: (name: string) => CommandOutcome; connected?: boolean } = {}) {
  const directory = await tempDir();
  const broker = new MemoryBroker();
  const transport = broker.attach(DEVICE, { connected: options.connected ?? true });
  const clock = new FakeClock();
  const { calls, handlers } = recording(options.outcome);
  const logs: string[] = [];
  const commands = await openCommands({
    directory,
    transport,
    clock,
    handlers,
    log: (event) => logs.push(event),
  });
  await commands.start();
  const send = async (payload: unknown) => {
    broker.publish(COMMANDS_TOPIC, typeof payload === 'string' ? payload : JSON.stringify(payload));
    await until(() => commands.metrics().received > received, 'the request to arrive');
    received = commands.metrics().received;
    await commands.idle();
  };
  let received = 0;
  return { directory, broker, transport, clock, calls, handlers, commands, send, logs };
}

describe('EdgeCommands', () => {
  it('runs a command it hears on its commands topic and answers SUCCEEDED with the result', async () => {
    // Arrange
    const { broker, clock, calls, commands, send } = await rig();

    // Act
    await send(request(clock.now(), { executionId: 'ping-1', name: 'ping' }));
    await until(() => answersOn(broker).length === 1, 'the answer');
    await commands.stop();

    // Assess
    expect(calls).toEqual([{ name: 'ping', parameters: {} }]);
    expect(answersOn(broker)).toEqual([
      { executionId: 'ping-1', status: 'SUCCEEDED', result: { ok: 1 }, answeredAt: expect.any(Number) },
    ]);
  });

  it('refuses a command not in the catalog with REJECTED and the reason, without running anything', async () => {
    // Arrange
    const { broker, clock, calls, commands, send } = await rig();

    // Act
    await send(request(clock.now(), { executionId: 'x-1', name: 'self-destruct' }));
    await until(() => answersOn(broker).length === 1, 'the answer');
    await commands.stop();

    // Assess
    expect(calls).toEqual([]);
    const [answer] = answersOn(broker);
    expect(answer).toMatchObject({ executionId: 'x-1', status: 'REJECTED' });
    expect(answer?.reason).toMatch(/^name: 'self-destruct' is not a command of device type env-sensor/);
    expect(commands.metrics()).toMatchObject({ rejected: 1, executed: 0 });
  });

  it("checks parameters with the catalog's schema and names the field at fault", async () => {
    // Arrange
    const { broker, clock, calls, commands, send } = await rig();

    // Act
    await send(
      request(clock.now(), { executionId: 's-1', name: 'set-interval', parameters: { seconds: 0, for: 60 } }),
    );
    await send(
      request(clock.now(), { executionId: 's-2', name: 'set-interval', parameters: { secs: 5, for: 60 } }),
    );
    await until(() => answersOn(broker).length === 2, 'two answers');
    await commands.stop();

    // Assess
    expect(calls).toEqual([]);
    const [first, second] = answersOn(broker);
    expect(first).toMatchObject({ executionId: 's-1', status: 'REJECTED' });
    expect(first?.reason).toMatch(/^parameters\.seconds: must be >= /);
    expect(second?.reason).toContain('parameters.secs: is not a parameter of set-interval');
  });

  it('answers REJECTED to a request that fails the protocol schema, and drops one it cannot answer', async () => {
    // Arrange
    const { broker, clock, calls, commands, send } = await rig();

    // Act
    await send({ executionId: 'bad-1', name: 'ping', issuedAt: clock.now(), expiresAt: clock.now() - 5 });
    await send('not json at all');
    await until(() => answersOn(broker).length === 1, 'the answer');
    await commands.stop();

    // Assess
    expect(calls).toEqual([]);
    expect(answersOn(broker)).toHaveLength(1);
    expect(answersOn(broker)[0]).toMatchObject({ executionId: 'bad-1', status: 'REJECTED' });
    expect(answersOn(broker)[0]?.reason).toContain('expiresAt: must be after issuedAt');
    expect(commands.metrics()).toMatchObject({ unreadable: 1, rejected: 1 });
  });

  it('answers IN_PROGRESS before the outcome of a long-running command', async () => {
    // Arrange
    const { broker, clock, commands, send } = await rig();

    // Act
    await send(request(clock.now(), { executionId: 'd-1', name: 'diagnostics' }));
    await send(request(clock.now(), { executionId: 'p-1', name: 'ping' }));
    await until(() => answersOn(broker).length === 3, 'three answers');
    await commands.stop();

    // Assess: ping is short, so it gets no IN_PROGRESS.
    expect(answersOn(broker).map((a) => `${a.executionId} ${a.status}`)).toEqual([
      'd-1 IN_PROGRESS',
      'd-1 SUCCEEDED',
      'p-1 SUCCEEDED',
    ]);
  });

  it('answers FAILED with the error when a command throws', async () => {
    // Arrange
    const { broker, clock, commands, send } = await rig({
      outcome: () => {
        throw new Error('sensor bus timed out');
      },
    });

    // Act
    await send(request(clock.now(), { executionId: 'f-1', name: 'sample-now' }));
    await until(() => answersOn(broker).length === 1, 'the answer');
    await commands.stop();

    // Assess
    expect(answersOn(broker)[0]).toMatchObject({
      executionId: 'f-1',
      status: 'FAILED',
      reason: 'sensor bus timed out',
    });
  });

  it('answers FAILED rather than a result over 4 KB, which the protocol refuses', async () => {
    // Arrange
    const { broker, clock, commands, send } = await rig({
      outcome: () => ({ status: 'SUCCEEDED', result: { blob: 'x'.repeat(5000) } }),
    });

    // Act
    await send(request(clock.now(), { executionId: 'big-1', name: 'ping' }));
    await until(() => answersOn(broker).length === 1, 'the answer');
    await commands.stop();

    // Assess
    const [answer] = answersOn(broker);
    expect(answer).toMatchObject({ executionId: 'big-1', status: 'FAILED' });
    expect(answer?.reason).toMatch(/more than the 4096 an answer may carry/);
    expect(answer?.result).toBeUndefined();
  });

  it('ignores a command past its expiresAt: nothing runs, nothing is answered', async () => {
    // Arrange
    const { broker, clock, calls, commands, send } = await rig();
    const now = clock.now();

    // Act
    await send(request(now, { executionId: 'late-1', issuedAt: now - 60_000, expiresAt: now - 1 }));
    await send(request(clock.now(), { executionId: 'on-time', name: 'ping' }));
    await until(() => answersOn(broker).length === 1, 'the on-time answer');
    await commands.stop();

    // Assess
    expect(calls.map((c) => c.name)).toEqual(['ping']);
    expect(answersOn(broker).map((a) => a.executionId)).toEqual(['on-time']);
    expect(commands.metrics().expired).toBe(1);
  });

  it('runs a redelivered execution id once, also after a restart', async () => {
    // Arrange
    const { directory, broker, transport, clock, calls, handlers, commands, send } = await rig();
    const ping = request(clock.now(), { executionId: 'dup-1', name: 'ping' });

    // Act
    await send(ping);
    await send(ping);
    await until(() => answersOn(broker).length === 1, 'the answer');
    await commands.stop();
    const again = await openCommands({ directory, transport, clock, handlers });
    await again.start();
    broker.publish(COMMANDS_TOPIC, JSON.stringify(ping));
    await until(() => again.metrics().received === 1, 'the redelivery after the restart');
    await again.idle();
    await again.stop();

    // Assess
    expect(calls).toHaveLength(1);
    expect(answersOn(broker)).toHaveLength(1);
    expect(again.metrics().duplicates).toBe(1);
    const stored = JSON.parse(await readFile(join(directory, EXECUTIONS_FILE), 'utf8'));
    expect(stored.executions['dup-1']).toMatchObject({ name: 'ping', state: 'done' });
  });

  it('after a restart, answers SUCCEEDED for the reboot that caused it and FAILED for what it cut short, running neither again', async () => {
    // Arrange: a reboot the last run restarted for, and a sample cut short by a crash.
    const { directory, broker, transport, clock, calls, handlers, commands, send } = await rig({
      outcome: (name) =>
        name === 'reboot' ? { status: 'RESTARTING' } : { status: 'SUCCEEDED', result: { ok: 1 } },
    });
    await send(request(clock.now(), { executionId: 'boot-1', name: 'reboot' }));
    await commands.stop();
    const stored = JSON.parse(await readFile(join(directory, EXECUTIONS_FILE), 'utf8'));
    stored.executions['sample-1'] = {
      name: 'sample-now',
      expiresAt: clock.now() + 60_000,
      state: 'started',
      at: clock.now(),
    };
    await writeFile(join(directory, EXECUTIONS_FILE), JSON.stringify(stored));

    // Act
    const again = await openCommands({ directory, transport, clock, handlers });
    await again.start();
    await until(() => answersOn(broker).length === 3, 'the answers for the last run');
    await again.stop();

    // Assess
    expect(calls.map((c) => c.name)).toEqual(['reboot']);
    const answers = answersOn(broker).map((a) => [a.executionId, a.status, a.reason]);
    expect(answers).toEqual([
      ['boot-1', 'IN_PROGRESS', undefined],
      ['boot-1', 'SUCCEEDED', undefined],
      ['sample-1', 'FAILED', 'interrupted: the agent restarted while running it'],
    ]);
  });

  it('keeps answers given while offline on disk and sends them once the link is back, across a restart', async () => {
    // Arrange: the link drops while the command runs; the clock never ends a backoff by itself.
    const directory = await tempDir();
    const broker = new MemoryBroker();
    const transport = broker.attach(DEVICE);
    const clock = new ManualClock();
    let runs = 0;
    const handlers: Record<string, CommandHandler> = {
      ping: async () => {
        runs++;
        transport.disconnect();
        return { status: 'SUCCEEDED', result: { pong: true } };
      },
    };
    const first = await openCommands({ directory, transport, clock, handlers });
    await first.start();

    // Act: answered while down, the agent restarts while still down, then the link comes back.
    broker.publish(
      COMMANDS_TOPIC,
      JSON.stringify(request(clock.now(), { executionId: 'off-1', name: 'ping' })),
    );
    await until(() => first.metrics().answersQueued === 1, 'the answer to be queued');
    await until(() => first.outbox.metrics().sender.failedPublishes > 0, 'a failed publish');
    const queuedWhileDown = first.outbox.metrics().queue.queuedRecords;
    await first.stop();
    const second = await openCommands({ directory, transport, clock, handlers });
    await second.start();
    await until(
      () => second.outbox.metrics().sender.failedPublishes > 0,
      'a failed publish after the restart',
    );
    transport.connect();
    await until(() => answersOn(broker).length === 1, 'the answer once the link is back');
    await second.stop();

    // Assess
    expect(runs).toBe(1);
    expect(queuedWhileDown).toBe(1);
    expect(answersOn(broker)).toEqual([
      { executionId: 'off-1', status: 'SUCCEEDED', result: { pong: true }, answeredAt: clock.now() },
    ]);
  });
});
