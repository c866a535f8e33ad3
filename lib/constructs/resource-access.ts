import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import type { Access, Resource } from '../topology/model.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/** A topology resource as the runtime sees it: by physical name and ARN, never by CloudFormation export. */
export interface ResourceRef {
  /** The topology's name for it, e.g. `registry`. */
  readonly name: string;
  readonly resource: Resource;
  /** Table or bucket name. */
  readonly physicalName: string;
  readonly arn: string;
}

/**
 * What each access allows. Written out rather than taken from CDK's `grantReadData` / `grantRead`
 * because those add `index/*`, `s3:GetObject*`, `s3:GetBucket*`, `s3:List*` and `s3:Abort*`: more
 * than a handler needs, and each a cdk-nag finding to explain.
 */
const TABLE_ACTIONS = {
  read: [
    'dynamodb:BatchGetItem',
    'dynamodb:ConditionCheckItem',
    'dynamodb:DescribeTable',
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:Scan',
  ],
  write: [
    'dynamodb:BatchWriteItem',
    'dynamodb:DeleteItem',
    'dynamodb:DescribeTable',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
  ],
} as const;
/** Publishing as the platform: IoT Core's data plane Publish checks `iot:Publish` on the topic. */
const TOPIC_ACTIONS = ['iot:Publish'] as const;
const OBJECT_ACTIONS = {
  read: ['s3:GetObject', 's3:GetObjectVersion'],
  write: ['s3:PutObject', 's3:AbortMultipartUpload'],
} as const;

function parts(access: Access): Array<'read' | 'write'> {
  return access === 'readWrite' ? ['read', 'write'] : [access];
}

/** The IAM statements `access` to `ref` needs: the table and its named indexes, or the bucket's objects. */
export function resourceAccessStatements(ref: ResourceRef, access: Access): PolicyStatement[] {
  const { resource, arn } = ref;
  if (resource.kind === 'table') {
    return parts(access).map((part) => {
      // Reads may Query an index; writes always go through the table.
      const indexes = part === 'read' ? (resource.indexes ?? []).map((i) => `${arn}/index/${i.name}`) : [];
      return new PolicyStatement({ actions: [...TABLE_ACTIONS[part]], resources: [arn, ...indexes] });
    });
  }
  if (resource.kind === 'topics') {
    return [new PolicyStatement({ actions: [...TOPIC_ACTIONS], resources: [`${arn}/*`] })];
  }
  if (resource.kind === 'stream') {
    // Consuming is granted with the trigger (KafkaConsumer); producing needs the topic's write actions.
    if (access === 'read') return [];
    return [
      new PolicyStatement({
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        resources: [arn],
      }),
    ];
  }
  const statements = parts(access).map(
    (part) => new PolicyStatement({ actions: [...OBJECT_ACTIONS[part]], resources: [`${arn}/*`] }),
  );
  if (access !== 'write')
    statements.push(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [arn] }));
  return statements;
}

/**
 * Grants `role` exactly `access` to `ref`. A bucket grant names the bucket's objects as `<bucket>/*`
 * (object keys are data), and that one finding is acknowledged on the role's policy.
 */
export function grantResourceAccess(role: Role, ref: ResourceRef, access: Access): void {
  for (const statement of resourceAccessStatements(ref, access)) role.addToPrincipalPolicy(statement);
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (ref.resource.kind === 'topics' && policy !== undefined) {
    acknowledgeWildcardResource(
      policy,
      `${ref.arn}/*`,
      `Response topics under '${ref.resource.prefix}/' are named per thing and shadow at run time; the ` +
        'statement allows only iot:Publish, only below that prefix.',
    );
  }
  if (ref.resource.kind === 'bucket' && policy !== undefined) {
    acknowledgeWildcardResource(
      policy,
      `${ref.arn}/*`,
      `Objects of bucket '${ref.name}' are named by data (versions, device ids); the statement covers ` +
        `only this bucket's objects and only the ${access} object actions the topology declares.`,
    );
  }
}
