import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PayloadDecodeError, SchemaValidationError } from '../../../lib/protocol/errors.ts';
import { statusMessage } from '../../../lib/protocol/messages.ts';
import { parseJsonMessage, parseWith } from '../../../lib/protocol/parse.ts';
import { deviceRuleEvent } from '../../../lib/protocol/rule-events.ts';
import { DynamoAlertStore } from '../../adapters/dynamo-alert-store.ts';
import { DynamoDeviceRegistry } from '../../adapters/dynamo-device-registry.ts';
import { DynamoFleetHealthStore } from '../../adapters/dynamo-fleet-health-store.ts';
import { statusToUpdate } from '../../domain/device-status.ts';
import { rebootAlerts } from '../../domain/fleet/reboot.ts';
import { recordHealthChange } from '../../services/fleet-health-recorder.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime, requireEnv } from '../../shared/runtime.ts';

const SERVICE = 'ingest-status';

/** What happened to one status message. */
export type StatusOutcome = { outcome: 'applied' | 'stale' } | { outcome: 'rejected'; reason: string };

/**
 * Builds the status ingest handler: IoT rule event → status schema → registry.
 *
 * A message that does not parse is refused with its reason in a log line and the `RejectedMessages`
 * metric, and the registry is not touched. It is not thrown: a retry could not fix it.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const registry = new DynamoDeviceRegistry({
    client: dynamo,
    tableName: requireEnv(env, 'REGISTRY_TABLE_NAME'),
  });
  const alerts = new DynamoAlertStore({ client: dynamo, tableName: requireEnv(env, 'ALERTS_TABLE_NAME') });
  const health = new DynamoFleetHealthStore({
    client: dynamo,
    tableName: requireEnv(env, 'FLEET_HEALTH_TABLE_NAME'),
  });

  return async function handler(event: unknown): Promise<StatusOutcome> {
    let update: ReturnType<typeof statusToUpdate>;
    try {
      const ruleEvent = parseWith(deviceRuleEvent, event, 'status rule event');
      try {
        const status = parseJsonMessage(
          statusMessage,
          Buffer.from(ruleEvent.payload, 'base64'),
          'status message',
        );
        update = statusToUpdate(status, ruleEvent);
      } catch (error) {
        if (!(error instanceof SchemaValidationError || error instanceof PayloadDecodeError)) throw error;
        log.warn('status message rejected', {
          deviceId: ruleEvent.deviceId,
          deviceType: ruleEvent.deviceType,
          reason: error.message,
          ...(error instanceof SchemaValidationError ? { issues: error.issues } : {}),
        });
        metrics.put('RejectedMessages', 1, 'Count', { MessageType: 'status' });
        return { outcome: 'rejected', reason: error.message };
      }
    } catch (error) {
      if (!(error instanceof SchemaValidationError)) throw error;
      // The rule itself produced something unexpected: a deployment fault, not a device fault.
      log.error('status rule event rejected', { reason: error.message, issues: error.issues });
      metrics.put('InvalidRuleEvents', 1, 'Count', { MessageType: 'status' });
      return { outcome: 'rejected', reason: error.message };
    }
    const result = await registry.recordSighting(update);
    if (result.outcome === 'applied') {
      const reboot = rebootAlerts(result.before, result.after);
      // Both follow from the images the registry's write returned; neither waits for the other.
      await Promise.all([
        recordHealthChange(health, result.before, result.after),
        reboot.length > 0 ? alerts.put(reboot) : undefined,
      ]);
      if (reboot.length > 0) metrics.put('Reboots', 1, 'Count', { DeviceType: result.after.deviceType });
    }
    metrics.put('StatusMessages', 1, 'Count', { Outcome: result.outcome });
    return { outcome: result.outcome };
  };
}
