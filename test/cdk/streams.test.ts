import { type App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kafkaServerProperties } from '../../lib/constructs/kafka-cluster.ts';
import { buildFleetkit, type Fleetkit } from '../../lib/stacks/fleetkit-app.ts';
import { IOT_SQL_VERSION, renderRuleSql } from '../../lib/topology/rule-sql.ts';
import {
  fastApp,
  flat,
  logicalId,
  roleStatements,
  type StatementText,
  streamTopology,
} from './stream-topology.ts';

const STAGE = 'strm';

let app: App;
let fleetkit: Fleetkit;
let data: Template;
let streaming: Template;
let runtime: Template;

type Statement = StatementText;

/** Every Allow statement of the policies attached to `role` (a construct in the runtime stack). */
function statementsOfRole(role: IConstruct): Statement[] {
  return roleStatements(fleetkit.runtime, runtime, role);
}

function statementsOf(name: keyof typeof streamTopology.functions): Statement[] {
  const fn = fleetkit.runtime.functions[name];
  if (fn === undefined) throw new Error(`no function ${name}`);
  return statementsOfRole(fn.role);
}

/** Actions granted on a Kafka topic (its ARN ends in `/<topic>` after `:topic/`). */
function actionsOnTopic(statements: Statement[], topic: string): string[] {
  return statements
    .filter((s) => s.resources.some((r) => r.includes(':topic/') && r.endsWith(`/${topic}`)))
    .flatMap((s) => s.actions);
}

function functionProps(name: keyof typeof streamTopology.functions): Record<string, unknown> {
  const fn = fleetkit.runtime.functions[name];
  return runtime.toJSON().Resources[logicalId(fleetkit.runtime, fn?.function as IConstruct)].Properties;
}

const privateSubnetImport = Match.objectLike({
  'Fn::ImportValue': Match.stringLikeRegexp('VpcPrivateSubnet'),
});
const clientGroupImport = { 'Fn::ImportValue': Match.stringLikeRegexp('KafkaClientSecurityGroup') };

beforeAll(() => {
  app = fastApp();
  fleetkit = buildFleetkit(app, { stage: STAGE, topology: streamTopology });
  data = Template.fromStack(fleetkit.data);
  streaming = Template.fromStack(fleetkit.streaming);
  runtime = Template.fromStack(fleetkit.runtime);
});

