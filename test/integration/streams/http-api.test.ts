import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TopicLogRecordProducer,
  TopicLogRequestError,
} from '../../../lambdas/adapters/topic-log-record-producer.ts';
import type { ConsumedRecord } from '../../../lib/local/streams/backend.ts';
import { EmbeddedLog } from '../../../lib/local/streams/embedded-log.ts';
import { InvalidStreamOptionError } from '../../../lib/local/streams/errors.ts';
import { startTopicLogApi, type TopicLogApi } from '../../../lib/local/streams/http-api.ts';
import { partitionForKey } from '../../../lib/local/streams/murmur2.ts';

describe('topic log HTTP API and TopicLogRecordProducer', () => {
  let dir: string;
  let log: EmbeddedLog;
  let api: TopicLogApi;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleetkit-api-'));
    log = await EmbeddedLog.open({ dir, maxRecordBytes: 4096 });
    await log.ensureTopic('telemetry', 4);
    api = await startTopicLogApi({ log, maxBodyBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await api.close();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: string, method = 'POST') =>
    fetch(`${api.endpoint}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(method === 'GET' ? {} : { body }),
    });

  it('round-trips records from the producer through the API into the log', async () => {
    // Prepare
    const producer = new TopicLogRecordProducer({ endpoint: `${api.endpoint}/` });
    const received: ConsumedRecord[] = [];

    // Act
    await producer.send('telemetry', [
      {
        key: 'sim-0001',
        value: Uint8Array.of(0, 1, 254, 255),
        headers: { 'content-type': 'application/cbor' },
      },
      { key: 'sim-0001', value: '{"t":1}' },
    ]);
    const consumer = await log.consume({
      group: 'round-trip',
      topic: 'telemetry',
      maxBatch: 10,
      maxWaitMs: 0,
      fromBeginning: true,
      onBatch: async (batch) => {
        received.push(...batch);
      },
    });
    await expect.poll(() => received.length, { timeout: 10_000 }).toBe(2);
    await consumer.stop();

    // Assess
    expect(received.map((record) => record.value)).toEqual([
      Buffer.of(0, 1, 254, 255),
      Buffer.from('{"t":1}'),
    ]);
    expect(received[0]?.key).toEqual(Buffer.from('sim-0001'));
    expect(received[0]?.headers).toEqual({ 'content-type': Buffer.from('application/cbor') });
    expect(received[1]?.headers).toEqual({});
  });

  it('answers 200 with where each record went, in request order', async () => {
    // Act
    const response = await post(
      '/topics/telemetry/records',
      JSON.stringify({
        records: [
          { key: 'a', value: 'AA==' },
          { key: 'c', value: '' },
          { key: 'a', value: 'AQ==' },
        ],
      }),
    );

    // Assess
    expect(response.status).toBe(200);
    const body = (await response.json()) as { offsets: Array<{ partition: number; offset: string }> };
    expect(body.offsets.map((o) => o.partition)).toEqual([
      partitionForKey('a', 4),
      partitionForKey('c', 4),
      partitionForKey('a', 4),
    ]);
    // 'a' and 'c' go to different partitions, so the two records of 'a' are next to each other in theirs.
    expect(partitionForKey('a', 4)).not.toBe(partitionForKey('c', 4));
    expect(BigInt(body.offsets[2]?.offset ?? '0') - BigInt(body.offsets[0]?.offset ?? '0')).toBe(1n);
  });

  it.each<[string, string, string, string, number, string]>([
    ['an unknown topic', 'POST', '/topics/nope/records', '{"records":[]}', 404, 'UnknownTopic'],
    ['an invalid topic name', 'POST', '/topics/a%20b/records', '{"records":[]}', 400, 'InvalidTopicName'],
    ['a body that is not JSON', 'POST', '/topics/telemetry/records', '{"records":', 400, 'InvalidJson'],
    ['records missing', 'POST', '/topics/telemetry/records', '{}', 400, 'InvalidRequest'],
    [
      'a value that is not base64',
      'POST',
      '/topics/telemetry/records',
      '{"records":[{"key":"k","value":"%%"}]}',
      400,
      'InvalidRequest',
    ],
    [
      'a header value that is not a string',
      'POST',
      '/topics/telemetry/records',
      '{"records":[{"key":"k","value":"","headers":{"h":1}}]}',
      400,
      'InvalidRequest',
    ],
    [
      'a record over the size limit',
      'POST',
      '/topics/telemetry/records',
      JSON.stringify({ records: [{ key: 'k', value: Buffer.alloc(5000).toString('base64') }] }),
      400,
      'RecordTooLarge',
    ],
    [
      'a body over the size limit',
      'POST',
      '/topics/telemetry/records',
      JSON.stringify({ records: [{ key: 'k', value: Buffer.alloc(70_000).toString('base64') }] }),
      413,
      'PayloadTooLarge',
    ],
    ['an unknown path', 'POST', '/records', '{}', 404, 'NotFound'],
    ['another method', 'GET', '/topics/telemetry/records', '', 405, 'MethodNotAllowed'],
  ])('refuses %s with a JSON error', async (_case, method, path, body, status, code) => {
    // Act
    const response = await post(path, body, method);

    // Assess
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({ code, message: expect.any(String) });
  });

  it('names the bad field of an invalid request', async () => {
    // Act
    const response = await post('/topics/telemetry/records', '{"records":[{"key":"k","value":"%%"}]}');

    // Assess
    expect(await response.json()).toMatchObject({
      issues: [{ field: 'records.0.value', reason: 'must be base64' }],
    });
  });

  it('turns a refusal into a TopicLogRequestError with status and code', async () => {
    // Prepare
    const producer = new TopicLogRecordProducer({ endpoint: api.endpoint });

    // Act
    const error = await producer.send('nope', [{ key: 'k', value: 'v' }]).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(TopicLogRequestError);
    expect(error).toMatchObject({ status: 404, code: 'UnknownTopic' });
    expect((error as Error).message).toContain("topic 'nope' does not exist");
  });

  it('listens on loopback only', async () => {
    await expect(startTopicLogApi({ log, host: '0.0.0.0' })).rejects.toBeInstanceOf(InvalidStreamOptionError);
  });
});
