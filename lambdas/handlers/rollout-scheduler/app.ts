import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { firmwareS3Config } from '../../services/firmware-setup.ts';
import { rolloutSchedulerFrom } from '../../services/rollouts-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'rollout-scheduler';

/**
 * Builds the rollout scheduler's tick (every minute, from the topology): advances waves, times out and
 * retries executions, evaluates gates, abort criteria and the health gate, rolls back.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const scheduler = rolloutSchedulerFrom({
    dynamo,
    s3: new S3Client(firmwareS3Config(env)),
    iotData: new IoTDataPlaneClient(aws(env, 'IOT_DATA_PLANE')),
    // Signs rollback authorizations (issue 12) with the rollback key, and nothing else.
    kms: new KMSClient(aws(env, 'KMS')),
    env,
    log,
    metrics,
    now: runtime.now,
  });

  return async function handler(_event: unknown) {
    const reports = await scheduler.tick();
    for (const report of reports)
      if (report.queued + report.retried + report.timedOut + report.canceled + report.rolledBack > 0)
        log.info('rollout advanced', { ...report });
    return { rollouts: reports };
  };
}
