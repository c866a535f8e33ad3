import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_SHARDS } from '../../../lambdas/adapters/dynamo-command-store.ts';
import {
  type CommandExecution,
  createExecution,
  markSent,
} from '../../../lambdas/domain/commands/execution.ts';
import { shardOf } from '../../../lambdas/domain/shard.ts';
import { type CommandFixture, startCommandFixture } from '../../support/command-fixture.ts';

/**
 * The executions table's indexes hold keys only, and DynamoDB updates them after the table: a query may
 * find an execution the index lists as it was. The store reads what it finds whole, by key, and acts on
 * it as it is now. dynalite's indexes do not lag, so the lagging entry is written here by hand: the item
 * as it is now, with the index key it had before.
 */
const MINUTE = 60_000;

function sentPing(deviceId: string, now: number, batchId?: string): CommandExecution {
  const sent = markSent(
    createExecution(
      {
        executionId: `lag-${deviceId}`,
        deviceId,
        deviceType: 'tracker',
        name: 'ping',
        parameters: {},
        expiresAt: now + 3_600_000,
        timeoutSeconds: 60,
        ...(batchId === undefined ? {} : { batchId }),
      },
      now,
    ),
    now,
  );
  if (sent instanceof Error) throw sent;
  return sent;
}

describe('an execution an index still lists as it was', () => {
  let f: CommandFixture;
  const put = (item: Record<string, unknown>) =>
    f.client.send(new PutCommand({ TableName: f.tables.executions, Item: item }));

  beforeAll(async () => {
    f = await startCommandFixture();
    for (const id of ['d1', 'd2', 'd3']) await f.seen(id, 'tracker');
  });
  afterAll(async () => {
    await f?.close();
  });

  it('is not swept at the deadline it had: a request sent since waits for its own timeout', async () => {
    // Prepare: d1's request, sent just now; the due index still has it at its held copy's deadline
    const sent = sentPing('d1', f.clock.now);
    const shard = shardOf('d1', COMMAND_SHARDS);
    await put({ ...sent, dueShard: `due#${shard}`, dueAt: f.clock.now - 1 });

    // Act
    const due = await f.store.due(shard, f.clock.now, 10);
    const swept = await f.sweeper.sweep();

    // Assess
    expect(due).toEqual([]);
    expect(swept).toEqual({ EXPIRED: 0, TIMED_OUT: 0, CREATED: 0 });
    expect(await f.store.get('d1', sent.executionId)).toMatchObject({ status: 'SENT', version: 2 });
  });

  it('is not sent again by its fleet command when the send queue still lists it', async () => {
    // Prepare: a batch of two at one a minute; the one queued is then sent by another tick while the
    // queue index still lists it
    await f.fleet.create({
      batchId: 'lag',
      name: 'ping',
      targets: { things: ['d2', 'd3'] },
      ratePerMinute: 1,
    });
    const executions = await Promise.all(
      ['d2', 'd3'].map(async (id) => (await f.store.listForDevice(id, { limit: 1 })).items[0]),
    );
    const queued = executions.find((execution) => execution?.status === 'CREATED');
    if (queued === undefined) throw new Error('nothing queued');
    const sent = markSent(queued, f.clock.now);
    if (sent instanceof Error) throw sent;
    await put({ ...sent, queueShard: `lag#${shardOf(queued.deviceId, COMMAND_SHARDS)}` });
    const published = f.publisher.messages.length;
    f.clock.now += MINUTE;

    // Act
    const tried = await f.fleet.dispatchAll();

    // Assess
    expect(tried).toBe(0);
    expect(f.publisher.messages.length).toBe(published);
    expect(await f.store.get(queued.deviceId, queued.executionId)).toMatchObject({
      status: 'SENT',
      deliveries: 1,
    });
  });
});
