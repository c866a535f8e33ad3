import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTClient } from '@aws-sdk/client-iot';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { RETIRING_SHARDS } from '../../adapters/dynamo-certificate-store.ts';
import { CertificateSweeper } from '../../services/certificate-sweeper.ts';
import { identityPortsFrom } from '../../services/identity-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'certificate-sweeper';

/** Builds the scheduled deletion of certificates retired by rotations whose grace period has passed. */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const sweeper = new CertificateSweeper({
    ...identityPortsFrom({ dynamo, iot: new IoTClient(aws(env, 'IOT')), env }),
    shards: RETIRING_SHARDS,
  });

  return async function handler(_event: unknown): Promise<{ deleted: number }> {
    const deleted = await sweeper.sweep(runtime.now());
    if (deleted > 0) log.info('retired certificates deleted', { deleted });
    return { deleted };
  };
}