describe('ingest rule (IoT Kafka action)', () => {
  const ruleName = `fleetkit_${STAGE}_telemetry`;

  it('selects with the rendered SQL and appends to the stream topic, keyed by device id', () => {
    runtime.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: ruleName,
      TopicRulePayload: Match.objectLike({
        Sql: renderRuleSql(streamTopology.ingest.telemetry.rule),
        AwsIotSqlVersion: IOT_SQL_VERSION,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the IoT substitution template of deviceId
        Actions: [{ Kafka: Match.objectLike({ Topic: 'test-telemetry', Key: '${topic(3)}' }) }],
      }),
    });
  });

  it('speaks SASL_SSL with SCRAM-SHA-512 and waits for all in-sync replicas', () => {
    runtime.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: ruleName,
      TopicRulePayload: Match.objectLike({
        Actions: [
          {
            Kafka: Match.objectLike({
              ClientProperties: Match.objectLike({
                'security.protocol': 'SASL_SSL',
                'sasl.mechanism': 'SCRAM-SHA-512',
                acks: 'all',
              }),
            }),
          },
        ],
      }),
    });
  });

  it.each(['username', 'password'])(
    'reads the SCRAM %s of the rotated client secret with get_secret, naming the secret role',
    (field) => {
      // Prepare
      const secretRole = logicalId(
        fleetkit.runtime,
        fleetkit.runtime.node.findChild('KafkaRuleDestination').node.findChild('SecretRole'),
      );
      // Act
      const [rule] = Object.values(
        runtime.findResources('AWS::IoT::TopicRule', { Properties: { RuleName: ruleName } }),
      );
      const value = flat(
        rule?.Properties.TopicRulePayload.Actions[0].Kafka.ClientProperties[`sasl.scram.${field}`],
      );
      // Assess
      expect(value).toBe(
        `\${get_secret('fleetkit-${STAGE}-iot-kafka-client', 'SecretString', '${field}', '<${secretRole}.Arn>')}`,
      );
    },
  );

  it('takes its bootstrap servers from the deploy-time GetBootstrapBrokers lookup', () => {
    runtime.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: ruleName,
      TopicRulePayload: Match.objectLike({
        Actions: [
          {
            Kafka: Match.objectLike({
              ClientProperties: Match.objectLike({
                'bootstrap.servers': {
                  'Fn::ImportValue': Match.stringLikeRegexp(
                    'BootstrapBrokersLookup.*BootstrapBrokerStringSaslScram',
                  ),
                },
              }),
            }),
          },
        ],
      }),
    });
  });

  it('sends to a VPC destination in the private subnets behind the Kafka clients group', () => {
    runtime.hasResourceProperties('AWS::IoT::TopicRuleDestination', {
      Status: 'ENABLED',
      VpcProperties: {
        VpcId: { 'Fn::ImportValue': Match.stringLikeRegexp('Vpc') },
        SubnetIds: [privateSubnetImport, privateSubnetImport],
        SecurityGroups: [clientGroupImport],
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('KafkaRuleDestinationVpcRole'), 'Arn'] },
      },
    });
  });

  it('points the Kafka action at that destination', () => {
    runtime.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: ruleName,
      TopicRulePayload: Match.objectLike({
        Actions: [
          {
            Kafka: Match.objectLike({
              DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('KafkaRuleDestination'), 'Arn'] },
            }),
          },
        ],
      }),
    });
  });

  it('keeps undeliverable messages in the rule error bucket', () => {
    runtime.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: ruleName,
      TopicRulePayload: Match.objectLike({
        ErrorAction: {
          S3: {
            BucketName: Match.objectLike({
              'Fn::Join': ['', Match.arrayWith([`fleetkit-${STAGE}-rule-errors-`])],
            }),
            // biome-ignore lint/suspicious/noTemplateCurlyInString: the IoT substitution templates the rule must carry
            Key: '${topic()}/${timestamp()}-${newuuid()}',
            RoleArn: Match.anyValue(),
          },
        },
      }),
    });
  });

  it('gives the destination role the eight EC2 actions IoT documents, and nothing else', () => {
    // Act
    const statements = statementsOfRole(
      fleetkit.runtime.node.findChild('KafkaRuleDestination').node.findChild('VpcRole'),
    );
    // Assess
    expect(statements.flatMap((s) => s.actions).sort()).toEqual(
      [
        'ec2:CreateNetworkInterface',
        'ec2:CreateNetworkInterfacePermission',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:DescribeSecurityGroups',
        'ec2:DescribeSubnets',
        'ec2:DescribeVpcAttribute',
        'ec2:DescribeVpcs',
      ].sort(),
    );
  });

  it('lets the secret role read only the client secret and decrypt only through Secrets Manager', () => {
    // Act
    const statements = statementsOfRole(
      fleetkit.runtime.node.findChild('KafkaRuleDestination').node.findChild('SecretRole'),
    );
    // Assess
    expect(statements).toEqual([
      {
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        resources: [expect.stringMatching(/^<import .*KafkaClientCredentialsSecret/)],
        conditions: undefined,
      },
      {
        actions: ['kms:Decrypt'],
        resources: [expect.stringMatching(/^<import .*ScramSecretKey/)],
        conditions: { StringEquals: { 'kms:ViaService': expect.anything() } },
      },
    ]);
  });

  it("lets only this stage's rules assume the secret role", () => {
    runtime.hasResourceProperties('AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('get_secret'),
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

  it('refuses an ingest whose rule name a function rule already has, showing it', () => {
    // Prepare
    const clash = {
      ...streamTopology,
      functions: {
        ...streamTopology.functions,
        telemetry: {
          handler: 'shadow-mqtt',
          description: 'test: a function named like the ingest',
          rules: [{ topic: 'devices/+/+/other', payload: 'json' as const, add: {} }],
        },
      },
    };
    // Act / Assess
    expect(() => buildFleetkit(fastApp(), { stage: STAGE, topology: clash })).toThrow(
      /ingest 'telemetry' would be IoT rule 'fleetkit_strm_telemetry'/,
    );
  });
});

describe('bootstrap broker lookup', () => {
  it("asks MSK for the cluster's brokers at deploy time", () => {
    streaming.hasResourceProperties('Custom::AWS', {
      Create: Match.objectLike({
        'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('"action":"GetBootstrapBrokers"')])],
      }),
    });
  });

  it('may call GetBootstrapBrokers on this cluster only', () => {
    streaming.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'kafka:GetBootstrapBrokers',
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('KafkaCluster'), 'Arn'] },
          },
        ],
      },
    });
  });
});

