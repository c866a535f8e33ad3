import {
  type AclEntry,
  type AclFilter,
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Admin,
  ResourcePatternTypes,
} from 'kafkajs';
import type { KafkaAclBinding } from '../../lib/protocol/kafka-acls.ts';
import type { KafkaAclAdmin } from '../services/kafka-acls.ts';

/** The Kafka protocol's numbers for each name (kafkajs's enums, KIP-140). */
const RESOURCE_TYPES = {
  topic: AclResourceTypes.TOPIC,
  group: AclResourceTypes.GROUP,
  cluster: AclResourceTypes.CLUSTER,
  transactionalId: AclResourceTypes.TRANSACTIONAL_ID,
} as const;
const PATTERN_TYPES = {
  literal: ResourcePatternTypes.LITERAL,
  prefixed: ResourcePatternTypes.PREFIXED,
} as const;
const OPERATIONS = {
  all: AclOperationTypes.ALL,
  read: AclOperationTypes.READ,
  write: AclOperationTypes.WRITE,
  create: AclOperationTypes.CREATE,
  delete: AclOperationTypes.DELETE,
  alter: AclOperationTypes.ALTER,
  describe: AclOperationTypes.DESCRIBE,
  clusterAction: AclOperationTypes.CLUSTER_ACTION,
  describeConfigs: AclOperationTypes.DESCRIBE_CONFIGS,
  alterConfigs: AclOperationTypes.ALTER_CONFIGS,
  idempotentWrite: AclOperationTypes.IDEMPOTENT_WRITE,
} as const;
const PERMISSIONS = { allow: AclPermissionTypes.ALLOW, deny: AclPermissionTypes.DENY } as const;

/** A Kafka error code in an ACL answer, as an error naming the request. */
export class KafkaAclError extends Error {
  override readonly name = 'KafkaAclError';
}

function nameOf<T extends Record<string, number>>(table: T, value: number, what: string): keyof T {
  const found = Object.entries(table).find(([, number]) => number === value);
  if (found === undefined) throw new KafkaAclError(`the cluster answered an unknown ACL ${what}: ${value}`);
  return found[0] as keyof T;
}

function toEntry(acl: KafkaAclBinding): AclEntry {
  return {
    principal: acl.principal,
    host: acl.host,
    resourceType: RESOURCE_TYPES[acl.resourceType],
    resourceName: acl.resourceName,
    resourcePatternType: PATTERN_TYPES[acl.patternType],
    operation: OPERATIONS[acl.operation],
    permissionType: PERMISSIONS[acl.permission],
  };
}

/**
 * {@link KafkaAclAdmin} on kafkajs's admin client (DescribeAcls, CreateAcls, DeleteAcls). On MSK with
 * IAM, these need `kafka-cluster:DescribeCluster` and `kafka-cluster:AlterCluster` on the cluster
 * (https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html); the ACLs made bind the
 * SASL/SCRAM users, never IAM clients, which IAM policies authorize.
 */
export class KafkajsAclAdmin implements KafkaAclAdmin {
  constructor(private readonly admin: Admin) {}

  async list(principal: string): Promise<KafkaAclBinding[]> {
    const answer = await this.admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      principal,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    if (answer.errorCode !== 0) {
      throw new KafkaAclError(
        `DescribeAcls for ${principal} failed with error ${answer.errorCode}: ${answer.errorMessage ?? ''}`,
      );
    }
    return answer.resources.flatMap((resource) =>
      resource.acls
        .filter((acl) => acl.principal === principal)
        .map((acl) => ({
          principal: acl.principal,
          host: acl.host,
          resourceType: nameOf(RESOURCE_TYPES, resource.resourceType, 'resource type'),
          resourceName: resource.resourceName,
          patternType: nameOf(PATTERN_TYPES, resource.resourcePatternType, 'pattern type'),
          operation: nameOf(OPERATIONS, acl.operation, 'operation'),
          permission: nameOf(PERMISSIONS, acl.permissionType, 'permission'),
        })),
    );
  }

  async create(acls: readonly KafkaAclBinding[]): Promise<void> {
    await this.admin.createAcls({ acl: acls.map(toEntry) });
  }

  async remove(acls: readonly KafkaAclBinding[]): Promise<void> {
    // An exact filter per binding: a filter matches only bindings equal in every field.
    const filters: AclFilter[] = acls.map(toEntry);
    const answer = await this.admin.deleteAcls({ filters });
    const failed = answer.filterResponses.find((response) => response.errorCode !== 0);
    if (failed !== undefined) {
      throw new KafkaAclError(
        `DeleteAcls failed with error ${failed.errorCode}: ${failed.errorMessage ?? ''}`,
      );
    }
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }
}
