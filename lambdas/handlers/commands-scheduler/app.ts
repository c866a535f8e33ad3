import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { METRICS } from '../../../lib/protocol/metrics.ts';
import { commandSchedulerFrom } from '../../services/command-setup.ts';
import type { SweepResult } from '../../services/command-sweeper.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'commands-scheduler';

/**
 * Builds the commands scheduler (every minute): sends the next minute's worth of every fleet command
 * still dispatching, then ends what is due — held commands past their expiry (EXPIRED), sent or started
 * ones without an outcome in time (TIMED_OUT), and takes back sent ones whose device slept through them.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const iotData = new IoTDataPlaneClient(aws(env, 'IOT_DATA_PLANE'));
  const { fleet, sweeper } = commandSchedulerFrom({ dynamo, iotData, env, log, now: runtime.now });

  return async function handler(): Promise<{ dispatched: number } & SweepResult> {
    const dispatched = await fleet.dispatchAll();
    const swept = await sweeper.sweep();
    if (dispatched > 0) metrics.put('CommandsDispatched', dispatched);
    for (const status of ['EXPIRED', 'TIMED_OUT'] as const) {
      if (swept[status] === 0) continue;
      metrics.put(METRICS.commandsEnded, swept[status], 'Count', { Status: status });
      if (status === 'TIMED_OUT') metrics.put(METRICS.commandsFailed, swept[status]);
    }
    if (swept.CREATED > 0) metrics.put('CommandsRequeued', swept.CREATED);
    return { dispatched, ...swept };
  };
}
