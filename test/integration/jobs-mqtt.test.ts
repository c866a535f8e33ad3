import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deviceTopic } from '../../lib/protocol/topics.ts';
import { connectDevice, eventually, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, type Json, publishSimFirmware } from '../support/rollouts.ts';

/**
 * The AWS IoT Jobs device API over MQTT on the local platform, driven by hand as a device would: the
 * answers, the error codes, and that a refused request changes nothing.
 */

const THING = 'jobs-dev-1';
const root = `fleet/things/${THING}/jobs`;

describe('jobs MQTT API', () => {
  let t: TestPlatform;
  let device: MqttClient;
  const inbox: { topic: string; body: Json }[] = [];

  /** Publishes a request and waits for its answer on `/accepted` or `/rejected`. */
  async function request(topic: string, body: unknown): Promise<{ topic: string; body: Json }> {
    const clientToken = `token-${inbox.length}-${Math.random().toString(36).slice(2)}`;
    const from = inbox.length;
    await device.publishAsync(
      `${root}/${topic}`,
      typeof body === 'string' ? body : JSON.stringify({ ...(body as object), clientToken }),
      { qos: 1 },
    );
    return eventually(async () =>
      inbox
        .slice(from)
        .find(
          (m) =>
            (m.topic === `${root}/${topic}/accepted` || m.topic === `${root}/${topic}/rejected`) &&
            (typeof body === 'string' || m.body.clientToken === clientToken),
        ),
    );
  }

  beforeAll(async () => {
    t = await startTestPlatform();
    device = await connectDevice(t.platform, THING, 'tracker');
    // The device hears its own requests too (it subscribes to jobs/#): only answers are JSON for sure.
    device.on('message', (topic, payload) => {
      if (/\/(accepted|rejected|notify-next)$/.test(topic))
        inbox.push({ topic, body: JSON.parse(payload.toString()) });
    });
    await device.subscribeAsync(`${root}/#`, { qos: 1 });
    await device.publishAsync(
      deviceTopic('status', 'tracker', THING),
      JSON.stringify({ ts: Date.now(), firmwareVersion: '1.0.0' }),
      { qos: 1 },
    );
    await eventually(async () =>
      (await call(t.platform, 'GET', `/devices/${THING}`)).status === 200 ? true : undefined,
    );
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '2.0.0' });
    const created = await call(t.platform, 'POST', '/rollouts', {
      rolloutId: 'jobs-api',
      firmwareVersion: '2.0.0',
      targets: { things: [THING] },
    });
    expect(created.status).toBe(201);
    await t.platform.scheduler.fire('rolloutScheduler');
  }, 60_000);
  afterAll(async () => {
    await device?.endAsync();
    await t?.dispose();
  });

  it('notifies the device of its next job, with a job document it can act on', async () => {
    // Act
    const notified = await eventually(async () => inbox.find((m) => m.topic === `${root}/notify-next`));
    // Assess
    expect(notified.body.execution).toMatchObject({
      jobId: 'jobs-api',
      thingName: THING,
      status: 'QUEUED',
      versionNumber: 1,
      executionNumber: 1,
      jobDocument: {
        operation: 'firmware-update',
        firmware: { version: '2.0.0', signatureAlgorithm: 'ECDSA_SHA_256' },
      },
    });
    expect(notified.body.execution.jobDocument.firmware.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
  });

  it('lists pending executions, starts the next one, and refuses a stale expectedVersion with the state', async () => {
    // Act
    const pending = await request('get', {});
    const started = await request('start-next', { statusDetails: { step: 'downloading' } });
    const stale = await request('jobs-api/update', { status: 'IN_PROGRESS', expectedVersion: 1 });
    // Assess
    expect(pending.topic).toBe(`${root}/get/accepted`);
    expect(pending.body.queuedJobs.map((j: Json) => j.jobId)).toEqual(['jobs-api']);
    expect(started.body.execution).toMatchObject({ status: 'IN_PROGRESS', versionNumber: 2 });
    expect(stale.topic).toBe(`${root}/jobs-api/update/rejected`);
    expect(stale.body).toMatchObject({
      code: 'VersionMismatch',
      executionState: { status: 'IN_PROGRESS', versionNumber: 2, statusDetails: { step: 'downloading' } },
    });
  });

  it('accepts SUCCEEDED at the right version, then refuses a move out of a terminal state, changing nothing', async () => {
    // Act
    const done = await request('jobs-api/update', {
      status: 'SUCCEEDED',
      expectedVersion: 2,
      includeJobExecutionState: true,
    });
    const reopened = await request('jobs-api/update', { status: 'IN_PROGRESS' });
    const described = await request('jobs-api/get', {});
    // Assess
    expect(done.body.executionState).toMatchObject({ status: 'SUCCEEDED', versionNumber: 3 });
    expect(reopened.topic).toBe(`${root}/jobs-api/update/rejected`);
    expect(reopened.body.code).toBe('InvalidStateTransition');
    expect(described.body.execution).toMatchObject({ status: 'SUCCEEDED', versionNumber: 3 });
    const { body } = await call(t.platform, 'GET', '/rollouts/jobs-api');
    expect(body.progress.byStatus).toMatchObject({ SUCCEEDED: 1, IN_PROGRESS: 0, QUEUED: 0 });
  });

  it.each([
    ['a status devices may not set', 'jobs-api/update', { status: 'CANCELED' }, 'InvalidRequest'],
    ['an unknown job', 'nope/get', {}, 'ResourceNotFound'],
    ['a payload that is not JSON', 'get', '{"clientToken":', 'InvalidJson'],
  ])('refuses %s with %s', async (_case, topic, body, code) => {
    // Act
    const answer = await request(topic, body);
    // Assess
    expect(answer.topic).toBe(`${root}/${topic}/rejected`);
    expect(answer.body.code).toBe(code);
  });

  it('ignores its own notifications and responses, which the rules also match: nothing is dead-lettered', async () => {
    // Prepare: notify-next was published at least once, and answers on jobs/+/accepted.
    await t.platform.rules.idle();
    // Assess
    expect(inbox.some((m) => m.topic === `${root}/notify-next`)).toBe(true);
    expect(t.lines.filter((line) => line.includes('dead-lettered'))).toEqual([]);
  });
});
