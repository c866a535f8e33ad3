import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parseRolloutWork } from '../../../lib/protocol/rollout-work.ts';
import { rolloutPlannerFrom } from '../../services/rollouts-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

/**
 * Builds the rollout planner: started by `POST /rollouts` for one rollout (an asynchronous invocation,
 * `{ rolloutId }`), and every minute by its schedule to resume any planning whose run died or ran out
 * of time (checkpoints per registry segment, see `RolloutPlanner`).
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger('rollout-planner', runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const planner = rolloutPlannerFrom({ dynamo, env, log, now: runtime.now });

  return async function handler(event: unknown) {
    const work = parseRolloutWork(event);
    const reports = work === undefined ? await planner.resume() : [await planner.plan(work.rolloutId)];
    for (const report of reports)
      if (report.outcome !== 'nothing' && report.outcome !== 'busy')
        log.info('rollout planning ran', { ...report });
    return { rollouts: reports };
  };
}
