import { KafkaClient } from '@aws-sdk/client-kafka';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { rotationEvent, scramUsersEnv } from '../../../lib/protocol/scram-rotation.ts';
import { KafkajsScramProbe } from '../../adapters/kafkajs-scram-probe.ts';
import { SecretsManagerRotationSecrets } from '../../adapters/secrets-manager-rotation.ts';
import { type ScramProbe, ScramRotation } from '../../services/scram-rotation.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime, requireEnv } from '../../shared/runtime.ts';

const SERVICE = 'kafka-scram-rotation';

/**
 * The rotation function of the IoT rules' Kafka client secret: Secrets Manager calls it once per step.
 * Env: `SCRAM_USERS` (the two users and their MSK secrets), `MSK_CLUSTER_ARN`, `SCRAM_PROBE_TOPIC`.
 *
 * @param overrides the broker check and the pause between checks, for tests
 */
export function build(
  env: HandlerEnv,
  runtime: HandlerRuntime = processRuntime,
  overrides: { readonly probe?: ScramProbe; readonly sleep?: (ms: number) => Promise<void> } = {},
) {
  const log = createLogger(SERVICE, runtime);
  const users = parseWith(scramUsersEnv, env.SCRAM_USERS, 'rotation function env');
  const secrets = new SecretsManagerRotationSecrets(new SecretsManagerClient(aws(env, 'SECRETS_MANAGER')));
  const rotation = new ScramRotation({
    secrets,
    probe:
      overrides.probe ??
      new KafkajsScramProbe({
        kafkaClient: new KafkaClient(aws(env, 'KAFKA')),
        clusterArn: requireEnv(env, 'MSK_CLUSTER_ARN'),
        ...(env.SCRAM_PROBE_TOPIC ? { topic: env.SCRAM_PROBE_TOPIC } : {}),
      }),
    users,
    log,
    now: runtime.now,
    sleep: overrides.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
  });
  return async function handler(event: unknown): Promise<void> {
    await rotation.rotate(parseWith(rotationEvent, event, 'Secrets Manager rotation event'));
  };
}
