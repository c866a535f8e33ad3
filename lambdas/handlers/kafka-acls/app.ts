import { KafkaClient } from '@aws-sdk/client-kafka';
import { kafkaAclsEvent } from '../../../lib/protocol/kafka-acls.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { KafkajsAclAdmin } from '../../adapters/kafkajs-acl-admin.ts';
import { createKafkaFromEnv } from '../../adapters/kafkajs-record-producer.ts';
import { type AclsResult, applyAclsEvent, type KafkaAclAdmin } from '../../services/kafka-acls.ts';
import { aws } from '../../shared/aws-config.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'kafka-acls';

/**
 * The Kafka ACL custom resource (through CloudFormation's provider framework): parses the event, then
 * reconciles the managed principals' ACLs over the admin API, signed in with IAM (`MSK_CLUSTER_ARN`,
 * `KAFKA_SASL_MECHANISM=aws-msk-iam`), the one identity the cluster lets manage ACLs once
 * `allow.everyone.if.no.acl.found` is false.
 *
 * @param connect opens the admin client; injected by tests, built from the env otherwise
 */
export function build(
  env: HandlerEnv,
  runtime: HandlerRuntime = processRuntime,
  connect?: () => Promise<KafkaAclAdmin>,
) {
  const log = createLogger(SERVICE, runtime);
  const kafkaClient = new KafkaClient(aws(env, 'KAFKA'));
  const open =
    connect ??
    (async () => {
      const admin = (await createKafkaFromEnv(env, kafkaClient)).admin();
      await admin.connect();
      return new KafkajsAclAdmin(admin);
    });
  return async function handler(event: unknown): Promise<AclsResult> {
    const request = parseWith(kafkaAclsEvent, event, 'Kafka ACL custom resource event');
    return applyAclsEvent(request, { connect: open, log });
  };
}
