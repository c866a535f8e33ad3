import type { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SignedKeySet } from '../../lib/protocol/jobs.ts';
import { DynamoJobExecutionStore } from '../adapters/dynamo-job-execution-store.ts';
import type { DynamoKeySetStore } from '../adapters/dynamo-key-set-store.ts';
import { DynamoRolloutCounterStore } from '../adapters/dynamo-rollout-counters.ts';
import { IotDataPublisher } from '../adapters/iot-data-publisher.ts';
import type { JobExecution } from '../domain/jobs/execution.ts';
import { counterChanges } from '../domain/rollout/counters.ts';
import type { HandlerEnv } from '../shared/runtime.ts';
import { requireEnv } from '../shared/runtime.ts';
import { firmwareDownloadsFrom, keySetStoreFrom } from './firmware-setup.ts';
import { jobDocumentFor } from './job-documents.ts';
import { type ExecutionChangeListener, JobsService } from './jobs-service.ts';

/** Counts an execution change in the rollout's counters (by rollout and by wave, per status). */
export function countExecutionChange(counters: DynamoRolloutCounterStore) {
  return async (before: JobExecution | undefined, after: JobExecution | undefined): Promise<void> => {
    const changes = counterChanges(before, after).map((c) => ({
      rolloutId: c.rolloutId,
      scope: c.scope,
      counter: c.status,
      delta: c.delta,
    }));
    if (changes.length > 0) await counters.apply(changes);
  };
}

/** The rollout counters. Needs `rolloutCounters` in the function's uses. */
export function rolloutCountersFrom(
  dynamo: DynamoDBDocumentClient,
  env: HandlerEnv,
): DynamoRolloutCounterStore {
  return new DynamoRolloutCounterStore({
    client: dynamo,
    tableName: requireEnv(env, 'ROLLOUT_COUNTERS_TABLE_NAME'),
  });
}

/** The execution and counter stores. Needs `jobExecutions` and `rolloutCounters` in the function's uses. */
export function jobStoresFrom(
  dynamo: DynamoDBDocumentClient,
  env: HandlerEnv,
): { executions: DynamoJobExecutionStore; counters: DynamoRolloutCounterStore } {
  return {
    executions: new DynamoJobExecutionStore({
      client: dynamo,
      tableName: requireEnv(env, 'JOB_EXECUTIONS_TABLE_NAME'),
    }),
    counters: rolloutCountersFrom(dynamo, env),
  };
}

/** How long a function keeps the key set it read: a rollover reaches job documents within a minute. */
const KEY_SET_CACHE_MS = 60_000;

/** The stored key set, read at most once a minute per function instance. */
export function cachedKeySet(
  store: Pick<DynamoKeySetStore, 'get'>,
  now: () => number,
): () => Promise<SignedKeySet | undefined> {
  let cached: { at: number; value: Promise<SignedKeySet | undefined> } | undefined;
  return () => {
    if (cached === undefined || now() - cached.at >= KEY_SET_CACHE_MS) {
      const value = store.get();
      cached = { at: now(), value };
      // A failed read is not kept: the next document asks again.
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  };
}

/** The jobs service from the clients a handler created once. */
export function jobsServiceFrom(deps: {
  readonly dynamo: DynamoDBDocumentClient;
  readonly s3: S3Client;
  readonly iotData: IoTDataPlaneClient;
  readonly env: HandlerEnv;
  readonly now: () => number;
}): {
  service: JobsService;
  executions: DynamoJobExecutionStore;
  counters: DynamoRolloutCounterStore;
  onChange: ExecutionChangeListener;
} {
  const { executions, counters } = jobStoresFrom(deps.dynamo, deps.env);
  const downloads = firmwareDownloadsFrom({ s3: deps.s3, dynamo: deps.dynamo, env: deps.env, now: deps.now });
  const models = firmwareDownloadsFrom(
    { s3: deps.s3, dynamo: deps.dynamo, env: deps.env, now: deps.now },
    'model',
  );
  const onChange = countExecutionChange(counters);
  const keySet = cachedKeySet(keySetStoreFrom(deps.dynamo, deps.env), deps.now);
  const service = new JobsService({
    executions,
    publisher: new IotDataPublisher({ client: deps.iotData }),
    jobDocument: (execution) => jobDocumentFor({ firmware: downloads, models, keySet }, execution),
    onChange,
    now: deps.now,
  });
  return { service, executions, counters, onChange };
}
