import type { KafkaAclBinding, KafkaAclsEvent } from '../../lib/protocol/kafka-acls.ts';
import { planAcls } from '../domain/kafka/acl-plan.ts';
import type { Logger } from '../shared/logger.ts';

/** The ACL operations of a Kafka cluster's admin API, as the ACL custom resource needs them. */
export interface KafkaAclAdmin {
  /** Every binding of `principal`, on any resource. */
  list(principal: string): Promise<KafkaAclBinding[]>;
  create(acls: readonly KafkaAclBinding[]): Promise<void>;
  /** Removes exactly these bindings. */
  remove(acls: readonly KafkaAclBinding[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** What the custom resource answers CloudFormation (through the provider framework). */
export interface AclsResult {
  readonly PhysicalResourceId: string;
  readonly Data: { readonly Created: number; readonly Removed: number };
}

/** One resource per cluster: the id never changes, so an update never deletes what it just made. */
export const KAFKA_ACLS_PHYSICAL_ID = 'fleetkit-kafka-acls';

async function reconcile(
  admin: KafkaAclAdmin,
  desired: readonly KafkaAclBinding[],
  managed: readonly string[],
): Promise<{ created: number; removed: number }> {
  const existing = (await Promise.all(managed.map((principal) => admin.list(principal)))).flat();
  const plan = planAcls({ desired, existing, managed });
  if (plan.remove.length > 0) await admin.remove(plan.remove);
  if (plan.create.length > 0) await admin.create(plan.create);
  return { created: plan.create.length, removed: plan.remove.length };
}

/**
 * Applies one custom resource event: Create and Update make the managed principals hold exactly the
 * desired bindings (an Update also takes back everything of a principal no longer managed); Delete
 * removes every binding of the managed principals. Delete is best effort: a cluster being deleted with
 * the stack may be gone already, and its ACLs with it.
 */
export async function applyAclsEvent(
  event: KafkaAclsEvent,
  deps: { readonly connect: () => Promise<KafkaAclAdmin>; readonly log: Logger },
): Promise<AclsResult> {
  const properties = event.ResourceProperties;
  if (event.RequestType === 'Delete') {
    let removed = 0;
    try {
      const admin = await deps.connect();
      try {
        removed = (await reconcile(admin, [], properties.Principals)).removed;
      } finally {
        await admin.disconnect();
      }
    } catch (error) {
      deps.log.warn('Kafka ACLs not removed; the cluster may be gone', {
        errorType: error instanceof Error ? error.name : typeof error,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    return { PhysicalResourceId: event.PhysicalResourceId, Data: { Created: 0, Removed: removed } };
  }
  const managed = [
    ...new Set([
      ...properties.Principals,
      ...(event.RequestType === 'Update' ? event.OldResourceProperties.Principals : []),
    ]),
  ];
  const admin = await deps.connect();
  try {
    const { created, removed } = await reconcile(admin, properties.Acls, managed);
    deps.log.info('Kafka ACLs reconciled', { created, removed, principals: managed.join(',') });
    return { PhysicalResourceId: KAFKA_ACLS_PHYSICAL_ID, Data: { Created: created, Removed: removed } };
  } finally {
    await admin.disconnect();
  }
}
