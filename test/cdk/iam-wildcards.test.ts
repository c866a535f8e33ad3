import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Aws, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFleetkit } from '../../lib/stacks/fleetkit-app.ts';
import { flat } from './stream-topology.ts';

/**
 * Every identity policy of every stack, read from the synthesized templates: a resource with a `*` in
 * it is a wildcard, and each must match an entry below — its resource pattern, an action the entry
 * lists, and the condition the entry requires — or the test fails and names it. An entry is a decision
 * with its reason; adding one is a review.
 */
interface Allowed {
  /** The resource, as `flat` renders it (`<AWS::Partition>`, `<Ref>`, `<Id.Attr>`). */
  readonly resource: RegExp;
  readonly actions: readonly string[];
  /** A condition key the statement must carry. */
  readonly condition?: string;
  readonly reason: string;
}

const ACCOUNT = 'arn:<AWS::Partition>:[a-z0-9-]+:<AWS::Region>:<AWS::AccountId>';
const BUCKET_OBJECTS = (name: string) =>
  new RegExp(`^arn:<AWS::Partition>:s3:::fleetkit-test-${name}-<AWS::AccountId>-<AWS::Region>/\\*$`);

const ALLOWED: readonly Allowed[] = [
  {
    resource: /^\*$/,
    actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
    reason: 'X-Ray has no resource-level permissions; every traced function needs these two.',
  },
  {
    resource: /^\*$/,
    actions: [
      'ec2:CreateNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
      'ec2:DescribeSubnets',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeVpcs',
    ],
    reason:
      'Lambda in a VPC and Lambda MSK pollers make their network interfaces with the role: interface ids ' +
      'are unknown before they exist and ec2:Describe* has no resource-level permissions.',
  },
  {
    resource: /^\*$/,
    actions: [
      'ec2:CreateNetworkInterface',
      'ec2:CreateNetworkInterfacePermission',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:DescribeVpcs',
      'ec2:DescribeVpcAttribute',
      'ec2:DescribeSecurityGroups',
    ],
    reason: 'The IoT VPC rule destination role: the eight actions AWS IoT documents, for the same reason.',
  },
  {
    resource: /^\*$/,
    actions: ['iot:DescribeEndpoint'],
    reason: 'DescribeEndpoint (the account data endpoint lookup) has no resource-level permissions.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:topic/fleet/things/\\*/shadow/\\*$`),
    actions: ['iot:Publish'],
    reason: 'Shadow functions answer on topics named per thing: only fleet/things/+/shadow/#.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:topic/fleet/things/\\*/jobs/\\*$`),
    actions: ['iot:Publish'],
    reason: 'Jobs and rollout functions notify on topics named per thing: only fleet/things/+/jobs/#.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:topic/fleet/things/\\*/identity/\\*$`),
    actions: ['iot:Publish'],
    reason: 'Identity functions answer on topics named per thing: only fleet/things/+/identity/#.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:topic/devices/\\*/\\*/commands$`),
    actions: ['iot:Publish'],
    reason:
      "Command functions send requests on the seed's per-device topic: only devices/+/+/commands, never a device's telemetry, status or answers.",
  },
  {
    resource: /^\*$/,
    actions: ['iot:CreateCertificateFromCsr'],
    reason: 'CreateCertificateFromCsr (provisioning a device by its CSR) has no resource-level permissions.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:thing/\\*$`),
    actions: [
      'iot:DescribeThing',
      'iot:ListThingPrincipals',
      'iot:CreateThing',
      'iot:AttachThingPrincipal',
      'iot:DetachThingPrincipal',
    ],
    reason: 'Thing names are chosen when a device is provisioned, at run time.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:thing/\\*$`),
    actions: ['iot:UpdateThing'],
    reason:
      'The claim template provisioning role may update a thing it provisions again (a serial allowed again); things are named by serial numbers at run time.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:thingtype/\\*$`),
    actions: ['iot:DescribeThingType'],
    reason: 'Provisioning checks that the thing type asked for exists; DescribeThingType only.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:cert/\\*$`),
    actions: [
      'iot:DescribeCertificate',
      'iot:ListPrincipalThings',
      'iot:ListAttachedPolicies',
      'iot:UpdateCertificate',
      'iot:DeleteCertificate',
      'iot:AttachPolicy',
      'iot:DetachPolicy',
      'iot:AttachThingPrincipal',
      'iot:DetachThingPrincipal',
    ],
    reason: 'Certificate ids are assigned by IoT; provisioning, rotation and revocation act on them.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:key/\\*$`),
    actions: ['kms:Sign', 'kms:GetPublicKey'],
    condition: 'kms:ResourceAliases',
    reason: "A signing key's id is generated; the statement names the key by its alias in a condition.",
  },
  {
    resource: BUCKET_OBJECTS('firmware'),
    actions: [
      's3:GetObject',
      's3:GetObjectVersion',
      's3:PutObject',
      's3:AbortMultipartUpload',
      's3:DeleteObject',
    ],
    reason: 'Firmware objects are named by version at run time; the grant covers this bucket only.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:log-group:AWSIotLogsV2:\\*$`),
    actions: [
      'logs:CreateLogGroup',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'logs:PutMetricFilter',
      'logs:PutRetentionPolicy',
    ],
    reason: "IoT Core's logging role: IoT names its log streams; the group is IoT's own, AWSIotLogsV2.",
  },
  {
    resource: /^<KafkaAclsFunction\w+\.Arn>:\*$/,
    actions: ['lambda:InvokeFunction'],
    reason:
      "The Kafka ACL resource's provider framework invokes its function's versions (CDK grants <arn>:*).",
  },
  {
    resource: BUCKET_OBJECTS('rule-errors'),
    actions: ['s3:PutObject'],
    reason: 'IoT rule error actions name each object per message (topic, time, uuid).',
  },
  {
    resource: BUCKET_OBJECTS('kafka-dlq'),
    actions: ['s3:PutObject'],
    reason: 'Lambda names the objects of the Kafka batches it gave up on.',
  },
  {
    resource: new RegExp(`^${ACCOUNT}:<import fleetkit-test-runtime-http-api>/\\$default/\\*$`),
    actions: ['execute-api:Invoke'],
    reason:
      'Operators signed in to the console call every route of this one HTTP API, as the operator CLI does.',
  },
  {
    resource: /^arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>\/\*$/,
    actions: ['s3:GetBucket*', 's3:GetObject*', 's3:List*'],
    reason: "BucketDeployment reads the console's zip from the bootstrap asset bucket (a content-hash key).",
  },
  {
    resource: /^<import fleetkit-test-console-site-bucket-arn>\/\*$/,
    actions: [
      's3:Abort*',
      's3:DeleteObject*',
      's3:GetBucket*',
      's3:GetObject*',
      's3:List*',
      's3:PutObject',
      's3:PutObjectLegalHold',
      's3:PutObjectRetention',
      's3:PutObjectTagging',
      's3:PutObjectVersionTagging',
    ],
    reason: "BucketDeployment syncs the console's files into the site bucket: every object of that bucket.",
  },
  {
    resource: /^\*$/,
    actions: ['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation'],
    reason: "BucketDeployment invalidates the console distribution's cache after a deploy (CDK grants *).",
  },
];

