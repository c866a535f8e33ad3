import { describe, expect, it } from 'vitest';
import { JobsRequestRejectedError, JobsRequestTimeoutError } from '../../../../edge/src/ota/errors.ts';
import { JobsClient } from '../../../../edge/src/ota/jobs-client.ts';
import type { JobsTransport } from '../../../../edge/src/ota/ports.ts';
import { FakeClock, topicMatches } from './support.ts';

/** A transport whose answers the test writes by hand. */
function manualTransport() {
  const published: Array<{ topic: string; body: Record<string, unknown> }> = [];
  let handler: ((topic: string, payload: Uint8Array) => void) | undefined;
  const filters: string[] = [];
  const transport: JobsTransport = {
    subscribe: async (f) => void filters.push(...f),
    publish: async (topic, payload) => void published.push({ topic, body: JSON.parse(payload) }),
    onMessage: (h) => {
      handler = h;
      return () => {
        handler = undefined;
      };
    },
    onConnect: () => () => undefined,
  };
  const send = (topic: string, body: unknown) => {
    if (filters.some((f) => topicMatches(f, topic))) handler?.(topic, Buffer.from(JSON.stringify(body)));
  };
  return { transport, published, send, filters };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('JobsClient', () => {
  it('subscribes to notify-next and the accepted/rejected responses it uses', async () => {
    const { transport, filters } = manualTransport();
    await new JobsClient({ thingName: 't1', transport, clock: new FakeClock() }).open();
    expect(filters).toEqual([
      'fleet/things/t1/jobs/notify-next',
      'fleet/things/t1/jobs/start-next/accepted',
      'fleet/things/t1/jobs/start-next/rejected',
      'fleet/things/t1/jobs/+/get/accepted',
      'fleet/things/t1/jobs/+/get/rejected',
      'fleet/things/t1/jobs/+/update/accepted',
      'fleet/things/t1/jobs/+/update/rejected',
    ]);
  });

  it('matches answers by clientToken, ignoring answers to other requests', async () => {
    const { transport, published, send } = manualTransport();
    const client = new JobsClient({
      thingName: 't1',
      transport,
      clock: { now: Date.now, sleep: () => new Promise(() => undefined) },
    });
    await client.open();
    const pending = client.update('job-1', { status: 'IN_PROGRESS', expectedVersion: 2 });
    await flush();
    const token = published[0]?.body.clientToken;
    send('fleet/things/t1/jobs/job-1/update/accepted', {
      clientToken: 'someone-else',
      executionState: { status: 'IN_PROGRESS', versionNumber: 99 },
    });
    send('fleet/things/t1/jobs/job-1/update/accepted', {
      clientToken: token,
      executionState: { status: 'IN_PROGRESS', versionNumber: 3 },
    });
    expect(await pending).toEqual({ versionNumber: 3 });
    expect(published[0]?.body).toMatchObject({
      status: 'IN_PROGRESS',
      expectedVersion: 2,
      includeJobExecutionState: true,
    });
  });

  it('a rejection becomes JobsRequestRejectedError with the code and execution state', async () => {
    const { transport, published, send } = manualTransport();
    const client = new JobsClient({
      thingName: 't1',
      transport,
      clock: { now: Date.now, sleep: () => new Promise(() => undefined) },
    });
    await client.open();
    const pending = client.update('job-1', { status: 'SUCCEEDED', expectedVersion: 2 });
    await flush();
    send('fleet/things/t1/jobs/job-1/update/rejected', {
      clientToken: published[0]?.body.clientToken,
      code: 'VersionMismatch',
      message: 'stale',
      executionState: { status: 'IN_PROGRESS', versionNumber: 5 },
    });
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobsRequestRejectedError);
    expect(error).toMatchObject({
      code: 'VersionMismatch',
      executionState: { status: 'IN_PROGRESS', versionNumber: 5 },
    });
  });

  it('no answer → JobsRequestTimeoutError', async () => {
    const { transport } = manualTransport();
    const client = new JobsClient({ thingName: 't1', transport, clock: new FakeClock() });
    await client.open();
    await expect(client.startNext()).rejects.toBeInstanceOf(JobsRequestTimeoutError);
  });

  it('start-next with nothing pending → undefined; notify-next is passed on; bad messages are reported, not thrown', async () => {
    const { transport, published, send } = manualTransport();
    const bad: string[] = [];
    const notified: unknown[] = [];
    const client = new JobsClient({
      thingName: 't1',
      transport,
      clock: { now: Date.now, sleep: () => new Promise(() => undefined) },
      onBadMessage: (topic) => bad.push(topic),
    });
    client.onNotifyNext((execution) => notified.push(execution?.jobId));
    await client.open();
    const pending = client.startNext();
    await flush();
    send('fleet/things/t1/jobs/start-next/accepted', {
      clientToken: published[0]?.body.clientToken,
      timestamp: 1,
    });
    send('fleet/things/t1/jobs/notify-next', {
      timestamp: 1,
      execution: { jobId: 'j', status: 'QUEUED', versionNumber: 1 },
    });
    send('fleet/things/t1/jobs/notify-next', { timestamp: 1 });
    send('fleet/things/t1/jobs/notify-next', { execution: { jobId: 'j' } });
    expect(await pending).toBeUndefined();
    expect(notified).toEqual(['j', undefined]);
    expect(bad).toEqual(['fleet/things/t1/jobs/notify-next']);
  });

  it('refuses to send a request the protocol schema rejects (statusDetails over the limit)', async () => {
    const { transport, published } = manualTransport();
    const client = new JobsClient({ thingName: 't1', transport, clock: new FakeClock() });
    await client.open();
    const tooMany = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']));
    await expect(client.update('job-1', { status: 'IN_PROGRESS', statusDetails: tooMany })).rejects.toThrow(
      /at most 10/,
    );
    expect(published).toHaveLength(0);
  });
});
