import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { MonitoringStack, type MonitoringStackProps } from '../../lib/stacks/monitoring-stack.ts';
import { FleetkitNames } from '../../lib/stacks/names.ts';
import type { Topology } from '../../lib/topology/model.ts';
import { fastApp, flat } from './stream-topology.ts';

/**
 * The monitoring stack is built from names alone, so it is tested with the telemetry pipeline's handler
 * names (`stream-processor`, `fleet-sweeper`) although their folders do not exist yet: no function is
 * built here.
 */
const pipeline = {
  resources: {
    registry: { kind: 'table', description: 'test', partitionKey: { name: 'deviceId', type: 'S' } },
    iotTelemetry: { kind: 'stream', description: 'test', topic: 'iot-telemetry', partitions: 6 },
    fleetAlerts: { kind: 'stream', description: 'test', topic: 'fleet-alerts', partitions: 3 },
  },
  functions: {
    streamProcessor: {
      handler: 'stream-processor',
      description: 'test',
      kafka: [
        {
          topic: 'iot-telemetry',
          batchSize: 500,
          maxBatchingWindowSeconds: 1,
          startingPosition: 'TRIM_HORIZON',
        },
      ],
      uses: { iotTelemetry: 'read', fleetAlerts: 'write', registry: 'readWrite' },
    },
    fleetSweeper: {
      handler: 'fleet-sweeper',
      description: 'test',
      schedules: [{ everyMinutes: 1 }],
      uses: { registry: 'readWrite' },
    },
    ingestStatus: {
      handler: 'ingest-status',
      description: 'test',
      rules: [{ topic: 'devices/+/+/status', payload: 'base64', add: { deviceId: 'topic(3)' } }],
      uses: { registry: 'write' },
    },
    rolloutScheduler: {
      handler: 'rollout-scheduler',
      description: 'test',
      schedules: [{ everyMinutes: 1 }],
      uses: { registry: 'read' },
    },
    commandsMqtt: { handler: 'commands-mqtt', description: 'test', uses: { registry: 'read' } },
    commandsScheduler: {
      handler: 'commands-scheduler',
      description: 'test',
      schedules: [{ everyMinutes: 1 }],
      uses: { registry: 'read' },
    },
  },
  ingest: {
    telemetry: {
      description: 'test',
      rule: { topic: 'devices/+/+/telemetry', payload: 'base64', add: { deviceId: 'topic(3)' } },
      stream: 'iotTelemetry',
      key: 'deviceId',
    },
  },
} as const satisfies Topology<'registry' | 'iotTelemetry' | 'fleetAlerts'>;

const names = new FleetkitNames('mon');

function monitoring(props: Partial<MonitoringStackProps> = {}): { app: App; stack: MonitoringStack } {
  const app = fastApp();
  const stack = new MonitoringStack(app, 'Monitoring', {
    names,
    topology: pipeline,
    httpApiId: 'api123',
    asyncFailureQueue: true,
    kafka: { clusterName: names.kafkaCluster, brokerCount: 2 },
    kafkaDlqBucketName: 'fleetkit-mon-kafka-dlq',
    ...props,
  });
  return { app, stack };
}

let app: App;
let template: Template;
let dashboard: string;

beforeAll(() => {
  const built = monitoring();
  app = built.app;
  template = Template.fromStack(built.stack);
  const [body] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  dashboard = flat(body?.Properties.DashboardBody);
});

/** The alarm `fleetkit-mon-monitoring-<id>`. */
function alarmName(id: string): string {
  return `fleetkit-mon-monitoring-${id}`;
}

describe('alarm topic', () => {
  it('is encrypted with a rotating customer-managed key', () => {
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'fleetkit-mon-alarms',
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('AlarmTopicKey'), 'Arn'] },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('refuses publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets CloudWatch alarms of this account publish, and use the key', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          }),
        ]),
      },
    });
  });

  it('subscribes the alarm e-mail when one is given, and refuses one that is not an address', () => {
    Template.fromStack(monitoring({ alarmEmail: 'ops@example.com' }).stack).hasResourceProperties(
      'AWS::SNS::Subscription',
      { Protocol: 'email', Endpoint: 'ops@example.com' },
    );
    expect(() => monitoring({ alarmEmail: 'ops' })).toThrow(/got 'ops'/);
  });
});

