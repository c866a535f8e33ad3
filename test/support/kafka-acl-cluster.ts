import { aclKey } from '../../lambdas/domain/kafka/acl-plan.ts';
import type { KafkaAclAdmin } from '../../lambdas/services/kafka-acls.ts';
import type { KafkaAclBinding } from '../../lib/protocol/kafka-acls.ts';

/** An allow binding of `principal` on a literal topic. */
export function topicAcl(
  principal: string,
  operation: KafkaAclBinding['operation'],
  topic = 'iot-telemetry',
): KafkaAclBinding {
  return {
    principal,
    host: '*',
    resourceType: 'topic',
    resourceName: topic,
    patternType: 'literal',
    operation,
    permission: 'allow',
  };
}

/**
 * The ACLs of a Kafka cluster, in memory, with Kafka's semantics for what the ACL resource uses:
 * creating an existing binding is a no-op, deleting removes exact matches. This machine has no Kafka
 * broker with an authorizer (the Kafka tests use librdkafka's mock cluster, which has no ACL API), so
 * the handler's flows are tested against this, and the kafkajs adapter against kafkajs's request shapes.
 */
export class InMemoryAclCluster {
  readonly acls = new Map<string, KafkaAclBinding>();
  connections = 0;
  open = 0;
  /** Calls that changed something, in order. */
  readonly changes: string[] = [];
  /** Makes the next connect fail (a cluster that is gone). */
  unreachable = false;

  seed(...acls: KafkaAclBinding[]): void {
    for (const acl of acls) this.acls.set(aclKey(acl), acl);
  }

  bindings(): KafkaAclBinding[] {
    return [...this.acls.values()];
  }

  connect = async (): Promise<KafkaAclAdmin> => {
    if (this.unreachable) throw new Error('connect ECONNREFUSED');
    this.connections += 1;
    this.open += 1;
    return {
      list: async (principal) => this.bindings().filter((acl) => acl.principal === principal),
      create: async (acls) => {
        this.changes.push(`create ${acls.length}`);
        for (const acl of acls) this.acls.set(aclKey(acl), acl);
      },
      remove: async (acls) => {
        this.changes.push(`remove ${acls.length}`);
        for (const acl of acls) this.acls.delete(aclKey(acl));
      },
      disconnect: async () => {
        this.open -= 1;
      },
    };
  };
}
