import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoJobExecutionStore,
  EXECUTION_SHARDS,
} from '../../lambdas/adapters/dynamo-job-execution-store.ts';
import { DynamoRolloutCounterStore } from '../../lambdas/adapters/dynamo-rollout-counters.ts';
import { queueExecution } from '../../lambdas/domain/jobs/execution.ts';
import { countExecutionChange } from '../../lambdas/services/jobs-setup.ts';
import { RolloutReconciler } from '../../lambdas/services/rollout-reconciler.ts';
import { createLogger } from '../../lambdas/shared/logger.ts';
import { ensureTable, type LocalDynamo, startDynamo } from '../../lib/local/dynamo.ts';
import { topology } from '../../lib/topology.ts';

/**
 * The counter reconciler reads a rollout's executions shard by shard of the byRollout index, all shards
 * at once (a million executions in the time of the largest shard), and still counts each exactly once.
 */

const EXECUTIONS = 1200;
const T0 = Date.UTC(2026, 2, 2, 10);

describe('the rollout counter reconciler', () => {
  let dynamo: LocalDynamo;
  let client: DynamoDBDocumentClient;
  /** Queries of the byRollout index in flight, now and at most. */
  const inFlight = { now: 0, max: 0 };

  beforeAll(async () => {
    dynamo = await startDynamo({});
    for (const table of ['jobExecutions', 'rolloutCounters'] as const)
      await ensureTable(dynamo.client, table, topology.resources[table]);
    client = DynamoDBDocumentClient.from(dynamo.client);
    const executions = new DynamoJobExecutionStore({ client, tableName: 'jobExecutions' });
    const counted = countExecutionChange(
      new DynamoRolloutCounterStore({ client, tableName: 'rolloutCounters' }),
    );
    for (let i = 0; i < EXECUTIONS; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const execution = queueExecution(
            {
              jobId: 'recount',
              thingName: `rc-${i + j}`,
              firmwareVersion: '2.0.0',
              previousVersion: '1.0.0',
              wave: (i + j) % 3,
            },
            T0,
          );
          await executions.save(execution, undefined);
          await counted(undefined, execution);
        }),
      );
  }, 60_000);
  afterAll(async () => {
    await dynamo?.close();
  });

  it('reads every shard at once and counts each execution once: the counters are right', async () => {
    // Prepare: a client that counts the byRollout queries in flight.
    const watched = {
      send: async (command: { input: { IndexName?: string } }) => {
        const counting = command.input.IndexName === 'byRollout';
        if (counting) inFlight.max = Math.max(inFlight.max, ++inFlight.now);
        try {
          return await client.send(command as never);
        } finally {
          if (counting) inFlight.now--;
        }
      },
    } as unknown as DynamoDBDocumentClient;
    const reconciler = new RolloutReconciler({
      rollouts: { list: async () => ({ items: [] }) },
      executions: new DynamoJobExecutionStore({ client: watched, tableName: 'jobExecutions' }),
      counters: new DynamoRolloutCounterStore({ client, tableName: 'rolloutCounters' }),
      log: createLogger('rollout-reconciler', { write: () => {}, now: () => T0 }),
      now: () => T0,
    });
    // Act
    const report = await reconciler.reconcile('recount');
    // Assess
    expect(report).toEqual({ jobId: 'recount', executions: EXECUTIONS, outcome: 'ok' });
    expect(inFlight.max).toBe(EXECUTION_SHARDS);
  }, 60_000);
});
