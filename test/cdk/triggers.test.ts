import { readFileSync } from 'node:fs';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFleetkit, type Fleetkit } from '../../lib/stacks/fleetkit-app.ts';
import type { Topology } from '../../lib/topology/model.ts';

/**
 * No function of the real topology has a schedule or a Kafka trigger yet, so this one does. It reuses
 * existing handler folders: only the wiring is under test.
 */
const triggerTopology = {
  resources: {
    registry: {
      kind: 'table',
      description: 'test table',
      partitionKey: { name: 'deviceId', type: 'S' },
      timeToLiveAttribute: 'expiresAt',
    },
    firmware: { kind: 'bucket', description: 'test bucket', versioned: true },
    telemetry: { kind: 'stream', description: 'test stream', topic: 'telemetry', partitions: 3 },
  },
  functions: {
    fleetSweep: {
      handler: 'api-devices',
      description: 'test: runs every five minutes',
      schedules: [{ everyMinutes: 5 }],
      uses: { firmware: 'readWrite' },
    },
    telemetryConsumer: {
      handler: 'ingest-status',
      description: 'test: consumes the telemetry topic',
      kafka: [
        { topic: 'telemetry', batchSize: 100, maxBatchingWindowSeconds: 5, startingPosition: 'LATEST' },
      ],
      uses: { registry: 'readWrite', telemetry: 'read' },
      memoryMiB: 512,
    },
    backgroundWork: {
      handler: 'api-firmware',
      description: 'test: started asynchronously by the sweep',
      invokedBy: ['fleetSweep'],
      uses: { registry: 'read' },
    },
  },
} as const satisfies Topology<'registry' | 'firmware' | 'telemetry'>;

const CDK_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;

let app: App;
let fleetkit: Fleetkit;
let runtime: Template;

function functionId(name: string): string {
  const fn = fleetkit.runtime.functions[name]?.function as IConstruct;
  return fleetkit.runtime.getLogicalId(fn.node.defaultChild as CfnElement);
}

beforeAll(() => {
  app = new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  fleetkit = buildFleetkit(app, { stage: 'trig', topology: triggerTopology });
  runtime = Template.fromStack(fleetkit.runtime);
});

describe('schedule trigger', () => {
  it('invokes the function at the topology rate', () => {
    runtime.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId('fleetSweep'), 'Arn'] } })],
    });
  });

  it('lets only that EventBridge rule invoke the function', () => {
    runtime.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [functionId('fleetSweep'), 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
    });
  });
});

describe('asynchronous invocation trigger (invokedBy)', () => {
  const statements = () =>
    Object.values(runtime.findResources('AWS::IAM::Policy')).flatMap((policy) => [
      ...policy.Properties.PolicyDocument.Statement.map((statement: object) => ({
        roles: policy.Properties.Roles,
        ...statement,
      })),
    ]) as Array<{ roles: unknown; Action: string | string[]; Resource: unknown }>;

  it("lets only the invoker's role invoke the function, by its name, without versions", () => {
    // Act
    const invokes = statements().filter((s) => [s.Action].flat().includes('lambda:InvokeFunction'));
    // Assess
    expect(invokes).toHaveLength(1);
    expect(JSON.stringify(invokes[0]?.roles)).toContain('FleetSweep');
    expect(JSON.stringify(invokes[0]?.Resource)).toMatch(/:function:fleetkit-trig-background-work"\]/);
    expect(JSON.stringify(invokes[0]?.Resource)).not.toContain('*');
  });

  it("tells the invoker the function's name in its env", () => {
    runtime.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fleetkit-trig-fleet-sweep',
      Environment: {
        Variables: Match.objectLike({ BACKGROUND_WORK_FUNCTION_NAME: 'fleetkit-trig-background-work' }),
      },
    });
  });

  it('retries a failed run twice, then keeps the event in the dead-letter queue', () => {
    runtime.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functionId('backgroundWork') },
      MaximumRetryAttempts: 2,
    });
    runtime.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fleetkit-trig-background-work',
      DeadLetterConfig: { TargetArn: Match.anyValue() },
    });
  });
});

