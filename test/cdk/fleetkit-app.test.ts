import { readFileSync } from 'node:fs';
import { App, type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DevicePolicy, devicePolicySize, IOT_POLICY_MAX_CHARS } from '../../lib/constructs/device-policy.ts';
import { kafkaKeyTemplate } from '../../lib/constructs/stream-ingest-rule.ts';
import { DEVICE_PERMISSIONS, type DevicePermission } from '../../lib/protocol/device-policy.ts';
import { buildFleetkit, type Fleetkit } from '../../lib/stacks/fleetkit-app.ts';
import { FleetkitNames } from '../../lib/stacks/names.ts';
import { kebabCase, signingKeyAlias } from '../../lib/topology/env.ts';
import {
  type Access,
  accessExtras,
  accessLevel,
  IOT_SQL_VERSION,
  renderRuleSql,
  resourceEnvName,
  TABLE_EXTRA_ACTIONS,
  type Topology,
  topicIamPattern,
} from '../../lib/topology/index.ts';
import { topology } from '../../lib/topology.ts';
import { flat } from './stream-topology.ts';

/** The feature flags `cdk synth` uses, so tests synthesize what deploys. */
const CDK_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;
const STAGE = 'test';
const functions: Topology['functions'] = topology.functions;
const resources: Topology['resources'] = topology.resources;

/** Placeholder bundling and no CloudFormation validation keep this file fast. */
function synth(): { app: App; fleetkit: Fleetkit } {
  const app = new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  return { app, fleetkit: buildFleetkit(app, { stage: STAGE }) };
}

/** The functions function `name` may invoke: those whose `invokedBy` lists it. */
function invokedBy(name: string): string[] {
  return Object.entries(functions)
    .filter(([, spec]) => spec.invokedBy?.includes(name) === true)
    .map(([target]) => target);
}

interface Statement {
  actions: string[];
  resources: string[];
}

let app: App;
let fleetkit: Fleetkit;
let data: Template;
let streaming: Template;
let runtime: Template;

