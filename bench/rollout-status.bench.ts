import { deepStrictEqual } from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoJobExecutionStore } from '../lambdas/adapters/dynamo-job-execution-store.ts';
import { DynamoRolloutCounterStore } from '../lambdas/adapters/dynamo-rollout-counters.ts';
import { type JobExecution, nextVersion, queueExecution } from '../lambdas/domain/jobs/execution.ts';
import {
  counterChanges,
  emptyCounts,
  type RolloutStatusView,
  rolloutStatusView,
} from '../lambdas/domain/rollout/counters.ts';
import { readCounters } from '../lambdas/services/rollout-service.ts';
import { ensureTable } from '../lib/local/dynamo.ts';
import { startDynamoThread } from '../lib/local/dynamo-thread.ts';
import { localResourceName } from '../lib/local/names.ts';
import type { JobExecutionStatus } from '../lib/protocol/jobs.ts';
import { topology } from '../lib/topology.ts';
import { median, metric, progress, runConcurrently } from './support.ts';

/**
 * `GET /rollouts/{id}` progress for a rollout with many job executions, two ways, on one dynalite: from
 * the rollout counters (`readCounters` — one Query over a handful of items — then `rolloutStatusView`),
 * and the seed's way: read every execution of the rollout (`DynamoJobExecutionStore.allOf`, the
 * byRollout index shard by shard) and count them by status. Both must give the same view, or the
 * bench throws.
 *
 * The rollout has 1,000,000 executions, the size the goal is stated at. Loading dynalite runs at about
 * 3,500-4,500 executions/s on two cores, so this bench takes about 5 minutes before its first measurement;
 * `ROLLOUT_STATUS_EXECUTIONS=400000` (whole thousands) is a quicker run. Every metric name carries the
 * size it was measured at (`_1m`, `_400k`); nothing is extrapolated.
 *
 * rollout_status_ms_<size> = median time of readCounters + rolloutStatusView;
 * rollout_status_scan_ms_<size> = median time of reading and counting every execution;
 * rollout_status_scan_vs_counters_ratio_<size> = the second ÷ the first.
 */
const EXECUTIONS = executionCount(process.env.ROLLOUT_STATUS_EXECUTIONS ?? '1000000');
const SIZE = EXECUTIONS % 1_000_000 === 0 ? `${EXECUTIONS / 1_000_000}m` : `${EXECUTIONS / 1000}k`;
/** Three finished waves and a last one midway: 0.1 %, 0.9 %, 9 % and the remaining 90 %. */
const WAVE_SIZES = [EXECUTIONS / 1000, (EXECUTIONS * 9) / 1000, (EXECUTIONS * 9) / 100];
WAVE_SIZES.push(EXECUTIONS - WAVE_SIZES.reduce((sum, n) => sum + n, 0));
const ROLLOUT_ID = 'bench-rollout';
const STATUS_ROUNDS = 50;
const SCAN_ROUNDS = 3;
const BATCH = 25; // BatchWriteItem's limit
const LOAD_CONCURRENCY = 16;
const T0 = Date.UTC(2026, 2, 2, 10);

function executionCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1000 || n % 1000 !== 0)
    throw new Error(`ROLLOUT_STATUS_EXECUTIONS must be a whole number of thousands, got '${value}'`);
  return n;
}

const dataDir = await mkdtemp(join(tmpdir(), 'fleetkit-bench-'));
const dynamo = await startDynamoThread({ path: join(dataDir, 'dynamo') });
const executionsTable = localResourceName('jobExecutions');
const countersTable = localResourceName('rolloutCounters');
const documents = DynamoDBDocumentClient.from(dynamo.client, {
  marshallOptions: { removeUndefinedValues: true },
});
const executions = new DynamoJobExecutionStore({ client: documents, tableName: executionsTable });
const counters = new DynamoRolloutCounterStore({ client: documents, tableName: countersTable });

/**
 * The item the execution store writes for an execution — its shard and due-index keys are the store's
 * own business — taken from the store's `save` with a client that keeps the Put instead of sending it.
 */
let captured: Record<string, unknown> | undefined;
const capturing = new DynamoJobExecutionStore({
  client: {
    send: async (command: { input: { Item: Record<string, unknown> } }) => {
      captured = command.input.Item;
      return {};
    },
  } as unknown as DynamoDBDocumentClient,
  tableName: executionsTable,
});
async function storedItemOf(execution: JobExecution): Promise<Record<string, unknown>> {
  captured = undefined;
  const saving = capturing.save(execution, undefined);
  // `save` builds its Put and calls `send` before its first await; take the item before other loaders run.
  const item = captured;
  await saving;
  if (item === undefined) throw new Error('the execution store wrote no item');
  return item;
}

function waveOf(n: number): number {
  let end = 0;
  for (const [wave, size] of WAVE_SIZES.entries()) {
    end += size;
    if (n < end) return wave;
  }
  throw new Error(`execution ${n} is beyond the rollout's ${EXECUTIONS}`);
}

/**
 * Execution `n`'s life so far: queued, then (for most) started, then (for many) finished. The early
 * waves are done; in the last one 30 % are still queued and 20 % in progress.
 */
