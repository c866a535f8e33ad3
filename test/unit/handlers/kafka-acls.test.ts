import { describe, expect, it } from 'vitest';
import { build } from '../../../lambdas/handlers/kafka-acls/app.ts';
import { SchemaValidationError } from '../../../lib/protocol/errors.ts';
import type { KafkaAclBinding } from '../../../lib/protocol/kafka-acls.ts';
import { InMemoryAclCluster, topicAcl } from '../../support/kafka-acl-cluster.ts';

const A = 'User:iot-rules-a';
const B = 'User:iot-rules-b';
const produce = (principal: string, topic = 'iot-telemetry'): KafkaAclBinding[] =>
  (['write', 'describe'] as const).map((operation) => topicAcl(principal, operation, topic));
const properties = (principals: string[], acls: KafkaAclBinding[]) => ({
  ServiceToken: 'arn:aws:lambda:eu-west-1:1:function:provider',
  Principals: principals,
  Acls: acls,
});

function rig() {
  const cluster = new InMemoryAclCluster();
  const lines: string[] = [];
  const handler = build({}, { write: (line) => lines.push(line), now: () => 0 }, cluster.connect);
  return { cluster, lines, handler };
}

describe('the Kafka ACL custom resource (an in-memory cluster stands in for MSK)', () => {
  it('creates the bindings on Create, under one fixed physical id, and closes its connection', async () => {
    // Prepare
    const { cluster, handler } = rig();
    // Act
    const result = await handler({ RequestType: 'Create', ResourceProperties: properties([A], produce(A)) });
    // Assess
    expect(result).toEqual({ PhysicalResourceId: 'fleetkit-kafka-acls', Data: { Created: 2, Removed: 0 } });
    expect(cluster.bindings()).toEqual(produce(A));
    expect(cluster.open).toBe(0);
  });

  it('changes nothing when CloudFormation sends the same Create again', async () => {
    // Prepare
    const { cluster, handler } = rig();
    const event = { RequestType: 'Create', ResourceProperties: properties([A], produce(A)) };
    await handler(event);
    // Act
    const again = await handler(event);
    // Assess
    expect(again.Data).toEqual({ Created: 0, Removed: 0 });
    expect(cluster.changes).toEqual(['create 2']);
  });

  it('moves the grants on Update, and takes everything back from a principal no longer managed', async () => {
    // Prepare
    const { cluster, handler } = rig();
    cluster.seed(...produce(A), ...produce(B));
    // Act
    const result = await handler({
      RequestType: 'Update',
      PhysicalResourceId: 'fleetkit-kafka-acls',
      ResourceProperties: properties([A], produce(A, 'iot-telemetry-v2')),
      OldResourceProperties: properties([A, B], [...produce(A), ...produce(B)]),
    });
    // Assess
    expect(result.Data).toEqual({ Created: 2, Removed: 4 });
    expect(cluster.bindings()).toEqual(produce(A, 'iot-telemetry-v2'));
  });

  it('never touches the ACLs of a principal it does not manage', async () => {
    // Prepare
    const { cluster, handler } = rig();
    const operator: KafkaAclBinding = { ...produce('User:operator')[0], operation: 'all' } as KafkaAclBinding;
    cluster.seed(operator);
    // Act
    await handler({ RequestType: 'Create', ResourceProperties: properties([A], produce(A)) });
    await handler({
      RequestType: 'Delete',
      PhysicalResourceId: 'fleetkit-kafka-acls',
      ResourceProperties: properties([A], produce(A)),
    });
    // Assess
    expect(cluster.bindings()).toEqual([operator]);
  });

  it('removes every binding of its principals on Delete', async () => {
    // Prepare
    const { cluster, handler } = rig();
    cluster.seed(...produce(A), ...produce(A, 'stale'));
    // Act
    const result = await handler({
      RequestType: 'Delete',
      PhysicalResourceId: 'fleetkit-kafka-acls',
      ResourceProperties: properties([A], produce(A)),
    });
    // Assess
    expect(result).toEqual({ PhysicalResourceId: 'fleetkit-kafka-acls', Data: { Created: 0, Removed: 4 } });
    expect(cluster.bindings()).toEqual([]);
  });

  it('lets a Delete succeed when the cluster is gone, and logs why', async () => {
    // Prepare
    const { cluster, lines, handler } = rig();
    cluster.unreachable = true;
    // Act
    const result = await handler({
      RequestType: 'Delete',
      PhysicalResourceId: 'fleetkit-kafka-acls',
      ResourceProperties: properties([A], produce(A)),
    });
    // Assess
    expect(result.Data.Removed).toBe(0);
    expect(lines.join('\n')).toMatch(/Kafka ACLs not removed.*ECONNREFUSED/);
  });

  it('fails a Create when the cluster cannot be reached (CloudFormation rolls back)', async () => {
    // Prepare
    const { cluster, handler } = rig();
    cluster.unreachable = true;
    // Act / Assess
    await expect(
      handler({ RequestType: 'Create', ResourceProperties: properties([A], produce(A)) }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });

  it.each([
    [
      'a binding of a principal it does not manage',
      { RequestType: 'Create', ResourceProperties: properties([A], produce(B)) },
      /Acls\.0\.principal: 'User:iot-rules-b' is not one of the managed Principals/,
    ],
    [
      'a principal that is not a user',
      { RequestType: 'Create', ResourceProperties: properties(['iot-rules'], []) },
      /Principals\.0: must be 'User:<name>'/,
    ],
    [
      'an unknown operation',
      {
        RequestType: 'Create',
        ResourceProperties: properties(
          [A],
          [{ ...produce(A)[0], operation: 'produce' } as unknown as KafkaAclBinding],
        ),
      },
      /operation/,
    ],
    [
      'an Update without its old properties',
      { RequestType: 'Update', PhysicalResourceId: 'x', ResourceProperties: properties([A], []) },
      /OldResourceProperties/,
    ],
  ])('refuses %s before connecting', async (_, event, message) => {
    // Prepare
    const { cluster, handler } = rig();
    // Act
    const error = await handler(event).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(SchemaValidationError);
    expect((error as Error).message).toMatch(message);
    expect(cluster.connections).toBe(0);
  });
});