function logicalId(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** Every Allow statement in the policies attached to the role of topology function `name`. */
function statementsOf(name: string): Statement[] {
  const fn = fleetkit.runtime.functions[name];
  if (fn === undefined) throw new Error(`no function ${name}`);
  const roleId = logicalId(fleetkit.runtime, fn.role);
  return Object.values(runtime.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
    .map(
      (s: {
        Action: string | string[];
        Resource: unknown;
        Condition?: Record<string, Record<string, unknown>>;
      }) => {
        // A key is granted on `key/*` with its alias as a condition: the alias names which key it is.
        const aliases = [s.Condition?.['ForAnyValue:StringEquals']?.['kms:ResourceAliases'] ?? []].flat();
        const resources = [s.Resource].flat().map(flat);
        return {
          actions: [s.Action].flat(),
          resources:
            aliases.length === 0
              ? resources
              : resources.flatMap((r) => aliases.map((alias) => `${r}#${alias}`)),
        };
      },
    );
}

const TABLE_READS = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'];
const TABLE_WRITES = ['dynamodb:PutItem', 'dynamodb:UpdateItem'];
const BUCKET_READS = ['s3:GetObject', 's3:ListBucket'];
const BUCKET_WRITES = ['s3:PutObject', 's3:DeleteObject'];
const TOPIC_WRITES = ['iot:Publish'];
const STREAM_READS = ['kafka-cluster:ReadData'];
const STREAM_WRITES = ['kafka-cluster:WriteData'];
/** The IoT registry: describing and listing; making, changing, attaching, deleting. */
const THINGS_READS = [
  'iot:DescribeCertificate',
  'iot:DescribeThing',
  'iot:DescribeThingType',
  'iot:ListThingPrincipals',
  'iot:ListPrincipalThings',
  'iot:ListAttachedPolicies',
];
const THINGS_WRITES = [
  'iot:UpdateCertificate',
  'iot:CreateThing',
  'iot:CreateCertificateFromCsr',
  'iot:DeleteCertificate',
  'iot:AttachPolicy',
  'iot:DetachPolicy',
  'iot:AttachThingPrincipal',
  'iot:DetachThingPrincipal',
];
/**
 * What any function may hold besides its declared uses: its logs, tracing, the async dead-letter queue,
 * and for stream users the VPC network interfaces and the cluster-level Kafka actions (connect, find
 * brokers, idempotent producing, its consumer group).
 */
const PLATFORM_ACTIONS =
  /^(logs:(CreateLogStream|PutLogEvents)|xray:Put\w+|sqs:SendMessage|ec2:(CreateNetworkInterface|DeleteNetworkInterface|Describe\w+|(Assign|Unassign)PrivateIpAddresses)|kafka:(DescribeCluster(V2)?|GetBootstrapBrokers)|kafka-cluster:(Connect|DescribeClusterDynamicConfiguration|WriteDataIdempotently|AlterGroup|DescribeGroup))$/;

/** A physical name as the template spells it: `fleetkit-test-firmware-<AWS::AccountId>-<AWS::Region>`. */
function physicalName(resourceName: string): string {
  const resource = resources[resourceName];
  if (resource?.kind === 'topics') return resource.filter;
  if (resource?.kind === 'stream') return resource.topic;
  if (resource?.kind === 'signingKey') return signingKeyAlias(fleetkit.names.stage, resourceName);
  if (resource?.kind === 'things') return fleetkit.names.devicePolicy;
  const name =
    resource?.kind === 'table' ? fleetkit.names.table(resourceName) : fleetkit.names.bucket(resourceName);
  return flat(fleetkit.runtime.resolve(name));
}

/**
 * Whether a flattened ARN is one of topology resource `resourceName`'s, in this stage. A Kafka topic's
 * ARN is `<cluster account part>:topic/<cluster name and id>/<topic>`, split from the cluster ARN.
 */
function isArnOf(arn: string, resourceName: string): boolean {
  const kind = resources[resourceName]?.kind;
  const name = physicalName(resourceName);
  if (kind === 'stream') return arn.includes(':topic/') && arn.endsWith(`/${name}`);
  if (kind === 'topics') return arn.endsWith(`:topic/${topicIamPattern(name)}`);
  // Keys are granted by alias (a condition), on `key/*`: the key id is generated at deploy time.
  if (kind === 'signingKey') return arn.includes(':kms:') && arn.endsWith(`:key/*#${name}`);
  // Things and certificates are named at run time (CreateCertificateFromCsr: see onlyCreateFromCsr).
  if (kind === 'things') return /:iot:.*:(thing|thingtype|cert)\/\*$/.test(arn);
  return arn.includes(kind === 'table' ? `:table/${name}` : `:::${name}`);
}

/**
 * iot:CreateCertificateFromCsr has no resource-level permission: its statement names `*` (policy
 * minimization may merge it with the platform's own `*` actions, X-Ray's).
 */
function onlyCreateFromCsr(statement: { actions: string[]; resources: string[] }): boolean {
  return (
    statement.resources.every((r) => r === '*') &&
    statement.actions.includes('iot:CreateCertificateFromCsr') &&
    statement.actions.every((a) => a === 'iot:CreateCertificateFromCsr' || PLATFORM_ACTIONS.test(a))
  );
}

beforeAll(() => {
  ({ app, fleetkit } = synth());
  data = Template.fromStack(fleetkit.data);
  streaming = Template.fromStack(fleetkit.streaming);
  runtime = Template.fromStack(fleetkit.runtime);
});

describe('stacks', () => {
  it('are named fleetkit-<stage>-<part>; runtime depends on data and streaming, monitoring on runtime', () => {
    // Act
    const { data, streaming, runtime, monitoring } = fleetkit;
    const names = [data, streaming, runtime, monitoring].map((s) => s.stackName);
    // Assess
    expect(names).toEqual([
      'fleetkit-test-data',
      'fleetkit-test-streaming',
      'fleetkit-test-runtime',
      'fleetkit-test-monitoring',
    ]);
    expect(runtime.dependencies).toEqual(expect.arrayContaining([data, streaming]));
    expect(monitoring.dependencies).toEqual(expect.arrayContaining([runtime]));
    expect([...data.dependencies, ...streaming.dependencies]).toEqual([]);
  });

  it('refuses a stage that cannot be part of resource names, showing it', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    // Act / Assess
    expect(() => buildFleetkit(app, { stage: 'Prod_1' })).toThrow(/got 'Prod_1'/);
  });

  it('fits the longest stage it accepts into every bucket name', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    // Act / Assess
    expect(() => buildFleetkit(app, { stage: 'abcdefghijkl' })).not.toThrow();
  });

  it('refuses a bucket name S3 could not hold, showing it', () => {
    // Act / Assess
    expect(() => new FleetkitNames('staging').bucket('firmwareImagesOfEveryModel')).toThrow(
      /got 'staging-firmware-images-of-every-model'/,
    );
  });

  it('refuses a log retention CloudWatch does not offer, showing it', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    // Act / Assess
    expect(() => buildFleetkit(app, { stage: STAGE, logRetentionDays: 31 })).toThrow(/got 31/);
  });
});

