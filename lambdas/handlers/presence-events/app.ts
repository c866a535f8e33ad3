import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { disconnectedEvent } from '../../../lib/protocol/lifecycle-events.ts';
import { DynamoDeviceIdentity } from '../../adapters/dynamo-device-identity.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime, requireEnv } from '../../shared/runtime.ts';

const SERVICE = 'presence-events';

/** What became of one lifecycle event. */
export type PresenceOutcome = 'recorded' | 'unregistered' | 'ignored' | 'dropped';

/**
 * Builds the lifecycle-event handler: the rule selects `disconnected` events with
 * `disconnectReason = DUPLICATE_CLIENTID` (IoT dropped a connection because another came with the same
 * client id), and the device's registry item records it, for the audit's CONFLICTING_CLIENT_IDS check.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const devices = new DynamoDeviceIdentity({
    client: DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB'))),
    tableName: requireEnv(env, 'REGISTRY_TABLE_NAME'),
  });

  return async function handler(event: unknown): Promise<PresenceOutcome> {
    const parsed = disconnectedEvent.safeParse(event);
    if (!parsed.success) {
      log.warn('lifecycle event dropped', { reason: parsed.error.message });
      return 'dropped';
    }
    const { clientId, timestamp, disconnectReason } = parsed.data;
    if (disconnectReason !== 'DUPLICATE_CLIENTID') return 'ignored';
    const recorded = await devices.recordClientIdConflict(clientId, timestamp);
    metrics.put('ClientIdConflicts', 1);
    log.warn('two connections used one client id', { clientId, registered: recorded });
    return recorded ? 'recorded' : 'unregistered';
  };
}
