import { describe, expect, it } from 'vitest';
import {
  type CommandExecution,
  createExecution,
  markSent,
} from '../../../lambdas/domain/commands/execution.ts';
import { CommandSweeper } from '../../../lambdas/services/command-sweeper.ts';

const NOW = 1_764_196_408_000;

/** A sent `ping` to device `d<n>`, past its 60 s timeout by now. */
function overdue(n: number): CommandExecution {
  const created = createExecution(
    {
      executionId: `e${n}`,
      deviceId: `d${n}`,
      deviceType: 'tracker',
      name: 'ping',
      parameters: {},
      expiresAt: NOW + 3_600_000,
      timeoutSeconds: 60,
    },
    NOW - 120_000,
  );
  const sent = markSent(created, NOW - 120_000);
  if (sent instanceof Error) throw sent;
  return sent;
}

describe('the command sweeper', () => {
  it('changes a full round (16 shards × 200 due) at most 32 at a time, and every one of them', async () => {
    // Prepare: every shard full of overdue requests whose devices were heard from since (→ TIMED_OUT)
    const due = Array.from({ length: 16 * 200 }, (_, n) => overdue(n));
    let inFlight = 0;
    let most = 0;
    const sweeper = new CommandSweeper({
      store: { due: async (shard) => due.slice(shard * 200, (shard + 1) * 200) },
      registry: {
        getMany: async (ids) => ids.map((deviceId) => ({ deviceId, lastSeen: NOW - 1000 })) as never,
      },
      delivery: {
        commit: async (_before, next) => {
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((resolve) => setImmediate(resolve));
          inFlight--;
          return next;
        },
      },
      now: () => NOW,
    });

    // Act
    const swept = await sweeper.sweep();

    // Assess
    expect(swept).toEqual({ EXPIRED: 0, TIMED_OUT: 16 * 200, CREATED: 0 });
    expect(most).toBe(32);
  });
});