describe('functions', () => {
  it.each(Object.keys(functions))('%s runs its handler on Node 24, arm64, traced, with its sizes', (name) => {
    // Prepare
    const spec = functions[name];
    const fn = fleetkit.runtime.functions[name];
    // Act
    const props =
      runtime.toJSON().Resources[logicalId(fleetkit.runtime, fn?.function as IConstruct)].Properties;
    // Assess
    expect(props).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      MemorySize: spec?.memoryMiB ?? 256,
      Timeout: spec?.timeoutSeconds ?? 10,
      Description: spec?.description,
      LoggingConfig: { LogGroup: { Ref: logicalId(fleetkit.runtime, fn?.logGroup as IConstruct) } },
    });
  });

  it.each(Object.keys(functions))('%s gets exactly one env var per resource it uses', (name) => {
    // Prepare
    const fn = fleetkit.runtime.functions[name];
    const expected: Record<string, string> = {
      STAGE,
      NODE_OPTIONS: '--enable-source-maps',
      ...functions[name]?.settings,
    };
    for (const used of Object.keys(functions[name]?.uses ?? {})) {
      const resource = resources[used];
      if (resource === undefined) throw new Error(`unknown resource ${used}`);
      expected[resourceEnvName(used, resource)] = physicalName(used);
      // Stream users find the brokers from the cluster, and sign in with IAM.
      if (resource.kind === 'stream') {
        expected.MSK_CLUSTER_ARN = expect.stringMatching(/KafkaCluster/) as unknown as string;
        expected.KAFKA_SASL_MECHANISM = 'aws-msk-iam';
      }
      // Publishers are told the account's IoT data endpoint, looked up at deploy time.
      if (resource.kind === 'topics') {
        expected.AWS_ENDPOINT_URL_IOT_DATA_PLANE = expect.stringMatching(
          /^https:\/\/<IotDataEndpointLookup\w+\.endpointAddress>$/,
        ) as unknown as string;
      }
      // Provisioning hands devices the TLS 1.3 domain configuration, looked up at deploy time.
      if (resource.kind === 'things') {
        expected.DEVICE_ENDPOINT = expect.stringMatching(
          /^<DeviceEndpointLookup\w+\.domainName>$/,
        ) as unknown as string;
      }
    }
    // A function that may invoke another (its `invokedBy` names this one) is told the other's name.
    for (const target of invokedBy(name))
      expected[`${kebabCase(target).toUpperCase().replaceAll('-', '_')}_FUNCTION_NAME`] =
        `fleetkit-${STAGE}-${kebabCase(target)}`;
    // Act
    const env: Record<string, unknown> =
      runtime.toJSON().Resources[logicalId(fleetkit.runtime, fn?.function as IConstruct)].Properties
        .Environment.Variables;
    // Assess
    expect(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, flat(v)]))).toEqual(expected);
  });

  it('has no role with an AWS managed policy', () => {
    // Act
    const roles = Object.values(runtime.findResources('AWS::IAM::Role'));
    // Assess
    expect(roles.filter((role) => role.Properties.ManagedPolicyArns !== undefined)).toEqual([]);
  });
});

