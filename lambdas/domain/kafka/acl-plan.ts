import type { KafkaAclBinding } from '../../../lib/protocol/kafka-acls.ts';

/** One binding as a key: equal bindings (every field) give equal keys. */
export function aclKey(acl: KafkaAclBinding): string {
  return [
    acl.principal,
    acl.host,
    acl.resourceType,
    acl.resourceName,
    acl.patternType,
    acl.operation,
    acl.permission,
  ].join('\u0000');
}

/** What to create and what to remove so that the managed principals hold exactly the desired bindings. */
export interface AclPlan {
  readonly create: readonly KafkaAclBinding[];
  readonly remove: readonly KafkaAclBinding[];
}

/**
 * Plans ACL changes: bindings desired and missing are created; bindings of a managed principal that are
 * not desired are removed; bindings of any other principal are left alone, whatever they are. Running
 * the plan and planning again gives an empty plan (idempotent on every CloudFormation retry).
 */
export function planAcls(input: {
  readonly desired: readonly KafkaAclBinding[];
  readonly existing: readonly KafkaAclBinding[];
  readonly managed: readonly string[];
}): AclPlan {
  const managed = new Set(input.managed);
  const desired = new Map(input.desired.map((acl) => [aclKey(acl), acl]));
  const existing = new Map(
    input.existing.filter((acl) => managed.has(acl.principal)).map((acl) => [aclKey(acl), acl]),
  );
  return {
    create: [...desired].filter(([key]) => !existing.has(key)).map(([, acl]) => acl),
    remove: [...existing].filter(([key]) => !desired.has(key)).map(([, acl]) => acl),
  };
}
