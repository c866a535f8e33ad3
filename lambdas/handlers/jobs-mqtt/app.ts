import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SchemaValidationError, TopicFormatError } from '../../../lib/protocol/errors.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { thingRequestEvent } from '../../../lib/protocol/rule-events.ts';
import { parseJobsTopic } from '../../../lib/protocol/topics.ts';
import { firmwareS3Config } from '../../services/firmware-setup.ts';
import { jobsServiceFrom } from '../../services/jobs-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'jobs-mqtt';

/**
 * Builds the jobs MQTT handler: a device request on `fleet/things/{thing}/jobs/...` → `JobsService`,
 * answered on the request's `/accepted` or `/rejected` topic.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const s3 = new S3Client(firmwareS3Config(env));
  const iotData = new IoTDataPlaneClient(aws(env, 'IOT_DATA_PLANE'));
  const { service } = jobsServiceFrom({ dynamo, s3, iotData, env, now: runtime.now });

  return async function handler(
    event: unknown,
  ): Promise<{ accepted: boolean; code?: string } | { dropped: string }> {
    let topic: ReturnType<typeof parseJobsTopic>;
    let payload: Buffer;
    try {
      const ruleEvent = parseWith(thingRequestEvent, event, 'jobs rule event');
      topic = parseJobsTopic(ruleEvent.topic);
      payload = Buffer.from(ruleEvent.payload, 'base64');
    } catch (error) {
      if (!(error instanceof SchemaValidationError || error instanceof TopicFormatError)) throw error;
      log.warn('jobs request dropped', { reason: error.message });
      metrics.put('DroppedJobsRequests', 1);
      return { dropped: error.message };
    }
    // The rules' filters also match what the service publishes itself (responses, notifications): the
    // device policy lets no device publish there, so these are the platform's own messages.
    if (topic.suffix !== undefined) return { dropped: 'a response topic, not a request' };
    if (!('jobId' in topic) && (topic.operation === 'notify' || topic.operation === 'notify-next'))
      return { dropped: 'a notification, not a request' };
    const result = await service.handle(topic, payload);
    metrics.put('JobsRequests', 1, 'Count', {
      Operation: 'jobId' in topic ? topic.operation : `thing-${topic.operation}`,
      Outcome: result.accepted ? 'accepted' : (result.code ?? 'rejected'),
    });
    return result;
  };
}