describe('least privilege', () => {
  it('lets api-devices read and update the registry (PATCH), and touch nothing of the firmware bucket', () => {
    // Act
    const statements = statementsOf('apiDevices');
    const actions = statements.flatMap((s) => s.actions);
    // Assess
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']),
    );
    expect(statements.filter((s) => s.resources.some((r) => isArnOf(r, 'firmware')))).toEqual([]);
  });

  it('lets ingest-status write the registry but not read or scan it', () => {
    // Act
    const actions = statementsOf('ingestStatus').flatMap((s) => s.actions);
    // Assess
    expect(actions).toContain('dynamodb:UpdateItem');
    expect(actions.filter((a) => TABLE_READS.includes(a))).toEqual([]);
  });

  it('lets api-devices query the byType index by name, not every index', () => {
    // Act
    const resourcesOf = statementsOf('apiDevices').flatMap((s) => s.resources);
    // Assess
    expect(resourcesOf).toContain(
      `arn:<AWS::Partition>:dynamodb:<AWS::Region>:<AWS::AccountId>:table/fleetkit-test-registry/index/byType`,
    );
    expect(resourcesOf.filter((r) => r.includes('/index/*'))).toEqual([]);
  });

  it.each(Object.keys(functions))('%s may touch only what it uses, in the way it uses it', (name) => {
    // Prepare
    const uses: Readonly<Record<string, Access | undefined>> = functions[name]?.uses ?? {};
    // Act
    const statements = statementsOf(name);
    // Assess
    for (const resourceName of Object.keys(resources)) {
      const onIt = statements.filter(
        (s) =>
          s.resources.some((r) => isArnOf(r, resourceName)) ||
          (resources[resourceName]?.kind === 'things' && onlyCreateFromCsr(s)),
      );
      const actions = onIt.flatMap((s) => s.actions);
      const use = uses[resourceName];
      const access = use === undefined ? undefined : accessLevel(use);
      const resource = resources[resourceName];
      const kind = resource?.kind;
      // A stream is read through a Kafka trigger only; a `read` use without one needs no grant.
      const consumed =
        resource?.kind === 'stream' &&
        (functions[name]?.kafka ?? []).some((trigger) => trigger.topic === resource.topic);
      const [reads, writes]: [readonly string[], readonly string[]] =
        kind === 'table'
          ? [TABLE_READS, TABLE_WRITES]
          : kind === 'topics'
            ? [[], TOPIC_WRITES]
            : kind === 'stream'
              ? [consumed ? STREAM_READS : [], STREAM_WRITES]
              : kind === 'signingKey'
                ? [['kms:GetPublicKey'], ['kms:Sign']]
                : kind === 'things'
                  ? [THINGS_READS, THINGS_WRITES]
                  : [BUCKET_READS, BUCKET_WRITES];
      if (access === undefined) expect(onIt, `${name} on ${resourceName}`).toEqual([]);
      if (access === 'read') expect(actions.filter((a) => writes.includes(a))).toEqual([]);
      if (access === 'write') expect(actions.filter((a) => reads.includes(a))).toEqual([]);
      if ((access === 'read' || access === 'readWrite') && reads.length > 0)
        expect(actions).toContain(reads[0]);
      if (access === 'write' || access === 'readWrite') expect(actions).toContain(writes[0]);
      // Scan, DeleteItem and BatchWriteItem only where the use names them.
      if (kind === 'table') {
        const extras = Object.values(TABLE_EXTRA_ACTIONS);
        expect(new Set(actions.filter((a) => extras.includes(a))), `${name} on ${resourceName}`).toEqual(
          new Set(accessExtras(use ?? 'read').map((extra) => TABLE_EXTRA_ACTIONS[extra])),
        );
      }
    }
    const other = statements.filter(
      (s) =>
        // Policy minimization may merge one statement over several used resources: each must be declared.
        !s.resources.every((res) => Object.keys(uses).some((r) => isArnOf(res, r))) &&
        !s.actions.every((a) => PLATFORM_ACTIONS.test(a)) &&
        !(onlyCreateFromCsr(s) && Object.keys(uses).some((r) => resources[r]?.kind === 'things')) &&
        // Invoking the functions whose `invokedBy` names this one, and those alone.
        !(
          s.actions.every((a) => a === 'lambda:InvokeFunction') &&
          s.resources.every((res) =>
            invokedBy(name).some((target) =>
              res.endsWith(`:function:fleetkit-${STAGE}-${kebabCase(target)}`),
            ),
          )
        ) &&
        // Kafka triggers write the batches they give up on to the Kafka DLQ bucket.
        !(
          s.resources.every((res) => res.includes(':::fleetkit-test-kafka-dlq-')) &&
          s.actions.every((a) => /^s3:(PutObject|ListBucket)$/.test(a))
        ),
    );
    expect(other, 'statements beyond logs, tracing, dead letters, VPC, Kafka and declared uses').toEqual([]);
  });
});

