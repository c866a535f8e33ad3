import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { commandAnswer, commandRuleEvent } from '../../../lib/protocol/commands.ts';
import { PayloadDecodeError, SchemaValidationError } from '../../../lib/protocol/errors.ts';
import { METRICS } from '../../../lib/protocol/metrics.ts';
import { parseJsonMessage, parseWith } from '../../../lib/protocol/parse.ts';
import type { AnswerResult } from '../../services/command-answers.ts';
import { commandMqttFrom } from '../../services/command-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'commands-mqtt';

/** What became of one event: an answer applied or not, a device woken, or a refusal. */
export type CommandsMqttOutcome =
  | AnswerResult
  | { readonly outcome: 'woke'; readonly sent: number; readonly expired: number }
  | { readonly outcome: 'rejected'; readonly reason: string };

/**
 * Builds the commands MQTT handler: a device's answer on `devices/{type}/{id}/command-answers` moves its
 * execution (duplicates and late answers are counted, nothing else); a device's status or telemetry
 * says it is awake, and whatever waits for it is sent.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const iotData = new IoTDataPlaneClient(aws(env, 'IOT_DATA_PLANE'));
  const { answers, delivery } = commandMqttFrom({ dynamo, iotData, env, log, now: runtime.now });

  return async function handler(event: unknown): Promise<CommandsMqttOutcome> {
    let parsed: ReturnType<typeof commandRuleEvent.parse>;
    let answer: ReturnType<typeof commandAnswer.parse> | undefined;
    try {
      parsed = parseWith(commandRuleEvent, event, 'command rule event');
      if (parsed.kind === 'command-answers')
        answer = parseJsonMessage(commandAnswer, Buffer.from(parsed.payload, 'base64'), 'command answer');
    } catch (error) {
      if (!(error instanceof SchemaValidationError || error instanceof PayloadDecodeError)) throw error;
      log.warn('command event rejected', { reason: error.message });
      metrics.put('RejectedMessages', 1, 'Count', { MessageType: 'command-answer' });
      return { outcome: 'rejected', reason: error.message };
    }
    if (answer === undefined) {
      const woke = await delivery.wake(parsed.deviceId);
      if (woke.sent > 0) metrics.put('CommandsSent', woke.sent, 'Count', { Via: 'wake' });
      if (woke.expired > 0) ended('EXPIRED', woke.expired);
      return { outcome: 'woke', ...woke };
    }
    const result = await answers.apply(parsed.deviceId, answer);
    metrics.put('CommandAnswers', 1, 'Count', { Outcome: result.outcome });
    if (result.outcome === 'applied' && result.ended) ended(result.status, 1);
    if (result.outcome !== 'applied')
      log.info('command answer changed nothing', { deviceId: parsed.deviceId, ...result });
    return result;
  };

  function ended(status: string, count: number): void {
    metrics.put(METRICS.commandsEnded, count, 'Count', { Status: status });
    if (status === 'FAILED' || status === 'REJECTED' || status === 'TIMED_OUT')
      metrics.put(METRICS.commandsFailed, count);
  }
}
