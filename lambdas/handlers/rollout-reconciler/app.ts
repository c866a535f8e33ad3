import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { rolloutReconcilerFrom } from '../../services/rollouts-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

/** Builds the hourly reconciler of rollout counters: recounts executions, fixes drifted counters. */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger('rollout-reconciler', runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')));
  const reconciler = rolloutReconcilerFrom({ dynamo, env, log, now: runtime.now });

  return async function handler(_event: unknown) {
    const reports = await reconciler.run();
    const fixed = reports.filter((r) => r.outcome === 'fixed').length;
    log.info('rollout counters recounted', { jobs: reports.length, fixed });
    return { jobs: reports };
  };
}