const ruleCases = Object.entries(functions).flatMap(([name, spec]) =>
  (spec.rules ?? []).map((rule, index) => ({ name, index, rule, nth: `#${index + 1}` })),
);
const ingests: Topology['ingest'] = (topology as Topology).ingest;
const ingestCases = Object.entries(ingests ?? {}).map(([name, ingest]) => ({ name, ingest }));
const routeCases = Object.entries(functions).flatMap(([name, spec]) =>
  (spec.routes ?? []).map((routeKey) => ({ name, routeKey })),
);

describe('IoT rules', () => {
  it('covers at least one rule, so the rows below cannot all be skipped', () => {
    expect(ruleCases.length).toBeGreaterThan(0);
  });

  it.each(ruleCases)(
    '$name rule $nth selects with the rendered SQL into its function',
    ({ name, index, rule }) => {
      // Prepare
      const fnId = logicalId(fleetkit.runtime, fleetkit.runtime.functions[name]?.function as IConstruct);
      // Act / Assess
      runtime.hasResourceProperties('AWS::IoT::TopicRule', {
        RuleName: fleetkit.names.topicRule(name, index),
        TopicRulePayload: Match.objectLike({
          Sql: renderRuleSql(rule),
          AwsIotSqlVersion: IOT_SQL_VERSION,
          Actions: [{ Lambda: { FunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] } } }],
        }),
      });
    },
  );

  it.each(ruleCases)(
    '$name rule $nth keeps undeliverable messages in the rule error bucket',
    ({ name, index }) => {
      // Act / Assess
      runtime.hasResourceProperties('AWS::IoT::TopicRule', {
        RuleName: fleetkit.names.topicRule(name, index),
        TopicRulePayload: Match.objectLike({
          ErrorAction: {
            S3: {
              BucketName: Match.anyValue(),
              // biome-ignore lint/suspicious/noTemplateCurlyInString: the IoT substitution templates the rule must carry
              Key: '${topic()}/${timestamp()}-${newuuid()}',
              RoleArn: Match.anyValue(),
            },
          },
        }),
      });
    },
  );

  // The real topology's ingest rules (none until the telemetry pipeline lands; streams.test.ts covers the
  // construct with a test topology).
  it.each(ingestCases)('ingest $name appends to its stream keyed by its key field', ({ name, ingest }) => {
    // Prepare
    const stream = resources[ingest.stream];
    // Act / Assess
    runtime.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: fleetkit.names.topicRule(name, 0),
      TopicRulePayload: Match.objectLike({
        Sql: renderRuleSql(ingest.rule),
        Actions: [
          {
            Kafka: Match.objectLike({
              Topic: stream?.kind === 'stream' ? stream.topic : 'not a stream',
              Key: kafkaKeyTemplate(ingest),
            }),
          },
        ],
      }),
    });
  });

  it('lets only IoT rules of this account invoke functions, each naming its rule', () => {
    // Act / Assess
    runtime.resourcePropertiesCountIs(
      'AWS::Lambda::Permission',
      {
        Principal: 'iot.amazonaws.com',
        SourceArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        SourceAccount: { Ref: 'AWS::AccountId' },
      },
      ruleCases.length,
    );
  });

  it('retries rule-triggered functions twice, then dead-letters to an encrypted SSL-only queue', () => {
    // Prepare
    const fnId = logicalId(fleetkit.runtime, fleetkit.runtime.functions.ingestStatus?.function as IConstruct);
    // Act / Assess
    runtime.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      MaximumRetryAttempts: 2,
    });
    runtime.hasResourceProperties('AWS::Lambda::Function', {
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
    });
    runtime.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    runtime.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets IoT, for this account and stage only, put error objects and do nothing else', () => {
    // Act / Assess
    runtime.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'iot.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          }),
        ],
      },
    });
  });
});

