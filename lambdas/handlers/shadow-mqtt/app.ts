import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SchemaValidationError, TopicFormatError } from '../../../lib/protocol/errors.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { shadowRuleEvent } from '../../../lib/protocol/rule-events.ts';
import { parseShadowTopic } from '../../../lib/protocol/topics.ts';
import type { ShadowResult } from '../../services/shadow-service.ts';
import { shadowServiceFrom } from '../../services/shadow-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'shadow-mqtt';

/** What became of one MQTT shadow request. */
export type ShadowMqttOutcome = ShadowResult | { ok: false; dropped: string };

/**
 * Builds the MQTT shadow handler: a request on `fleet/things/{thing}/shadow[/name/{n}]/{get|update|delete}`
 * is answered on its `/accepted` or `/rejected` topic, with `/update/delta` and `/update/documents`
 * after accepted updates — AWS IoT Device Shadow's MQTT API on fleetkit's prefix.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')));
  const iotData = new IoTDataPlaneClient(aws(env, 'IOT_DATA_PLANE'));
  const { service } = shadowServiceFrom({ dynamo, iotData, env, log, now: runtime.now });

  return async function handler(event: unknown): Promise<ShadowMqttOutcome> {
    let request: ReturnType<typeof parseShadowTopic>;
    let ruleEvent: ReturnType<typeof shadowRuleEvent.parse>;
    try {
      ruleEvent = parseWith(shadowRuleEvent, event, 'shadow rule event');
      request = parseShadowTopic(ruleEvent.topic);
    } catch (error) {
      if (!(error instanceof SchemaValidationError || error instanceof TopicFormatError)) throw error;
      // No well-formed request topic means no response topic to answer on: log, count, drop.
      log.warn('shadow request dropped', { reason: error.message });
      metrics.put('DroppedShadowRequests', 1);
      return { ok: false, dropped: error.message };
    }
    if (request.suffix !== undefined) {
      return { ok: false, dropped: `'${ruleEvent.topic}' is a response topic, not a request` };
    }
    const id = {
      thingName: request.thingName,
      ...(request.shadowName === undefined ? {} : { shadowName: request.shadowName }),
    };
    const payload = Buffer.from(ruleEvent.payload, 'base64');
    const context = { via: 'mqtt' as const, requestId: ruleEvent.requestId };
    const result =
      request.operation === 'update'
        ? await service.update(id, payload, context)
        : request.operation === 'get'
          ? await service.get(id, payload, context)
          : await service.delete(id, payload, context);
    metrics.put('ShadowRequests', 1, 'Count', {
      Operation: request.operation,
      Outcome: result.ok ? 'accepted' : String(result.code),
    });
    return result;
  };
}
