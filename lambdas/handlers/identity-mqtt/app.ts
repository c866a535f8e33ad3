import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTClient } from '@aws-sdk/client-iot';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SchemaValidationError, TopicFormatError } from '../../../lib/protocol/errors.ts';
import { identityRuleEvent } from '../../../lib/protocol/identity.ts';
import { parseIdentityRequestTopic } from '../../../lib/protocol/identity-topics.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { IotDataPublisher } from '../../adapters/iot-data-publisher.ts';
import { IdentityRequests } from '../../services/identity-requests.ts';
import { certificateGraceMs, deviceIdentityFrom, identityPortsFrom } from '../../services/identity-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'identity-mqtt';

/** What became of one identity request. */
export type IdentityMqttOutcome = { accepted: boolean; code?: string } | { dropped: string };

/**
 * Builds the MQTT identity handler: `fleet/things/{thing}/identity/{get|activate|confirm}` answered on
 * `/accepted` or `/rejected` (see `services/identity-requests.ts`). The rule adds `principal()`, the
 * certificate the request came on.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const requests = new IdentityRequests({
    ...identityPortsFrom({ dynamo, iot: new IoTClient(aws(env, 'IOT')), env }),
    devices: deviceIdentityFrom(dynamo, env),
    publisher: new IotDataPublisher({ client: new IoTDataPlaneClient(aws(env, 'IOT_DATA_PLANE')) }),
    graceMs: certificateGraceMs(env),
    now: runtime.now,
  });

  return async function handler(event: unknown): Promise<IdentityMqttOutcome> {
    let ruleEvent: ReturnType<typeof identityRuleEvent.parse>;
    let topic: ReturnType<typeof parseIdentityRequestTopic>;
    try {
      ruleEvent = parseWith(identityRuleEvent, event, 'identity rule event');
      topic = parseIdentityRequestTopic(ruleEvent.topic);
    } catch (error) {
      if (!(error instanceof SchemaValidationError || error instanceof TopicFormatError)) throw error;
      // Not a device's request (the platform's own notify, or no certificate): nothing to answer.
      log.warn('identity request dropped', { reason: error.message });
      metrics.put('DroppedIdentityRequests', 1);
      return { dropped: error.message };
    }
    const result = await requests.handle({
      ...topic,
      payload: Buffer.from(ruleEvent.payload, 'base64'),
      principal: ruleEvent.principal,
    });
    metrics.put('IdentityRequests', 1, 'Count', {
      Operation: topic.operation,
      Outcome: result.accepted ? 'accepted' : String(result.code),
    });
    if (!result.accepted)
      log.warn('identity request rejected', {
        thingName: topic.thingName,
        operation: topic.operation,
        code: result.code,
      });
    return result;
  };
}