describe('HTTP API', () => {
  it('covers at least one route', () => {
    expect(routeCases.length).toBeGreaterThan(0);
  });

  it.each(routeCases)('$name serves $routeKey behind IAM auth', ({ routeKey }) => {
    // Act / Assess
    runtime.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: routeKey,
      AuthorizationType: 'AWS_IAM',
    });
  });

  it('logs every request to a log group and throttles by default', () => {
    // Act / Assess
    runtime.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context\\.requestId'),
      },
      DefaultRouteSettings: { ThrottlingBurstLimit: Match.anyValue(), ThrottlingRateLimit: Match.anyValue() },
    });
  });

  it('outputs its URL', () => {
    runtime.hasOutput('ApiUrl', { Value: Match.anyValue() });
  });
});

describe('data', () => {
  const tables = Object.entries(resources).filter(([, r]) => r.kind === 'table');
  const buckets = Object.entries(resources).filter(([, r]) => r.kind === 'bucket');

  it.each(tables)('table %s is on demand, recoverable, encrypted and protected from deletion', (name) => {
    data.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: fleetkit.names.table(name),
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it.each(tables)('table %s has the topology keys and indexes', (name, resource) => {
    if (resource.kind !== 'table') throw new Error('not a table');
    data.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: fleetkit.names.table(name),
      KeySchema: [
        { AttributeName: resource.partitionKey.name, KeyType: 'HASH' },
        ...(resource.sortKey ? [{ AttributeName: resource.sortKey.name, KeyType: 'RANGE' }] : []),
      ],
      ...(resource.indexes === undefined
        ? {}
        : {
            GlobalSecondaryIndexes: resource.indexes.map((index) =>
              Match.objectLike({
                IndexName: index.name,
                Projection: { ProjectionType: index.projection ?? 'ALL' },
              }),
            ),
          }),
    });
  });

  it('retains every table and bucket when the stack is deleted', () => {
    for (const type of ['AWS::DynamoDB::Table', 'AWS::S3::Bucket']) {
      const all = Object.values(data.findResources(type));
      expect(
        all.filter((r) => r.DeletionPolicy !== 'Retain'),
        type,
      ).toEqual([]);
    }
  });

  it.each(buckets)(
    'bucket %s is versioned as specified, private, encrypted and access-logged',
    (name, resource) => {
      if (resource.kind !== 'bucket') throw new Error('not a bucket');
      data.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: Match.objectLike({
          'Fn::Join': ['', Match.arrayWith([`fleetkit-${STAGE}-${kebabCase(name)}-`])],
        }),
        ...(resource.versioned ? { VersioningConfiguration: { Status: 'Enabled' } } : {}),
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        LoggingConfiguration: {
          DestinationBucketName: { Ref: logicalId(fleetkit.data, fleetkit.data.accessLogsBucket) },
          LogFilePrefix: `${name}/`,
        },
      });
    },
  );

  it('denies every request without TLS on every bucket', () => {
    // Act
    const bucketIds = Object.keys(data.findResources('AWS::S3::Bucket'));
    // Assess
    for (const id of bucketIds) {
      data.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('keeps rule errors 30 days, logged', () => {
    data.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`fleetkit-${STAGE}-rule-errors-`])] }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30, Status: 'Enabled' })] },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'ruleErrors/' }),
    });
  });
});