function historyOf(n: number): JobExecution[] {
  const wave = waveOf(n);
  const queued = queueExecution(
    {
      jobId: ROLLOUT_ID,
      thingName: `thing-${n.toString(36).padStart(4, '0')}`,
      firmwareVersion: '2.0.0',
      previousVersion: '1.4.2',
      wave,
      inProgressTimeoutMinutes: 60,
      retries: { criteriaList: [{ failureType: 'FAILED', numberOfRetries: 2 }] },
    },
    T0 + wave * 3_600_000,
  );
  // A fixed spread of outcomes, the same run after run.
  const roll = (Math.imul(n, 2654435761) >>> 0) % 1000;
  const last = wave === WAVE_SIZES.length - 1;
  if (last && roll < 300) return [queued];
  const startedAt = queued.queuedAt + 60 + (roll % 600);
  const started = nextVersion(
    queued,
    { status: 'IN_PROGRESS', startedAt, inProgressTimeoutAt: startedAt + 3600 },
    startedAt,
  );
  if (last && roll < 500) return [queued, started];
  const outcome: JobExecutionStatus = roll < 960 ? 'SUCCEEDED' : roll < 990 ? 'FAILED' : 'TIMED_OUT';
  const finished = nextVersion(
    started,
    { status: outcome, inProgressTimeoutAt: undefined },
    startedAt + 120 + (roll % 900),
  );
  return [queued, started, finished];
}

/**
 * Writes every execution as it is now, in BatchWrites of the store's items, and returns the counter
 * increments of every change in their lives, summed by scope and status.
 */
async function loadExecutions(): Promise<Map<string, number>> {
  const deltas = new Map<string, number>();
  const start = performance.now();
  await runConcurrently(Math.ceil(EXECUTIONS / BATCH), LOAD_CONCURRENCY, async (batch) => {
    const first = batch * BATCH;
    const items: Record<string, unknown>[] = [];
    for (let n = first; n < Math.min(first + BATCH, EXECUTIONS); n++) {
      let before: JobExecution | undefined;
      for (const after of historyOf(n)) {
        for (const change of counterChanges(before, after)) {
          const key = `${change.scope}\t${change.status}`;
          deltas.set(key, (deltas.get(key) ?? 0) + change.delta);
        }
        before = after;
      }
      if (before !== undefined) items.push(await storedItemOf(before));
    }
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    while (requests.length > 0) {
      const result = await documents.send(
        new BatchWriteCommand({ RequestItems: { [executionsTable]: requests } }),
      );
      requests = (result.UnprocessedItems?.[executionsTable] ?? []) as typeof requests;
    }
    const written = first + items.length;
    if (written % 100_000 === 0) {
      const seconds = (performance.now() - start) / 1000;
      progress(
        `loaded ${written} executions in ${seconds.toFixed(0)} s (${Math.round(written / seconds)}/s)`,
      );
    }
  });
  return deltas;
}

/** The seed's way: read every execution of the rollout and count them by status, per rollout and wave. */
async function statusByScan(): Promise<{ view: RolloutStatusView; read: number }> {
  const rollout = emptyCounts();
  const waves: Record<number, Record<JobExecutionStatus, number>> = {};
  let read = 0;
  for await (const page of executions.allOf(ROLLOUT_ID)) {
    for (const execution of page) {
      read++;
      rollout[execution.status]++;
      if (execution.wave !== undefined) {
        const wave = waves[execution.wave] ?? emptyCounts();
        wave[execution.status]++;
        waves[execution.wave] = wave;
      }
    }
  }
  return { view: rolloutStatusView({ rollout, waves }), read };
}

const statusByCounters = async () => rolloutStatusView(await readCounters(counters, ROLLOUT_ID));

try {
  await ensureTable(dynamo.client, executionsTable, topology.resources.jobExecutions);
  await ensureTable(dynamo.client, countersTable, topology.resources.rolloutCounters);
  progress(`loading ${EXECUTIONS} executions in waves of ${WAVE_SIZES.join(', ')}`);
  const deltas = await loadExecutions();
  await counters.apply(
    [...deltas].map(([key, delta]) => {
      const [scope = '', counter = ''] = key.split('\t');
      return { rolloutId: ROLLOUT_ID, scope, counter, delta };
    }),
  );

  const fromCounters = await statusByCounters();
  const statusTimes: number[] = [];
  for (let round = 0; round < STATUS_ROUNDS; round++) {
    const start = performance.now();
    const view = await statusByCounters();
    statusTimes.push(performance.now() - start);
    deepStrictEqual(view, fromCounters);
  }
  progress(`counters: median ${median(statusTimes).toFixed(2)} ms over ${STATUS_ROUNDS} reads`);

  const scanTimes: number[] = [];
  for (let round = 0; round < SCAN_ROUNDS; round++) {
    const start = performance.now();
    const scan = await statusByScan();
    scanTimes.push(performance.now() - start);
    if (scan.read !== EXECUTIONS) throw new Error(`the scan read ${scan.read} of ${EXECUTIONS} executions`);
    // The comparison is only honest if both ways count the same executions the same way.
    deepStrictEqual(scan.view, fromCounters, 'the counters and a recount of the executions disagree');
    progress(
      `scan ${round + 1}: ${((scanTimes.at(-1) ?? 0) / 1000).toFixed(1)} s, counts match the counters`,
    );
  }

  metric(`rollout_status_ms_${SIZE}`, median(statusTimes));
  metric(`rollout_status_scan_ms_${SIZE}`, median(scanTimes));
  metric(`rollout_status_scan_vs_counters_ratio_${SIZE}`, median(scanTimes) / median(statusTimes));
} finally {
  await dynamo.close();
  await rm(dataDir, { recursive: true, force: true });
}
