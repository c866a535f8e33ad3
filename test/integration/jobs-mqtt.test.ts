import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firmwareJobDocument } from '../../lib/protocol/jobs.ts';
import { deviceTopic } from '../../lib/protocol/topics.ts';
import sdk from '../fixtures/jobs/embedded-sdk-requests.json' with { type: 'json' };
import { connectDevice, eventually, startTestPlatform, type TestPlatform } from '../support/platform.ts';
import { call, driveRollout, type Json, publishSimFirmware } from '../support/rollouts.ts';

/**
 * The AWS IoT Jobs device API over MQTT on the local platform, driven by hand as a device would: the
 * answers, the error codes, and that a refused request changes nothing.
 */

const THING = 'jobs-dev-1';
const root = `fleet/things/${THING}/jobs`;

/** A connected device with a firmware job queued for it, and what it heard on its jobs topics. */
interface JobsDevice {
  readonly client: MqttClient;
  readonly inbox: { topic: string; body: Json }[];
  /**
   * Publishes a request and waits for its answer on `/accepted` or `/rejected`. An object gets a
   * fresh clientToken and its answer is matched by it; a string is sent as it is, byte for byte.
   */
  request(topic: string, body: unknown): Promise<{ topic: string; body: Json }>;
}

/** Connects `thing` as a device that reports firmware 1.0.0, and queues it a rollout to 2.0.0. */
async function jobsDevice(t: TestPlatform, thing: string, rolloutId: string): Promise<JobsDevice> {
  const base = `fleet/things/${thing}/jobs`;
  const client = await connectDevice(t.platform, thing, 'tracker');
  const inbox: { topic: string; body: Json }[] = [];
  // The device hears its own requests too (it subscribes to jobs/#): only answers are JSON for sure.
  client.on('message', (topic, payload) => {
    if (/\/(accepted|rejected|notify-next)$/.test(topic))
      inbox.push({ topic, body: JSON.parse(payload.toString()) });
  });
  await client.subscribeAsync(`${base}/#`, { qos: 1 });
  await client.publishAsync(
    deviceTopic('status', 'tracker', thing),
    JSON.stringify({ ts: Date.now(), firmwareVersion: '1.0.0' }),
    { qos: 1 },
  );
  await eventually(async () =>
    (await call(t.platform, 'GET', `/devices/${thing}`)).status === 200 ? true : undefined,
  );
  const created = await call(t.platform, 'POST', '/rollouts', {
    rolloutId,
    firmwareVersion: '2.0.0',
    targets: { things: [thing] },
  });
  expect(created.status).toBe(201);
  await t.platform.scheduler.fire('rolloutScheduler');
  return {
    client,
    inbox,
    async request(topic, body) {
      const clientToken = `token-${inbox.length}-${Math.random().toString(36).slice(2)}`;
      const from = inbox.length;
      await client.publishAsync(
        `${base}/${topic}`,
        typeof body === 'string' ? body : JSON.stringify({ ...(body as object), clientToken }),
        { qos: 1 },
      );
      return eventually(async () =>
        inbox
          .slice(from)
          .find(
            (m) =>
              (m.topic === `${base}/${topic}/accepted` || m.topic === `${base}/${topic}/rejected`) &&
              (typeof body === 'string' || m.body.clientToken === clientToken),
          ),
      );
    },
  };
}

describe('jobs MQTT API', () => {
  let t: TestPlatform;
  let device: JobsDevice;
  let inbox: JobsDevice['inbox'];
  const request = (topic: string, body: unknown) => device.request(topic, body);

  beforeAll(async () => {
    t = await startTestPlatform();
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '2.0.0' });
    device = await jobsDevice(t, THING, 'jobs-api');
    inbox = device.inbox;
  }, 60_000);
  afterAll(async () => {
    await device?.client.endAsync();
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
        firmware: {
          manifest: { purpose: 'firmware', version: '2.0.0' },
          envelope: { payloadType: 'application/vnd.fleetkit.statement+json' },
        },
      },
    });
    expect(firmwareJobDocument.safeParse(notified.body.execution.jobDocument).success).toBe(true);
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

describe('jobs MQTT API, driven with the payloads of AWS’s embedded Jobs library (FreeRTOS devices)', () => {
  const thing = 'jobs-freertos-1';
  const base = `fleet/things/${thing}/jobs`;
  let t: TestPlatform;
  let device: JobsDevice;

  beforeAll(async () => {
    t = await startTestPlatform();
    await publishSimFirmware(t.platform, { fleetkitSimFirmware: 1, version: '2.0.0' });
    device = await jobsDevice(t, thing, 'jobs-freertos');
  }, 60_000);
  afterAll(async () => {
    await device?.client.endAsync();
    await t?.dispose();
  });

  it('takes its quoted expectedVersion through a whole job, and refuses a stale one with the state', async () => {
    // Act: the library's messages, byte for byte, in the order an OTA agent sends them
    const started = await device.request('start-next', sdk.startNext);
    const inProgress = await device.request('jobs-freertos/update', sdk.inProgress);
    const progress = await device.request('jobs-freertos/update', sdk.progressWithDetails);
    const succeeded = await device.request('jobs-freertos/update', sdk.succeeded);
    const stale = await device.request('jobs-freertos/update', sdk.staleVersion);

    // Assess
    expect(started.body.execution).toMatchObject({ status: 'IN_PROGRESS', versionNumber: 2 });
    expect([inProgress, progress, succeeded].map((answer) => answer.topic)).toEqual(
      Array(3).fill(`${base}/jobs-freertos/update/accepted`),
    );
    expect(stale.topic).toBe(`${base}/jobs-freertos/update/rejected`);
    expect(stale.body).toMatchObject({
      code: 'VersionMismatch',
      executionState: { status: 'SUCCEEDED', versionNumber: 5, statusDetails: { progress: '50%' } },
    });
    const { body } = await call(t.platform, 'GET', '/rollouts/jobs-freertos');
    expect(body.progress.byStatus).toMatchObject({ SUCCEEDED: 1, IN_PROGRESS: 0, QUEUED: 0 });
  });

  it('sends the execution state with InvalidStateTransition, and not with TerminalStateReached or ResourceNotFound', async () => {
    // Prepare: a second device whose execution the operator cancels while it is still queued
    const other = await jobsDevice(t, 'jobs-freertos-2', 'jobs-freertos-canceled');
    expect((await call(t.platform, 'POST', '/rollouts/jobs-freertos-canceled/cancel')).status).toBe(200);
    await driveRollout(t.platform, 'jobs-freertos-canceled', (r) => r.pendingWork === undefined);

    // Act: the library's update without a version (only statusDetails), on a finished and on a canceled
    // execution; then a version update for a job that does not exist
    const finished = await device.request('jobs-freertos/update', sdk.failedWithDetailsOnly);
    const canceled = await other.request('jobs-freertos-canceled/update', sdk.failedWithDetailsOnly);
    const unknown = await device.request('nope/update', sdk.inProgress);
    await other.client.endAsync();

    // Assess
    expect(finished.body).toMatchObject({
      code: 'InvalidStateTransition',
      executionState: { status: 'SUCCEEDED' },
    });
    expect(canceled.body.code).toBe('TerminalStateReached');
    expect(canceled.body).not.toHaveProperty('executionState');
    expect(unknown.body.code).toBe('ResourceNotFound');
    expect(unknown.body).not.toHaveProperty('executionState');
  }, 60_000);
});