describe('streaming', () => {
  it('runs two brokers, SCRAM and IAM on, unauthenticated off', () => {
    streaming.hasResourceProperties('AWS::MSK::Cluster', {
      NumberOfBrokerNodes: 2,
      BrokerNodeGroupInfo: Match.objectLike({ InstanceType: 'kafka.t3.small' }),
      ClientAuthentication: {
        Sasl: { Scram: { Enabled: true }, Iam: { Enabled: true } },
        Unauthenticated: { Enabled: false },
      },
    });
  });

  it('encrypts in transit with TLS only and at rest with a rotating customer-managed key', () => {
    streaming.hasResourceProperties('AWS::MSK::Cluster', {
      EncryptionInfo: {
        EncryptionInTransit: { ClientBroker: 'TLS', InCluster: true },
        EncryptionAtRest: { DataVolumeKMSKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } },
      },
    });
    streaming.allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('sends broker logs to CloudWatch', () => {
    streaming.hasResourceProperties('AWS::MSK::Cluster', {
      LoggingInfo: { BrokerLogs: { CloudWatchLogs: { Enabled: true, LogGroup: { Ref: Match.anyValue() } } } },
    });
  });

  it('associates two AmazonMSK_ secrets under a customer-managed key', () => {
    for (const { username, secretName } of fleetkit.names.iotRulesScramUsers) {
      streaming.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: secretName,
        KmsKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        GenerateSecretString: Match.objectLike({ SecretStringTemplate: JSON.stringify({ username }) }),
      });
    }
    streaming.hasResourceProperties('AWS::MSK::BatchScramSecret', {
      ClusterArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
      SecretArnList: [{ Ref: Match.anyValue() }, { Ref: Match.anyValue() }],
    });
  });

  it.each([9096, 9098])(
    'opens broker port %i to the brokers themselves and to the clients group only',
    (port) => {
      // Prepare
      const brokers = logicalId(fleetkit.streaming, fleetkit.streaming.kafka.brokerSecurityGroup);
      const clients = logicalId(fleetkit.streaming, fleetkit.streaming.kafka.clientSecurityGroup);
      // Act
      const sources = Object.values(streaming.findResources('AWS::EC2::SecurityGroupIngress'))
        .filter(
          (r) => r.Properties.FromPort === port && flat(r.Properties.GroupId) === `<${brokers}.GroupId>`,
        )
        .map((r) => flat(r.Properties.SourceSecurityGroupId ?? r.Properties.CidrIp));
      // Assess
      expect(sources.sort()).toEqual([`<${brokers}.GroupId>`, `<${clients}.GroupId>`].sort());
    },
  );

  it('spans two AZs with one NAT gateway and logs VPC flows', () => {
    streaming.resourceCountIs('AWS::EC2::NatGateway', 1);
    streaming.resourceCountIs('AWS::EC2::Subnet', 4);
    streaming.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL' });
  });
});