describe('alarms', () => {
  it('fires when the fleet online share stays below 80% for 10 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName('FleetOffline'),
      Namespace: 'fleetkit',
      MetricName: 'FleetOnlinePercent',
      Dimensions: [{ Name: 'Service', Value: 'fleet-sweeper' }],
      Statistic: 'Average',
      Period: 300,
      EvaluationPeriods: 2,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 80,
      TreatMissingData: 'breaching',
    });
  });

  it('takes the online threshold as a prop and refuses one outside (0, 100]', () => {
    Template.fromStack(monitoring({ fleetOnlinePercentBelow: 95 }).stack).hasResourceProperties(
      'AWS::CloudWatch::Alarm',
      { AlarmName: alarmName('FleetOffline'), Threshold: 95 },
    );
    expect(() => monitoring({ fleetOnlinePercentBelow: 120 })).toThrow(/got 120/);
  });

  it('fires on an alert storm: more than 100 alerts from both emitters in 5 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName('AlertStorm'),
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 100,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'FILL(a0, 0) + FILL(a1, 0)' }),
        Match.objectLike({
          Id: 'a0',
          MetricStat: Match.objectLike({
            Metric: {
              Namespace: 'fleetkit',
              MetricName: 'AlertsRaised',
              Dimensions: [{ Name: 'Service', Value: 'stream-processor' }],
            },
            Stat: 'Sum',
            Period: 300,
          }),
        }),
        Match.objectLike({
          Id: 'a1',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Dimensions: [{ Name: 'Service', Value: 'fleet-sweeper' }] }),
          }),
        }),
      ]),
    });
  });

  it('fires when the stream processor lags its topic for 15 minutes (Lambda OffsetLag)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName('StreamProcessorConsumerLag'),
      Namespace: 'AWS/Lambda',
      MetricName: 'OffsetLag',
      Dimensions: [{ Name: 'FunctionName', Value: 'fleetkit-mon-stream-processor' }],
      Statistic: 'Maximum',
      EvaluationPeriods: 3,
      Threshold: 10_000,
    });
  });

  it('fires on any stream processor error', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName('StreamProcessorErrors'),
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: 'fleetkit-mon-stream-processor' }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
    });
  });

  it('fires when records go to the dead-letter stream', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName('RejectedRecords'),
      Namespace: 'fleetkit',
      MetricName: 'RejectedRecords',
      Dimensions: [{ Name: 'Service', Value: 'stream-processor' }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it("fires when a rollout's failure rate passes its threshold", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName('RolloutFailures'),
      Namespace: 'fleetkit',
      MetricName: 'RolloutFailurePercent',
      Dimensions: [{ Name: 'Service', Value: 'rollout-scheduler' }],
      Statistic: 'Maximum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 10,
      TreatMissingData: 'notBreaching',
    });
  });

  it('fires when more than 20 % of the commands that ended failed, over both services that end them', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName('CommandFailures'),
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 20,
      TreatMissingData: 'notBreaching',
      Metrics: Match.arrayWith([
        Match.objectLike({
          Expression:
            'IF((FILL(ended0, 0) + FILL(ended1, 0)) >= 20, 100 * (FILL(failed0, 0) + FILL(failed1, 0)) / (FILL(ended0, 0) + FILL(ended1, 0)), 0)',
        }),
        Match.objectLike({
          Id: 'failed1',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({
              MetricName: 'CommandsFailed',
              Dimensions: [{ Name: 'Service', Value: 'commands-scheduler' }],
            }),
          }),
        }),
      ]),
    });
  });

  it('refuses a command failure threshold outside [0, 100)', () => {
    expect(() => monitoring({ commandFailurePercentAbove: -1 })).toThrow(/commandFailurePercentAbove/);
  });

  it('refuses a rollout failure threshold outside [0, 100)', () => {
    expect(() => monitoring({ rolloutFailurePercentAbove: 100 })).toThrow(/rolloutFailurePercentAbove/);
  });

  it('fires when the async failure queue holds a message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName('AsyncFailures'),
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'fleetkit-mon-async-failures' }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('fires when a Kafka trigger writes a failed batch to the Kafka DLQ bucket', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: alarmName('KafkaDlq'),
      Namespace: 'AWS/S3',
      MetricName: 'PutRequests',
      Dimensions: Match.arrayWith([
        { Name: 'BucketName', Value: 'fleetkit-mon-kafka-dlq' },
        { Name: 'FilterId', Value: 'AllRequests' },
      ]),
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('notifies the alarm topic on alarm and on recovery, every alarm', () => {
    // Act
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    // Assess
    expect(alarms).toHaveLength(11);
    for (const alarm of alarms) {
      expect(flat(alarm.Properties.AlarmActions)).toMatch(/^<AlarmTopic\w+>$/);
      expect(flat(alarm.Properties.OKActions)).toMatch(/^<AlarmTopic\w+>$/);
    }
  });

  it('makes no fleet or alert alarm for a topology without their emitters', () => {
    // Prepare
    const quiet: Topology = {
      resources: pipeline.resources,
      functions: { ingestStatus: pipeline.functions.ingestStatus },
    };
    // Act
    const alarms = Template.fromStack(monitoring({ topology: quiet }).stack).findResources(
      'AWS::CloudWatch::Alarm',
    );
    // Assess
    expect(
      Object.values(alarms)
        .map((a) => a.Properties.AlarmName)
        .sort(),
    ).toEqual(
      [
        alarmName('AsyncFailures'),
        alarmName('KafkaDlq'),
        // Devices connect whatever functions the topology has.
        alarmName('IotAuthenticationFailures'),
        alarmName('IotAuthorizationFailures'),
      ].sort(),
    );
  });
});