describe('streaming configuration', () => {
  it('attaches a configuration to the cluster', () => {
    streaming.hasResourceProperties('AWS::MSK::Cluster', {
      ConfigurationInfo: {
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('KafkaConfiguration'), 'Arn'] },
        Revision: { 'Fn::GetAtt': [Match.stringLikeRegexp('KafkaConfiguration'), 'LatestRevision.Revision'] },
      },
    });
  });

  it('declares topics instead of auto-creating them, replicates twice on two brokers, lets SCRAM users do only what ACLs grant', () => {
    // Act
    const [configuration] = Object.values(streaming.findResources('AWS::MSK::Configuration'));
    const lines = String(configuration?.Properties.ServerProperties).split('\n');
    // Assess
    expect(lines).toEqual(
      expect.arrayContaining([
        'auto.create.topics.enable=false',
        'default.replication.factor=2',
        'min.insync.replicas=1',
        'allow.everyone.if.no.acl.found=false',
      ]),
    );
    expect(configuration?.Properties.KafkaVersionsList).toEqual(['3.9.x']);
  });

  it('uses three replicas and two in sync from three brokers', () => {
    expect(kafkaServerProperties(3).split('\n')).toEqual(
      expect.arrayContaining(['default.replication.factor=3', 'min.insync.replicas=2']),
    );
  });

  it.each(Object.values(streamTopology.resources).filter((r) => r.kind === 'stream'))(
    'declares topic $topic with its $partitions partitions',
    ({ topic, partitions }) => {
      streaming.hasResourceProperties('AWS::MSK::Topic', {
        ClusterArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('KafkaCluster'), 'Arn'] },
        TopicName: topic,
        PartitionCount: partitions,
        ReplicationFactor: 2,
      });
    },
  );

  it('refuses a Kafka version whose topics MSK cannot declare, showing it', () => {
    expect(() =>
      buildFleetkit(fastApp(), { stage: STAGE, topology: streamTopology, kafkaVersion: '3.5.1' }),
    ).toThrow(/Kafka 3.6 or later; the cluster runs '3.5.1'/);
  });

  it('gives functions an HTTPS-only group for AWS APIs and gateway endpoints for S3 and DynamoDB', () => {
    streaming.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('HTTPS to AWS APIs'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })],
    });
    streaming.resourcePropertiesCountIs('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway' }, 2);
  });
});

describe('functions that use streams', () => {
  it.each(['processor', 'reader'] as const)(
    '%s runs in the private subnets with the Kafka clients and AWS API groups',
    (name) => {
      const privateSubnet = { 'Fn::ImportValue': expect.stringMatching(/VpcPrivateSubnet/) };
      expect(functionProps(name).VpcConfig).toEqual({
        SubnetIds: [privateSubnet, privateSubnet],
        SecurityGroupIds: [
          { 'Fn::ImportValue': expect.stringMatching(/KafkaClientSecurityGroup/) },
          { 'Fn::ImportValue': expect.stringMatching(/AwsApiSecurityGroup/) },
        ],
      });
    },
  );

  it('leaves a function that uses no stream out of the VPC and without Kafka settings', () => {
    // Act
    const props = functionProps('api');
    // Assess
    expect(props.VpcConfig).toBeUndefined();
    expect(Object.keys((props.Environment as { Variables: object }).Variables)).not.toContain(
      'MSK_CLUSTER_ARN',
    );
  });

  it('tells the processor its cluster, IAM auth and one topic per stream it uses', () => {
    // Act
    const env = (functionProps('processor').Environment as { Variables: Record<string, unknown> }).Variables;
    // Assess
    expect(env).toMatchObject({
      MSK_CLUSTER_ARN: { 'Fn::ImportValue': expect.stringMatching(/KafkaCluster/) },
      KAFKA_SASL_MECHANISM: 'aws-msk-iam',
      TELEMETRY_STREAM_TOPIC: 'test-telemetry',
      PROCESSED_STREAM_TOPIC: 'test-processed',
      DEAD_LETTERS_STREAM_TOPIC: 'test-dlq',
    });
  });

  it('lets the processor write exactly the topics it produces to', () => {
    // Act
    const statements = statementsOf('processor');
    // Assess
    expect(actionsOnTopic(statements, 'test-processed')).toContain('kafka-cluster:WriteData');
    expect(actionsOnTopic(statements, 'test-dlq')).toContain('kafka-cluster:WriteData');
    expect(actionsOnTopic(statements, 'test-telemetry')).not.toContain('kafka-cluster:WriteData');
    expect(
      statements.filter((s) => s.actions.includes('kafka-cluster:WriteData')).flatMap((s) => s.resources),
    ).toHaveLength(2);
  });

  it('lets a consumer-only function write nothing to Kafka', () => {
    // Act
    const actions = statementsOf('reader').flatMap((s) => s.actions);
    // Assess
    expect(actions).toContain('kafka-cluster:ReadData');
    expect(actions.filter((a) => /^kafka-cluster:(WriteData|WriteDataIdempotently)$/.test(a))).toEqual([]);
  });

  it('lets stream users connect and find brokers on the cluster, and producers produce idempotently', () => {
    // Act
    const onCluster = (name: 'processor' | 'reader') =>
      statementsOf(name)
        .filter((s) => s.resources.some((r) => /^<import .*KafkaCluster/.test(r)))
        .flatMap((s) => s.actions);
    // Assess
    expect(onCluster('processor')).toEqual(
      expect.arrayContaining([
        'kafka-cluster:Connect',
        'kafka:GetBootstrapBrokers',
        'kafka-cluster:WriteDataIdempotently',
      ]),
    );
    expect(onCluster('reader')).toEqual(
      expect.arrayContaining(['kafka-cluster:Connect', 'kafka:GetBootstrapBrokers']),
    );
  });

  it('writes out the VPC network interface permissions instead of a managed policy', () => {
    // Act
    const onStar = statementsOf('processor')
      .filter((s) => s.resources.includes('*'))
      .flatMap((s) => s.actions);
    const roles = Object.values(runtime.findResources('AWS::IAM::Role'));
    // Assess
    expect(onStar).toEqual(
      expect.arrayContaining([
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:AssignPrivateIpAddresses',
        'ec2:UnassignPrivateIpAddresses',
      ]),
    );
    expect(roles.filter((role) => role.Properties.ManagedPolicyArns !== undefined)).toEqual([]);
  });

  it('names functions by stage so that monitoring finds them without an export', () => {
    expect(functionProps('processor').FunctionName).toBe(`fleetkit-${STAGE}-processor`);
  });
});