describe('device policy', () => {
  function statements(): Array<{ Action: string[]; Resource: string[] }> {
    const [policy] = Object.values(runtime.findResources('AWS::IoT::Policy'));
    return policy?.Properties.PolicyDocument.Statement.map(
      (s: { Action: string[]; Resource: unknown[] }) => ({
        Action: s.Action,
        Resource: s.Resource.map(flat),
      }),
    );
  }

  it('has the stable name, exported', () => {
    runtime.hasResourceProperties('AWS::IoT::Policy', { PolicyName: `fleetkit-${STAGE}-device` });
    runtime.hasOutput('DevicePolicyName', { Export: { Name: Match.anyValue() } });
  });

  it('renders thing placeholders as IoT policy variables, literally', () => {
    // Act
    const text = statements()
      .flatMap((s) => s.Resource)
      .join('\n');
    // Assess
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the IoT policy variable, literally
    expect(text).toContain('${iot:Connection.Thing.ThingName}');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the IoT policy variable, literally
    expect(text).toContain('${iot:Connection.Thing.ThingTypeName}');
    expect(text).not.toMatch(/\{thing\}|\{thingType\}/);
  });

  it('gives each action its resource type, one statement per permission', () => {
    // Prepare
    const prefix = { Connect: 'client/', Publish: 'topic/', Receive: 'topic/', Subscribe: 'topicfilter/' };
    // Act
    const rendered = statements();
    // Assess
    expect(rendered.map((s) => s.Action)).toEqual(DEVICE_PERMISSIONS.map((p) => [`iot:${p.action}`]));
    DEVICE_PERMISSIONS.forEach((permission, i) => {
      for (const resource of rendered[i]?.Resource ?? []) {
        expect(resource).toMatch(
          new RegExp(`^arn:<AWS::Partition>:iot:\\*:\\*:${prefix[permission.action]}`),
        );
      }
    });
  });

  it('never allows iot:* or a bare * resource', () => {
    // Act
    const rendered = statements();
    // Assess
    expect(rendered.flatMap((s) => s.Action).filter((a) => a.includes('*'))).toEqual([]);
    expect(rendered.flatMap((s) => s.Resource).filter((r) => r === '*' || r.endsWith(':*'))).toEqual([]);
  });

  it('fits in the 2048 characters IoT accepts, in every target partition', () => {
    for (const partition of CDK_CONTEXT['@aws-cdk/core:target-partitions'] as string[]) {
      expect(devicePolicySize(DEVICE_PERMISSIONS, partition), partition).toBeLessThanOrEqual(
        IOT_POLICY_MAX_CHARS,
      );
    }
  });

  it('refuses, at synth, a policy IoT would reject for size', () => {
    // Prepare
    const many: DevicePermission[] = [
      {
        action: 'Publish',
        resources: Array.from({ length: 40 }, (_, i) => `devices/{thingType}/{thing}/t${i}`),
      },
    ];
    const stack = new Stack(new App(), 'Policies');
    // Act / Assess
    expect(() => new DevicePolicy(stack, 'Big', { policyName: 'big', permissions: many })).toThrow(
      /renders to \d+ characters in partition 'aws'; IoT allows 2048/,
    );
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding', () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);
    // Assess
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`),
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a reason a reviewer can read', () => {
    // Prepare
    const acknowledgements: Array<{ path: string; id: string; reason: string }> = [];
    const visit = (construct: IConstruct): void => {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledgements.push({ path: construct.node.path, id, reason });
        }
      }
      construct.node.children.forEach(visit);
    };
    // Act
    visit(app);
    const nag = acknowledgements.filter((a) => a.id.includes('AwsSolutions-'));
    // Assess
    expect(nag.length).toBeGreaterThan(0);
    expect(acknowledgements.filter((a) => a.reason.trim().length < 20)).toEqual([]);
    expect(
      nag.filter((a) => /AwsSolutions-IAM5$/.test(a.id)),
      'IAM5 must name its finding',
    ).toEqual([]);
  });
});