interface Grant {
  readonly where: string;
  readonly action: string;
  readonly resource: string;
  readonly conditionKeys: readonly string[];
}

interface PolicyStatementJson {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** Each (action, resource) an Allow statement of an identity policy in `template` grants. */
function grantsOf(
  stackName: string,
  template: { Resources?: Record<string, { Type: string; Properties?: never }> },
): Grant[] {
  return Object.entries(template.Resources ?? {}).flatMap(([id, resource]) => {
    const properties = (resource.Properties ?? {}) as {
      PolicyDocument?: { Statement: PolicyStatementJson[] };
      Policies?: Array<{ PolicyDocument: { Statement: PolicyStatementJson[] } }>;
    };
    const documents =
      resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy'
        ? [properties.PolicyDocument]
        : resource.Type === 'AWS::IAM::Role'
          ? (properties.Policies ?? []).map((policy) => policy.PolicyDocument)
          : [];
    return documents.flatMap((document) =>
      (document?.Statement ?? [])
        .filter((statement) => statement.Effect === 'Allow')
        .flatMap((statement) =>
          [statement.Action].flat().flatMap((action) =>
            [statement.Resource ?? '*'].flat().map((resource) => ({
              where: `${stackName}/${id}`,
              action,
              resource: flat(resource),
              conditionKeys: Object.values(statement.Condition ?? {}).flatMap((keys) => Object.keys(keys)),
            })),
          ),
        ),
    );
  });
}

/** The wildcard grants no {@link ALLOWED} entry covers, described. */
function unlisted(grants: readonly Grant[]): string[] {
  return grants
    .filter((grant) => grant.resource.includes('*'))
    .filter(
      (grant) =>
        !ALLOWED.some(
          (entry) =>
            entry.resource.test(grant.resource) &&
            entry.actions.includes(grant.action) &&
            (entry.condition === undefined || grant.conditionKeys.includes(entry.condition)),
        ),
    )
    .map((grant) => `${grant.where}: ${grant.action} on ${grant.resource}`);
}

const CDK_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;
const dir = mkdtempSync(join(tmpdir(), 'fleetkit-iam-'));
let grants: Grant[];

beforeAll(() => {
  // Every stack, the optional edge stack included (its artifact is a placeholder file).
  const artifactFile = join(dir, 'fleetkit-edge.zip');
  writeFileSync(artifactFile, 'placeholder artifact');
  const app = new App({
    outdir: join(dir, 'cdk.out'),
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  buildFleetkit(app, { stage: 'test', edge: { artifactFile, tokenExchangeRoleName: 'CoreRole' } });
  const assembly = app.synth();
  grants = assembly.stacks.flatMap((stack) => grantsOf(stack.stackName, stack.template));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('IAM wildcards', () => {
  it('reads the identity policies of every stack', () => {
    // Assess
    const stacks = new Set(grants.map((grant) => grant.where.split('/')[0]));
    expect(stacks).toEqual(
      new Set([
        'fleetkit-test-streaming',
        'fleetkit-test-runtime',
        'fleetkit-test-monitoring',
        'fleetkit-test-edge',
        'fleetkit-test-console',
      ]),
    );
  });

  it('grants no wildcard resource that is not on the list, with its reason', () => {
    // Act / Assess
    expect(unlisted(grants)).toEqual([]);
  });

  it('keeps no entry on the list that nothing uses', () => {
    // Act
    const unused = ALLOWED.filter(
      (entry) =>
        !grants.some((grant) => entry.resource.test(grant.resource) && entry.actions.includes(grant.action)),
    );
    // Assess
    expect(unused.map((entry) => entry.reason)).toEqual([]);
  });

  const arn = (service: string, resource: string) =>
    `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
  it.each([
    ['a bare * for an action that has resource-level permissions', 's3:GetObject', '*', {}],
    ['every object of an unlisted bucket', 's3:GetObject', `arn:${Aws.PARTITION}:s3:::other/*`, {}],
    ['a listed action on the whole thing namespace', 'iot:Publish', arn('iot', 'topic/fleet/*'), {}],
    ['a listed action on a listed resource, without its condition', 'kms:Sign', arn('kms', 'key/*'), {}],
    [
      'an unlisted action on a listed resource',
      'iot:Subscribe',
      arn('iot', 'topic/fleet/things/*/jobs/*'),
      {},
    ],
  ])('reports %s', (_, action, resource, conditions) => {
    // Prepare
    const stack = new Stack(new App({ builtinCloudFormationValidation: false }), 'Wide');
    const role = new Role(stack, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: [action], resources: [resource], conditions }));
    // Act
    const found = unlisted(grantsOf('Wide', Template.fromStack(stack).toJSON()));
    // Assess
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(action);
  });
});