describe('Kafka trigger failures', () => {
  it('retries twice, halving the batch, then sends it to the Kafka DLQ bucket and moves on', () => {
    runtime.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      Topics: ['test-telemetry'],
      MaximumRetryAttempts: 2,
      BisectBatchOnFunctionError: true,
      DestinationConfig: {
        OnFailure: {
          Destination: Match.objectLike({
            'Fn::Join': ['', Match.arrayWith([`:s3:::fleetkit-${STAGE}-kafka-dlq-`])],
          }),
        },
      },
    });
  });

  it('runs provisioned pollers (needed for the retry controls), shared by the stage, sized to the partitions', () => {
    runtime.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      Topics: ['test-telemetry'],
      ProvisionedPollerConfig: { MinimumPollers: 1, MaximumPollers: 2, PollerGroupName: `fleetkit-${STAGE}` },
    });
  });

  it('lets the consumer put objects into the Kafka DLQ bucket and list it, nothing else of it', () => {
    // Act
    const onDlq = statementsOf('processor').filter((s) =>
      s.resources.some((r) => r.includes(`:::fleetkit-${STAGE}-kafka-dlq-`)),
    );
    // Assess
    expect(onDlq.flatMap((s) => s.actions).sort()).toEqual(['s3:ListBucket', 's3:PutObject']);
  });

  it('keeps failed batches in a private, logged bucket that publishes request metrics', () => {
    data.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`fleetkit-${STAGE}-kafka-dlq-`])] }),
      MetricsConfigurations: [{ Id: 'AllRequests' }],
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'kafkaDlq/' }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30 })] },
    });
  });

  it("refuses a topology resource that takes the Kafka DLQ bucket's name", () => {
    // Prepare
    const taken = {
      ...streamTopology,
      resources: {
        ...streamTopology.resources,
        kafkaDlq: { kind: 'bucket', description: 'x', versioned: false },
      },
    } as const;
    // Act / Assess
    expect(() => buildFleetkit(fastApp(), { stage: STAGE, topology: taken })).toThrow(
      /'kafkaDlq' is reserved/,
    );
  });
});

describe('monitoring of a streaming stage', () => {
  it("watches each Kafka trigger's lag by the function's stage name", () => {
    Template.fromStack(fleetkit.monitoring).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OffsetLag',
      Dimensions: [{ Name: 'FunctionName', Value: `fleetkit-${STAGE}-reader` }],
    });
  });

  it('watches writes to the Kafka DLQ bucket', () => {
    Template.fromStack(fleetkit.monitoring).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'PutRequests',
      Dimensions: Match.arrayWith([
        {
          Name: 'BucketName',
          Value: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([`fleetkit-${STAGE}-kafka-dlq-`])] }),
        },
      ]),
    });
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged in any stack of a streaming topology', () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);
    // Assess
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`),
    );
    expect(findings).toEqual([]);
  });

  it('gives every acknowledgement a reason of at least 20 characters', () => {
    // Act
    const reasons = app.node
      .findAll()
      .flatMap((c) => c.node.metadata)
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    // Assess
    expect(reasons.length).toBeGreaterThan(0);
    expect(reasons.filter(([, reason]) => reason.length < 20)).toEqual([]);
  });
});
