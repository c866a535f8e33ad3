import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingestProducerAcls } from '../../lib/constructs/kafka-acls.ts';
import { buildFleetkit, type Fleetkit } from '../../lib/stacks/fleetkit-app.ts';
import type { Topology } from '../../lib/topology/model.ts';
import { fastApp, flat, logicalId, roleStatements } from './stream-topology.ts';

/** Kafka ACLs of the IoT rules' SCRAM users, and the rotation of their credentials, in the real app. */

let fleetkit: Fleetkit;
let streaming: Template;

beforeAll(() => {
  fleetkit = buildFleetkit(fastApp(), { stage: 'sec' });
  streaming = Template.fromStack(fleetkit.streaming);
});

const produce = (username: string) =>
  ['write', 'describe'].map((operation) => ({
    principal: `User:${username}`,
    host: '*',
    resourceType: 'topic',
    resourceName: 'iot-telemetry',
    patternType: 'literal',
    operation,
    permission: 'allow',
  }));

const statementsOf = (role: IConstruct) => roleStatements(fleetkit.streaming, streaming, role);
const clusterId = () => `<${fleetkit.streaming.getLogicalId(fleetkit.streaming.kafka.cluster)}.Arn>`;

describe('Kafka ACLs', () => {
  it('let each IoT rules user produce to iot-telemetry and do nothing else', () => {
    streaming.hasResourceProperties('Custom::KafkaAcls', {
      Principals: ['User:iot-rules', 'User:iot-rules-2'],
      Acls: [...produce('iot-rules'), ...produce('iot-rules-2')],
    });
  });

  it('are applied by a function that may only connect, describe and alter this cluster over IAM', () => {
    // Act
    const onKafka = statementsOf(fleetkit.streaming.kafkaAcls.function.role).filter((s) =>
      s.actions.some((a) => a.startsWith('kafka')),
    );
    // Assess: policy minimization may merge statements; what counts is each action and where.
    expect(new Set(onKafka.flatMap((s) => s.resources))).toEqual(new Set([clusterId()]));
    expect(new Set(onKafka.flatMap((s) => s.actions))).toEqual(
      new Set([
        'kafka-cluster:Connect',
        'kafka-cluster:DescribeCluster',
        'kafka-cluster:AlterCluster',
        'kafka:GetBootstrapBrokers',
      ]),
    );
  });

  it('are applied from the VPC, signed in with IAM', () => {
    // Prepare
    const fn = fleetkit.streaming.kafkaAcls.function.function;
    // Act
    const props = streaming.toJSON().Resources[logicalId(fleetkit.streaming, fn)].Properties;
    // Assess
    expect(props.Environment.Variables).toMatchObject({
      MSK_CLUSTER_ARN: { 'Fn::GetAtt': [expect.stringMatching(/Cluster/), 'Arn'] },
      KAFKA_SASL_MECHANISM: 'aws-msk-iam',
    });
    expect(props.VpcConfig.SecurityGroupIds.map(flat).sort()).toEqual(
      [
        `<${logicalId(fleetkit.streaming, fleetkit.streaming.kafka.clientSecurityGroup)}.GroupId>`,
        `<${logicalId(fleetkit.streaming, fleetkit.streaming.awsApiSecurityGroup)}.GroupId>`,
      ].sort(),
    );
  });

  it.each<[string, Topology, number]>([
    ['no ingest: no ACL, the users can do nothing', { resources: {}, functions: {} }, 0],
    [
      'two ingests into two streams: both topics, each user',
      {
        resources: {
          a: { kind: 'stream', description: 'a', topic: 'ta', partitions: 1 },
          b: { kind: 'stream', description: 'b', topic: 'tb', partitions: 1 },
        },
        functions: {},
        ingest: {
          one: {
            description: '1',
            rule: { topic: 'x/+', payload: 'json', add: { id: 'topic(2)' } },
            stream: 'a',
            key: 'id',
          },
          two: {
            description: '2',
            rule: { topic: 'y/+', payload: 'json', add: { id: 'topic(2)' } },
            stream: 'b',
            key: 'id',
          },
          again: {
            description: '3',
            rule: { topic: 'z/+', payload: 'json', add: { id: 'topic(2)' } },
            stream: 'a',
            key: 'id',
          },
        },
      },
      8,
    ],
  ])('derive from the topology: %s', (_, topology, count) => {
    expect(ingestProducerAcls(topology, ['u1', 'u2'])).toHaveLength(count);
  });
});

describe('the IoT rules Kafka credentials', () => {
  it('start as the first user, read from its MSK secret at deploy time, under the SCRAM key', () => {
    streaming.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'fleetkit-sec-iot-kafka-client',
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('ScramSecretKey'), 'Arn'] },
      SecretString: {
        'Fn::Join': [
          '',
          [
            '{"username":"iot-rules","password":"{{resolve:secretsmanager:',
            { Ref: Match.stringLikeRegexp('IotRulesScramSecret') },
            ':SecretString:password::}}"}',
          ],
        ],
      },
    });
  });

  it('rotate every 30 days, not at deploy', () => {
    streaming.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('KafkaClientCredentialsSecret') },
      RotationLambdaARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('KafkaClientCredentialsRotation'), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    });
  });

  it('are rotated by a function Secrets Manager of this account may invoke', () => {
    streaming.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('KafkaClientCredentialsRotation'), 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });

  it("let the rotation put new passwords in the users' secrets, never read them or move their labels", () => {
    // Act
    const statements = statementsOf(fleetkit.streaming.kafkaCredentials.rotation.role).filter((s) =>
      s.actions.some((a) => a.startsWith('secretsmanager:')),
    );
    const [userA, userB] = fleetkit.streaming.kafka.scramUsers.map(
      (user) => `<${logicalId(fleetkit.streaming, user.secret)}>`,
    );
    const client = `<${logicalId(fleetkit.streaming, fleetkit.streaming.kafkaCredentials.secret)}>`;
    // Assess
    const sorted = statements.map((st) => ({
      actions: [...st.actions].sort(),
      resources: [...st.resources].sort(),
    }));
    expect(sorted).toEqual([
      {
        actions: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        resources: [client],
      },
      { actions: ['secretsmanager:PutSecretValue'], resources: [userA, userB].sort() },
    ]);
  });

  it('let the rotation use the SCRAM key only through Secrets Manager', () => {
    // Act
    const statements = statementsOf(fleetkit.streaming.kafkaCredentials.rotation.role).filter((s) =>
      s.actions.some((a) => a.startsWith('kms:')),
    );
    // Assess
    expect(statements).toEqual([
      {
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [expect.stringMatching(/ScramSecretKey/)],
        conditions: { StringEquals: { 'kms:ViaService': expect.anything() } },
      },
    ]);
  });

  it('are rotated from the VPC with the users, the cluster and the topic to check, in 15 minutes at most', () => {
    // Prepare
    const fn = fleetkit.streaming.kafkaCredentials.rotation.function;
    // Act
    const props = streaming.toJSON().Resources[logicalId(fleetkit.streaming, fn)].Properties;
    // Assess
    expect(props.Timeout).toBe(900);
    expect(props.VpcConfig).toBeDefined();
    expect(flat(props.Environment.Variables.SCRAM_USERS)).toMatch(
      /^\{"iot-rules":"<KafkaIotRulesScramSecret\w+>","iot-rules-2":"<KafkaIotRulesScramSecret2\w+>"\}$/,
    );
    expect(props.Environment.Variables.SCRAM_PROBE_TOPIC).toBe('iot-telemetry');
  });
});