describe('dashboard', () => {
  it.each([
    ['telemetry records', 'TelemetryRecords'],
    ['rejected records', 'RejectedRecords'],
    ['alerts by type', `SEARCH('{fleetkit,AlertType,Service} MetricName=\\"AlertsRaised\\"'`],
    ['processor lag', 'ProcessorLagMs'],
    ['consumer offset lag', '"AWS/Lambda","OffsetLag","FunctionName","fleetkit-mon-stream-processor"'],
    ['online %', 'FleetOnlinePercent'],
    ['rollout failure %', 'RolloutFailurePercent'],
    ['rollout progress by rollout', 'MetricName=\\"RolloutSucceeded\\"'],
    ['devices waiting on pacing', 'MetricName=\\"RolloutWaitingOnPacing\\"'],
    ['devices', 'FleetDevices'],
    ['HTTP API 4xx', '"AWS/ApiGateway","4xx","ApiId","api123"'],
    ['HTTP API 5xx', '"AWS/ApiGateway","5xx","ApiId","api123"'],
    ['HTTP API latency', '"AWS/ApiGateway","Latency","ApiId","api123"'],
    [
      'IoT rule action failures',
      'MetricName=\\"Failure\\" (RuleName=\\"fleetkit_mon_ingestStatus\\" OR RuleName=\\"fleetkit_mon_telemetry\\")',
    ],
    ['IoT rule throttling', 'MetricName=\\"RuleMessageThrottled\\"'],
    ['MSK broker CPU', '"AWS/Kafka","CpuUser","Broker ID","2","Cluster Name","fleetkit-mon"'],
    ['MSK broker disk', '"AWS/Kafka","KafkaDataLogsDiskUsed","Broker ID","1","Cluster Name","fleetkit-mon"'],
  ])('shows %s', (_what, text) => {
    expect(dashboard).toContain(text);
  });

  it.each(Object.keys(pipeline.functions))('shows errors, throttles and duration of function %s', (name) => {
    // Prepare
    const functionName = names.function(name);
    // Act / Assess
    for (const metric of ['Errors', 'Throttles', 'Duration']) {
      expect(dashboard).toContain(`"AWS/Lambda","${metric}","FunctionName","${functionName}"`);
    }
  });

  it('is named after the stage', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'fleetkit-mon' });
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged in the monitoring stack', () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);
    // Assess
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`),
    );
    expect(findings).toEqual([]);
  });
});