describe('Kafka trigger', () => {
  it('maps the MSK cluster topic to the function with the topology batching', () => {
    runtime.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionId('telemetryConsumer') },
      EventSourceArn: { 'Fn::ImportValue': Match.stringLikeRegexp('KafkaCluster') },
      Topics: ['telemetry'],
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 5,
      StartingPosition: 'LATEST',
      AmazonManagedKafkaEventSourceConfig: { ConsumerGroupId: 'fleetkit-trig-telemetry-consumer-telemetry' },
    });
  });

  it('authenticates with IAM: no SCRAM secret on the mapping', () => {
    runtime.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      Topics: ['telemetry'],
      SourceAccessConfigurations: Match.absent(),
    });
  });

  it('scopes kafka-cluster data actions to the topic and the consumer group, not "*"', () => {
    // Act
    const statements = Object.values(runtime.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement,
    ) as Array<{ Action: string | string[]; Resource: unknown }>;
    const byAction = (action: string) => statements.find((s) => [s.Action].flat().includes(action));
    // Assess
    expect(JSON.stringify(byAction('kafka-cluster:ReadData')?.Resource)).toMatch(/:topic\/.*\/telemetry"/);
    expect(JSON.stringify(byAction('kafka-cluster:AlterGroup')?.Resource)).toMatch(
      /:group\/.*\/fleetkit-trig-telemetry-consumer-telemetry"/,
    );
    expect(JSON.stringify(byAction('kafka-cluster:Connect')?.Resource)).toMatch(/ImportValue/);
    expect(byAction('kafka-cluster:ReadData')?.Resource).not.toBe('*');
  });

  it('puts only the EC2 network actions the pollers need on "*"', () => {
    // Act
    const onStar = Object.values(runtime.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((s: { Resource: unknown }) => s.Resource === '*')
      .flatMap((s: { Action: string | string[] }) => [s.Action].flat());
    // Assess
    expect(
      onStar.filter(
        (a: string) =>
          !/^(ec2:(Describe\w+|CreateNetworkInterface|DeleteNetworkInterface|(Assign|Unassign)PrivateIpAddresses)|xray:Put\w+)$/.test(
            a,
          ),
      ),
    ).toEqual([]);
    expect(onStar).toContain('ec2:CreateNetworkInterface');
  });

  it('attaches no AWS managed policy (AWSLambdaMSKExecutionRole)', () => {
    const roles = Object.values(runtime.findResources('AWS::IAM::Role'));
    expect(roles.filter((role) => role.Properties.ManagedPolicyArns !== undefined)).toEqual([]);
  });

  it('creates the mapping only after its permissions exist', () => {
    // Act
    const [mapping] = Object.values(runtime.findResources('AWS::Lambda::EventSourceMapping'));
    // Assess
    expect(mapping?.DependsOn).toEqual(expect.arrayContaining([expect.stringMatching(/KafkaPolicy/)]));
  });
});

describe('test topology', () => {
  it('turns on TTL for a table that declares it', () => {
    Template.fromStack(fleetkit.data).hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('grants readWrite on a bucket as object read/write and list, nothing bucket-wide beyond list', () => {
    // Act
    const roleStatements = Object.values(runtime.findResources('AWS::IAM::Policy'))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((s: { Action: string | string[] }) => [s.Action].flat().some((a) => a.startsWith('s3:')))
      .filter((s: { Resource: unknown }) => JSON.stringify(s.Resource).includes('fleetkit-trig-firmware-'));
    const actions = roleStatements.flatMap((s: { Action: string | string[] }) => [s.Action].flat());
    // Assess
    expect(actions.sort()).toEqual(
      [
        's3:AbortMultipartUpload',
        's3:DeleteObject',
        's3:GetObject',
        's3:GetObjectVersion',
        's3:ListBucket',
        's3:PutObject',
      ].sort(),
    );
  });

  it('is clean under cdk-nag AwsSolutions too', () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);
    // Assess
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`),
    );
    expect(findings).toEqual([]);
  });
});
