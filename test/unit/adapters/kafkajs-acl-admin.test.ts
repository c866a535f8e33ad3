import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Admin,
  type DescribeAclResponse,
  ResourcePatternTypes,
} from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaAclError, KafkajsAclAdmin } from '../../../lambdas/adapters/kafkajs-acl-admin.ts';
import type { KafkaAclBinding } from '../../../lib/protocol/kafka-acls.ts';

/**
 * kafkajs's admin client, recording requests and answering what a broker would: there is no broker with
 * an authorizer on this machine, so this checks the adapter speaks kafkajs's shapes and the protocol's
 * numbers (KIP-140), not that a broker accepts them.
 */
function fakeAdmin(answers: { describe?: Partial<DescribeAclResponse>; deleteErrorCode?: number } = {}) {
  const requests: Array<{ call: string; body: unknown }> = [];
  const admin = {
    describeAcls: async (body: unknown) => {
      requests.push({ call: 'describeAcls', body });
      return { throttleTime: 0, errorCode: 0, resources: [], ...answers.describe };
    },
    createAcls: async (body: unknown) => {
      requests.push({ call: 'createAcls', body });
      return true;
    },
    deleteAcls: async (body: unknown) => {
      requests.push({ call: 'deleteAcls', body });
      return {
        throttleTime: 0,
        filterResponses: [{ errorCode: answers.deleteErrorCode ?? 0, matchingAcls: [] }],
      };
    },
    disconnect: async () => {
      requests.push({ call: 'disconnect', body: undefined });
    },
  } as unknown as Admin;
  return { admin, requests };
}

const WRITE: KafkaAclBinding = {
  principal: 'User:iot-rules-a',
  host: '*',
  resourceType: 'topic',
  resourceName: 'iot-telemetry',
  patternType: 'literal',
  operation: 'write',
  permission: 'allow',
};
const WRITE_ENTRY = {
  principal: 'User:iot-rules-a',
  host: '*',
  resourceType: AclResourceTypes.TOPIC,
  resourceName: 'iot-telemetry',
  resourcePatternType: ResourcePatternTypes.LITERAL,
  operation: AclOperationTypes.WRITE,
  permissionType: AclPermissionTypes.ALLOW,
};

describe('KafkajsAclAdmin', () => {
  it('creates bindings with the protocol numbers of each name', async () => {
    // Prepare
    const { admin, requests } = fakeAdmin();
    // Act
    await new KafkajsAclAdmin(admin).create([
      WRITE,
      { ...WRITE, operation: 'describe', patternType: 'prefixed' },
    ]);
    // Assess
    expect(requests).toEqual([
      {
        call: 'createAcls',
        body: {
          acl: [
            WRITE_ENTRY,
            {
              ...WRITE_ENTRY,
              operation: AclOperationTypes.DESCRIBE,
              resourcePatternType: ResourcePatternTypes.PREFIXED,
            },
          ],
        },
      },
    ]);
  });

  it("lists one principal's bindings on any resource, by name", async () => {
    // Prepare
    const { admin, requests } = fakeAdmin({
      describe: {
        resources: [
          {
            resourceType: AclResourceTypes.TOPIC,
            resourceName: 'iot-telemetry',
            resourcePatternType: ResourcePatternTypes.LITERAL,
            acls: [
              {
                principal: 'User:iot-rules-a',
                host: '*',
                operation: AclOperationTypes.WRITE,
                permissionType: AclPermissionTypes.ALLOW,
              },
            ],
          },
          {
            resourceType: AclResourceTypes.GROUP,
            resourceName: 'g',
            resourcePatternType: ResourcePatternTypes.PREFIXED,
            acls: [
              {
                principal: 'User:iot-rules-a',
                host: '10.0.0.1',
                operation: AclOperationTypes.READ,
                permissionType: AclPermissionTypes.DENY,
              },
            ],
          },
        ],
      },
    });
    // Act
    const listed = await new KafkajsAclAdmin(admin).list('User:iot-rules-a');
    // Assess
    expect(requests[0]).toEqual({
      call: 'describeAcls',
      body: {
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        principal: 'User:iot-rules-a',
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      },
    });
    expect(listed).toEqual([
      WRITE,
      {
        principal: 'User:iot-rules-a',
        host: '10.0.0.1',
        resourceType: 'group',
        resourceName: 'g',
        patternType: 'prefixed',
        operation: 'read',
        permission: 'deny',
      },
    ]);
  });

  it('deletes with one exact filter per binding, so nothing else matches', async () => {
    // Prepare
    const { admin, requests } = fakeAdmin();
    // Act
    await new KafkajsAclAdmin(admin).remove([WRITE]);
    // Assess
    expect(requests).toEqual([{ call: 'deleteAcls', body: { filters: [WRITE_ENTRY] } }]);
  });

  it.each([
    [
      'a describe error',
      fakeAdmin({ describe: { errorCode: 31, errorMessage: 'Cluster authorization failed' } }),
      (a: KafkajsAclAdmin) => a.list('User:x'),
      /error 31: Cluster authorization failed/,
    ],
    [
      'a delete error',
      fakeAdmin({ deleteErrorCode: 31 }),
      (a: KafkajsAclAdmin) => a.remove([WRITE]),
      /DeleteAcls failed with error 31/,
    ],
    [
      'an operation it has no name for',
      fakeAdmin({
        describe: {
          resources: [
            {
              resourceType: AclResourceTypes.TOPIC,
              resourceName: 't',
              resourcePatternType: ResourcePatternTypes.LITERAL,
              acls: [
                {
                  principal: 'User:x',
                  host: '*',
                  operation: 99 as AclOperationTypes,
                  permissionType: AclPermissionTypes.ALLOW,
                },
              ],
            },
          ],
        },
      }),
      (a: KafkajsAclAdmin) => a.list('User:x'),
      /unknown ACL operation: 99/,
    ],
  ])('throws a KafkaAclError on %s', async (_, fake, act, message) => {
    // Act
    const error = await act(new KafkajsAclAdmin(fake.admin)).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(KafkaAclError);
    expect((error as Error).message).toMatch(message);
  });
});
