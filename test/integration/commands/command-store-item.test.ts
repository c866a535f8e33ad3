import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CommandExecution,
  createExecution,
  hold,
  markSent,
} from '../../../lambdas/domain/commands/execution.ts';
import { type CommandFixture, startCommandFixture } from '../../support/command-fixture.ts';

/**
 * An execution as the executions table keeps it: a fleet command writes one per device at once, so the
 * attributes at their default are not stored — and every execution reads back exactly as it was saved.
 */
const NOW = 1_764_196_408_000;

function ok(next: CommandExecution | Error): CommandExecution {
  if (next instanceof Error) throw next;
  return next;
}

const created = (executionId: string, parameters: Record<string, unknown> = {}) =>
  createExecution(
    {
      executionId,
      deviceId: 'd1',
      deviceType: 'tracker',
      name: parameters.seconds === undefined ? 'ping' : 'set-interval',
      parameters,
      expiresAt: NOW + 3_600_000,
      timeoutSeconds: 60,
      batchId: 'b',
    },
    NOW,
  );

describe('an execution in the executions table', () => {
  let f: CommandFixture;
  const item = async (executionId: string) =>
    (
      await f.client.send(
        new GetCommand({ TableName: f.tables.executions, Key: { deviceId: 'd1', executionId } }),
      )
    ).Item ?? {};

  beforeAll(async () => {
    f = await startCommandFixture(NOW);
  });
  afterAll(async () => {
    await f?.close();
  });

  it('leaves out what is at its default: a request sent once stores no parameters, answers or resend', async () => {
    // Prepare
    const sent = ok(markSent(created('e1'), NOW));

    // Act
    await f.store.createMany([sent]);

    // Assess
    const stored = await item('e1');
    for (const attribute of ['parameters', 'ignoredAnswers', 'lastSentAt'])
      expect(stored).not.toHaveProperty(attribute);
    expect(stored).toMatchObject({ status: 'SENT', sentAt: NOW, deliveries: 1 });
    expect(await f.store.get('d1', 'e1')).toEqual(sent);
  });

  it.each<[string, () => CommandExecution]>([
    ['new, never sent', () => created('e2')],
    ['with parameters', () => ok(markSent(created('e3', { seconds: 30, for: 600 }), NOW))],
    ['resent', () => ok(markSent(ok(markSent(created('e4'), NOW)), NOW + 45_000))],
    ['taken back after a send', () => ok(hold(ok(markSent(created('e5'), NOW)), 'asleep', NOW + 9_000))],
    ['with ignored answers', () => ({ ...ok(markSent(created('e6'), NOW)), ignoredAnswers: 2 })],
  ])('reads back as it was saved: %s', async (_case, make) => {
    // Prepare
    const execution = make();

    // Act
    await f.store.save(execution, undefined);

    // Assess
    expect(await f.store.get('d1', execution.executionId)).toEqual(execution);
  });
});
