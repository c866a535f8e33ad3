import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_SAMPLE_INTERVAL_SECONDS } from '../../../lib/protocol/coap.ts';
import { deviceTopic } from '../../../lib/protocol/topics.ts';
import { executionIn, type HandDevice, handDevice } from '../../support/commands.ts';
import { eventually, startTestPlatform, type TestPlatform } from '../../support/platform.ts';
import { call } from '../../support/rollouts.ts';

/**
 * Commands to one device on the local platform, the device driven by hand over MQTT: the catalog
 * refuses before anything is stored, a device asleep in PSM gets its command when it next shows up, the
 * outcome comes back (and within `?wait`), duplicates and late answers change nothing, an undelivered
 * command ends EXPIRED, and a device cannot answer for another.
 */
const PSM_ONE_SECOND = { enabled: true, periodicTauSeconds: 3_600, activeTimeSeconds: 1 };

describe('commands to one device', () => {
  let t: TestPlatform;
  let awake: HandDevice;
  let sleeper: HandDevice;

  beforeAll(async () => {
    t = await startTestPlatform();
    awake = await handDevice(t.platform, 'cmd-awake', 'tracker', {
      autoAnswer: (request) =>
        request.name === 'ping'
          ? { executionId: request.executionId, status: 'SUCCEEDED', result: { pong: true } }
          : undefined,
    });
    sleeper = await handDevice(t.platform, 'cmd-sleeper', 'env-sensor');
    await awake.status();
    await sleeper.status(PSM_ONE_SECOND);
  }, 60_000);
  afterAll(async () => {
    await awake?.end();
    await sleeper?.end();
    await t?.dispose();
  });

  it.each<[string, unknown, string, RegExp]>([
    ['an unknown command', { name: 'self-destruct' }, 'name', /not a command of device type tracker/],
    [
      'a parameter out of range',
      { name: 'set-interval', parameters: { seconds: 0, for: 60 } },
      'parameters.seconds',
      new RegExp(`>= ${MIN_SAMPLE_INTERVAL_SECONDS}$`),
    ],
    [
      'a parameter the command does not take',
      { name: 'ping', parameters: { loud: true } },
      'parameters.loud',
      /not a parameter/,
    ],
    ['a misspelt option', { name: 'ping', expiresIn: 5 }, '(root)', /expiresIn/],
  ])(
    'refuses %s with 400 naming the field, and sends and stores nothing',
    async (_rule, body, field, reason) => {
      // Prepare
      const heard = awake.requests.length;

      // Act
      const answer = await call(t.platform, 'POST', '/devices/cmd-awake/commands', body);
      await sleep(200);

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.body.issues).toContainEqual({ field, reason: expect.stringMatching(reason) });
      expect(awake.requests.length).toBe(heard);
      const listed = await call(t.platform, 'GET', '/devices/cmd-awake/commands');
      expect(listed.body.executions.filter((e: { name: string }) => e.name !== 'ping')).toEqual([]);
    },
  );

  it('answers 404 for a device not in the registry', async () => {
    const answer = await call(t.platform, 'POST', '/devices/nobody/commands', { name: 'ping' });
    expect(answer.status).toBe(404);
  });

  it('with ?wait returns the outcome when it comes in time, like a direct method', async () => {
    // Act
    const answer = await call(t.platform, 'POST', '/devices/cmd-awake/commands?wait=10', { name: 'ping' });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'SUCCEEDED', result: { pong: true }, deliveries: 1 });
    expect(awake.requests.map((r) => r.executionId)).toContain(answer.body.executionId);
  });

  it('without ?wait answers 202 with the execution id at once', async () => {
    // Act
    const answer = await call(t.platform, 'POST', '/devices/cmd-awake/commands', { name: 'sample-now' });

    // Assess
    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ executionId: expect.any(String), status: 'SENT' });
  });

  it('holds a command for a device asleep in PSM, says when it is expected, and sends it when it shows up', async () => {
    // Prepare: past the one-second active time after its last status
    const lastSeen = Date.parse((await call(t.platform, 'GET', '/devices/cmd-sleeper')).body.lastSeen);
    await sleep(1_200);

    // Act
    const held = await call(t.platform, 'POST', '/devices/cmd-sleeper/commands', { name: 'diagnostics' });
    await sleep(300);
    const heardWhileAsleep = sleeper.requests.length;
    await sleeper.status(PSM_ONE_SECOND);
    const request = await eventually(async () =>
      sleeper.requests.find((r) => r.executionId === held.body.executionId),
    );
    const sent = await executionIn(t.platform, 'cmd-sleeper', held.body.executionId, 'SENT');

    // Assess
    expect(held.status).toBe(202);
    expect(held.body).toMatchObject({ status: 'CREATED', expectedDeliveryAt: lastSeen + 3_600_000 });
    expect(held.body.heldReason).toMatch(/asleep in PSM/);
    expect(heardWhileAsleep).toBe(0);
    expect(request).toMatchObject({ name: 'diagnostics', parameters: {}, expiresAt: held.body.expiresAt });
    expect(sent).not.toHaveProperty('expectedDeliveryAt');
  });

  it('takes the outcome and its result, then counts a duplicate and a late answer without changing anything', async () => {
    // Prepare
    const sent = await call(t.platform, 'POST', '/devices/cmd-awake/commands', { name: 'diagnostics' });
    const { executionId } = sent.body;

    // Act
    await awake.answer({ executionId, status: 'IN_PROGRESS' });
    await executionIn(t.platform, 'cmd-awake', executionId, 'IN_PROGRESS');
    await awake.answer({ executionId, status: 'SUCCEEDED', result: { uptimeSeconds: 5 } });
    await executionIn(t.platform, 'cmd-awake', executionId, 'SUCCEEDED');
    await awake.answer({ executionId, status: 'FAILED', reason: 'a second thought' });
    const after = await eventually(async () => {
      const { body } = await call(t.platform, 'GET', `/devices/cmd-awake/commands/${executionId}`);
      return body.ignoredAnswers === 1 ? body : undefined;
    });

    // Assess
    expect(after).toMatchObject({ status: 'SUCCEEDED', result: { uptimeSeconds: 5 }, ignoredAnswers: 1 });
    expect(after).not.toHaveProperty('reason');
  });

  it('counts a failed outcome in the metrics the failure-rate alarm reads, and a duplicate answer by outcome', async () => {
    // Prepare
    const total = (name: string, dimensions: Record<string, string>) =>
      t.platform.metrics.total(name, { Service: 'commands-mqtt', ...dimensions });
    const failedBefore = total('CommandsFailed', {});
    const endedBefore = total('CommandsEnded', { Status: 'FAILED' });
    const duplicatesBefore = total('CommandAnswers', { Outcome: 'duplicate' });
    const sent = await call(t.platform, 'POST', '/devices/cmd-awake/commands', { name: 'sample-now' });
    const { executionId } = sent.body;

    // Act
    await awake.answer({ executionId, status: 'FAILED', reason: 'sensor bus stuck' });
    await executionIn(t.platform, 'cmd-awake', executionId, 'FAILED');
    await awake.answer({ executionId, status: 'FAILED', reason: 'sensor bus stuck' });
    await eventually(async () =>
      total('CommandAnswers', { Outcome: 'duplicate' }) > duplicatesBefore ? true : undefined,
    );

    // Assess
    expect(total('CommandsFailed', {}) - failedBefore).toBe(1);
    expect(total('CommandsEnded', { Status: 'FAILED' }) - endedBefore).toBe(1);
    expect(total('CommandAnswers', { Outcome: 'duplicate' }) - duplicatesBefore).toBe(1);
  });

  it('ends a command EXPIRED when its device did not show up before it expired, never silently', async () => {
    // Prepare
    await sleep(1_100);
    const held = await call(t.platform, 'POST', '/devices/cmd-sleeper/commands', {
      name: 'ping',
      expiresInSeconds: 1,
    });
    await sleep(1_100);

    // Act
    await t.platform.scheduler.fire('commandsScheduler');
    const expired = await executionIn(t.platform, 'cmd-sleeper', held.body.executionId, 'EXPIRED');
    await sleeper.answer({ executionId: held.body.executionId, status: 'SUCCEEDED' });
    const late = await eventually(async () => {
      const { body } = await call(
        t.platform,
        'GET',
        `/devices/cmd-sleeper/commands/${held.body.executionId}`,
      );
      return body.ignoredAnswers === 1 ? body : undefined;
    });

    // Assess
    expect(held.body.status).toBe('CREATED');
    expect(expired.reason).toMatch(/not delivered before it expired/);
    expect(late.status).toBe('EXPIRED');
    expect(sleeper.requests.map((r) => r.executionId)).not.toContain(held.body.executionId);
  });

  it("lets no device answer for another, nor hear another's commands", async () => {
    // Prepare
    const sent = await call(t.platform, 'POST', '/devices/cmd-awake/commands', { name: 'sample-now' });
    const { executionId } = sent.body;
    const intruder = await handDevice(t.platform, 'cmd-intruder', 'tracker');
    const subscribed = await intruder.client
      .subscribeAsync(deviceTopic('commands', 'tracker', 'cmd-awake'), { qos: 1 })
      .then(
        () => 'granted',
        () => 'refused (SUBACK 0x80)',
      );

    // Act: its own answers topic, naming the other's execution; then the other's topic
    await intruder.answer({ executionId, status: 'FAILED', reason: 'not mine' });
    await t.platform.rules.idle();
    const closed = new Promise((resolve) => intruder.client.once('close', () => resolve('closed')));
    intruder.client.publish(
      deviceTopic('command-answers', 'tracker', 'cmd-awake'),
      JSON.stringify({ executionId, status: 'FAILED' }),
      { qos: 1 },
    );

    // Assess
    expect(subscribed).toBe('refused (SUBACK 0x80)');
    expect(await closed).toBe('closed');
    await t.platform.rules.idle();
    const execution = await call(t.platform, 'GET', `/devices/cmd-awake/commands/${executionId}`);
    expect(execution.body).toMatchObject({ status: 'SENT', ignoredAnswers: 0 });
    expect(t.platform.denials).toContainEqual(
      expect.objectContaining({
        clientId: 'cmd-intruder',
        action: 'Publish',
        resource: deviceTopic('command-answers', 'tracker', 'cmd-awake'),
      }),
    );
    // endAsync never settles on a client the broker closed: force it.
    intruder.client.end(true);
  });

  it('lists a device’s executions newest first, and by status', async () => {
    // Act
    const all = await call(t.platform, 'GET', '/devices/cmd-awake/commands');
    const succeeded = await call(t.platform, 'GET', '/devices/cmd-awake/commands?status=SUCCEEDED');

    // Assess
    const created = all.body.executions.map((e: { createdAt: number }) => e.createdAt);
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect(succeeded.body.executions.length).toBeGreaterThanOrEqual(2);
    expect(succeeded.body.executions.every((e: { status: string }) => e.status === 'SUCCEEDED')).toBe(true);
  });
});
