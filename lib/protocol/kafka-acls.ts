import * as z from 'zod';

/**
 * A Kafka ACL binding (https://kafka.apache.org/documentation/#security_authz): a principal may (or may
 * not) perform an operation on a resource, or on every resource whose name starts with a prefix. The
 * names are Kafka's, camel-cased; the kafkajs adapter maps them to the protocol's numbers.
 */
export const kafkaPrincipal = z
  .string()
  .regex(/^User:[A-Za-z0-9._@=-]{1,128}$/, "must be 'User:<name>' (a SASL/SCRAM user name)");

export const KAFKA_ACL_OPERATIONS = [
  'all',
  'read',
  'write',
  'create',
  'delete',
  'alter',
  'describe',
  'clusterAction',
  'describeConfigs',
  'alterConfigs',
  'idempotentWrite',
] as const;

export const kafkaAclBinding = z.strictObject({
  principal: kafkaPrincipal,
  /** The client host the binding applies to; `*` is any. */
  host: z.string().min(1).default('*'),
  resourceType: z.enum(['topic', 'group', 'cluster', 'transactionalId']),
  resourceName: z.string().min(1).max(249),
  patternType: z.enum(['literal', 'prefixed']),
  operation: z.enum(KAFKA_ACL_OPERATIONS),
  permission: z.enum(['allow', 'deny']),
});
export type KafkaAclBinding = z.output<typeof kafkaAclBinding>;

/**
 * What the ACL custom resource is given: the principals whose ACLs it owns (any binding of theirs not
 * listed is removed) and the bindings they should have. A binding of a principal it does not own is
 * refused: the resource never touches ACLs it was not made for.
 */
export const kafkaAclsProperties = z
  .object({
    Principals: z.array(kafkaPrincipal).min(1, 'must name the principals whose ACLs are managed'),
    Acls: z.array(kafkaAclBinding),
  })
  .superRefine((properties, ctx) => {
    properties.Acls.forEach((acl, i) => {
      if (!properties.Principals.includes(acl.principal)) {
        ctx.addIssue({
          code: 'custom',
          path: ['Acls', i, 'principal'],
          message: `'${acl.principal}' is not one of the managed Principals`,
        });
      }
    });
  });
export type KafkaAclsProperties = z.output<typeof kafkaAclsProperties>;

/**
 * The CloudFormation custom resource event the ACL function gets from the provider framework
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html), as far as it
 * reads it.
 */
export const kafkaAclsEvent = z.discriminatedUnion('RequestType', [
  z.object({ RequestType: z.literal('Create'), ResourceProperties: kafkaAclsProperties }),
  z.object({
    RequestType: z.literal('Update'),
    PhysicalResourceId: z.string().min(1),
    ResourceProperties: kafkaAclsProperties,
    OldResourceProperties: kafkaAclsProperties,
  }),
  z.object({
    RequestType: z.literal('Delete'),
    PhysicalResourceId: z.string().min(1),
    ResourceProperties: kafkaAclsProperties,
  }),
]);
export type KafkaAclsEvent = z.output<typeof kafkaAclsEvent>;
