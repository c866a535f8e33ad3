import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type PreProvisioningHookResponse,
  preProvisioningHookEvent,
} from '../../../lib/protocol/fleet-provisioning.ts';
import { claimServiceFrom } from '../../services/claim-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { createEmfMetrics } from '../../shared/metrics.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'claim-hook';

/**
 * Builds the pre-provisioning hook of the claim template
 * (https://docs.aws.amazon.com/iot/latest/developerguide/pre-provisioning-hook.html): IoT invokes it on
 * every RegisterThing and provisions the device only on `allowProvisioning: true`. An event that does not
 * parse is refused, never thrown: a failing hook also denies, but with an error in the logs for nothing.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const metrics = createEmfMetrics(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const service = claimServiceFrom(dynamo, env, runtime.now);

  return async function handler(event: unknown): Promise<PreProvisioningHookResponse> {
    const parsed = preProvisioningHookEvent.safeParse(event);
    if (!parsed.success) {
      log.warn('provisioning refused: not a pre-provisioning hook event', { issues: parsed.error.message });
      metrics.put('ClaimsRefused', 1);
      return { allowProvisioning: false };
    }
    const verdict = await service.admit(parsed.data);
    const fields = {
      serialNumber: verdict.serialNumber,
      certificateId: parsed.data.certificateId,
      claimCertificateId: parsed.data.claimCertificateId,
    };
    if (verdict.response.allowProvisioning) {
      log.info('provisioning admitted', fields);
      metrics.put('ClaimsAdmitted', 1);
    } else {
      log.warn('provisioning refused', { ...fields, reason: verdict.reason });
      metrics.put('ClaimsRefused', 1);
    }
    return verdict.response;
  };
}
