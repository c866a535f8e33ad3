import { Aws, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type Dashboard,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { commandFailureRate } from '../constructs/command-failure-rate.ts';
import { buildFleetDashboard } from '../constructs/fleet-dashboard.ts';
import {
  IOT_AUTHENTICATION_METRICS,
  IOT_AUTHORIZATION_METRICS,
  IotLogging,
  iotErrorSum,
} from '../constructs/iot-security-monitoring.ts';
import { FIVE_MINUTES, fleetkitMetric, lambdaMetric, pascalCase } from '../constructs/monitoring-metrics.ts';
import { ALL_REQUESTS_FILTER } from '../constructs/secure-bucket.ts';
import { METRIC_SERVICES, METRICS } from '../protocol/metrics.ts';
import type { Topology } from '../topology/model.ts';
import { consumeStrongReferences, type FleetkitNames } from './names.ts';

export { METRIC_NAMESPACE } from '../protocol/metrics.ts';

/** Properties of the {@link MonitoringStack}. */
export interface MonitoringStackProps extends StackProps {
  readonly names: FleetkitNames;
  /** Functions, rules and ingest rules to watch; their names come from `names`. */
  readonly topology: Topology;
  /**
   * The HTTP API's id.
   * @default - no HTTP API widgets
   */
  readonly httpApiId?: string;
  /**
   * Whether the runtime stack has the asynchronous-invocation failure queue (`names.asyncFailureQueue`).
   * @default false
   */
  readonly asyncFailureQueue?: boolean;
  /**
   * The MSK cluster, for broker widgets.
   * @default - no broker widgets
   */
  readonly kafka?: { readonly clusterName: string; readonly brokerCount: number };
  /**
   * The bucket Kafka triggers send failed batches to (with request metrics).
   * @default - no alarm on it
   */
  readonly kafkaDlqBucketName?: string;
  /** Alarm when `FleetOnlinePercent` averages below this over 10 minutes. @default 80 */
  readonly fleetOnlinePercentBelow?: number;
  /** Alarm when more alerts than this are raised in 5 minutes (an alert storm). @default 100 */
  readonly alertsPer5MinutesAbove?: number;
  /** Alarm when a Kafka trigger's `OffsetLag` stays above this for 15 minutes. @default 10000 */
  readonly consumerOffsetLagAbove?: number;
  /** Alarm when a Kafka-triggered function has at least this many errors in 5 minutes. @default 1 */
  readonly consumerErrorsPer5Minutes?: number;
  /** Alarm when a rollout's failed share of ended executions exceeds this (percent, 5 minutes). @default 10 */
  readonly rolloutFailurePercentAbove?: number;
  /**
   * Alarm when more than this share of the command executions that ended in 5 minutes failed, were
   * rejected or timed out (percent), once at least 20 ended. @default 20
   */
  readonly commandFailurePercentAbove?: number;
  /**
   * Alarm when IoT Core refuses more connections than this for failed authentication in 5 minutes
   * (`Connection.AuthNError`, internet scanners included). @default 100
   */
  readonly iotAuthNErrorsPer5MinutesAbove?: number;
  /**
   * Alarm when IoT Core's policy refuses more connects, publishes or subscribes of authenticated clients
   * than this in 5 minutes. @default 0
   */
  readonly iotAuthZErrorsPer5MinutesAbove?: number;
  /**
   * Alarm when more ACTIVE device certificates than this expire within the fleet audit's window
   * (`AUDIT_EXPIRY_DAYS` of the topology's `fleet-audit` function). @default 0
   */
  readonly certificatesExpiringAbove?: number;
  /**
   * Configure IoT Core's account-wide logging (WARN) from this stack. One stage per account and region
   * may: turn it off for the others. @default true
   */
  readonly iotAccountLogging?: boolean;
  /**
   * An address that receives every alarm (it must confirm the subscription).
   * @default - no subscription; subscribe to the topic `names.alarmTopic`
   */
  readonly alarmEmail?: string;
}

/**
 * Alarms and a dashboard for one stage: an SNS topic (KMS-encrypted, TLS only) that every alarm
 * notifies, alarms on the fleet (online share, alert storms), the stream (consumer lag, errors, dead
 * letters), IoT Core's refused authentications and authorizations (with its logging at WARN), and a dashboard of the pipeline, the functions, the HTTP API, IoT rules and the MSK brokers.
 *
 * Everything is found by name (`FleetkitNames`), not through CloudFormation exports, except the HTTP
 * API's id, which AWS assigns.
 */
export class MonitoringStack extends Stack {
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  /** Alarms by construct id. */
  readonly alarms: Readonly<Record<string, Alarm>>;

  /** IoT Core's account logging, unless `iotAccountLogging` is false. */
  iotLogging?: IotLogging;

  private readonly props: MonitoringStackProps;
  private readonly alarmMap: Record<string, Alarm> = {};

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    consumeStrongReferences(this);
    this.props = props;
    const { names, topology } = props;

    const key = new Key(this, 'AlarmTopicKey', {
      description: `Encrypts the alarm notifications of ${names.stack('monitoring')}`,
      enableKeyRotation: true,
    });
    // CloudWatch publishes to an encrypted topic with the topic's key, so the key must let it
    // (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
    key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      topicName: names.alarmTopic,
      displayName: `fleetkit ${names.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    // enforceSSL writes a topic policy, which replaces SNS's default one: CloudWatch needs its own allow.
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: {
            'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*`,
          },
        },
      }),
    );
    if (props.alarmEmail !== undefined) {
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
        throw new Error(`alarmEmail must be an e-mail address; got '${props.alarmEmail}'`);
      }
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    }

    const handlers = new Set(Object.values(topology.functions).map((fn) => fn.handler));
    const hasProcessor = handlers.has(METRIC_SERVICES.streamProcessor);
    const hasSweeper = handlers.has(METRIC_SERVICES.fleetSweeper);
    const kafkaFunctions = Object.entries(topology.functions)
      .filter(([, spec]) => (spec.kafka ?? []).length > 0)
      .map(([name]) => names.function(name));

    if (hasSweeper) {
      const threshold = props.fleetOnlinePercentBelow ?? 80;
      if (!(threshold > 0 && threshold <= 100)) {
        throw new Error(`fleetOnlinePercentBelow must be in (0, 100]; got ${threshold}`);
      }
      this.alarm('FleetOffline', {
        description: `Less than ${threshold}% of the fleet is online (10 minutes)`,
        metric: fleetkitMetric(METRICS.fleetOnlinePercent, METRIC_SERVICES.fleetSweeper, 'Average'),
        threshold,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: 2,
        // The sweeper reports every minute; silence means the fleet's state is unknown, worth hearing.
        treatMissingData: TreatMissingData.BREACHING,
      });
    }
    if (hasProcessor || hasSweeper) {
      const threshold = props.alertsPer5MinutesAbove ?? 100;
      const services = [
        ...(hasProcessor ? [METRIC_SERVICES.streamProcessor] : []),
        ...(hasSweeper ? [METRIC_SERVICES.fleetSweeper] : []),
      ];
      const usingMetrics = Object.fromEntries(
        services.map((service, i) => [`a${i}`, fleetkitMetric(METRICS.alertsRaised, service, 'Sum')]),
      );
      this.alarm('AlertStorm', {
        description: `More than ${threshold} alerts raised in 5 minutes`,
        metric: new MathExpression({
          expression: Object.keys(usingMetrics)
            .map((m) => `FILL(${m}, 0)`)
            .join(' + '),
          usingMetrics,
          label: 'Alerts raised',
          period: FIVE_MINUTES,
        }),
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    if (hasProcessor) {
      this.alarm('RejectedRecords', {
        description: 'The stream processor sent records to the dead-letter stream (5 minutes)',
        metric: fleetkitMetric(METRICS.rejectedRecords, METRIC_SERVICES.streamProcessor, 'Sum'),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    for (const [name, spec] of Object.entries(topology.functions)) {
      if ((spec.kafka ?? []).length === 0) continue;
      const functionName = names.function(name);
      // Lambda's OffsetLag (AWS/Lambda, by function): records written to the topic that the mapping's
      // consumer group has not processed yet. It exists for every MSK mapping; MSK's SumOffsetLag needs
      // a STABLE consumer group and PER_TOPIC_PER_PARTITION monitoring
      // (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html).
      this.alarm(`${pascalCase(name)}ConsumerLag`, {
        description: `${functionName} is behind its Kafka topic (offset lag, 15 minutes)`,
        metric: lambdaMetric('OffsetLag', functionName, 'Maximum', false),
        threshold: props.consumerOffsetLagAbove ?? 10_000,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      this.alarm(`${pascalCase(name)}Errors`, {
        description: `${functionName} failed on Kafka batches (5 minutes): they are retried, then kept in the Kafka DLQ bucket`,
        metric: lambdaMetric('Errors', functionName, 'Sum', false),
        threshold: props.consumerErrorsPer5Minutes ?? 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    if (handlers.has(METRIC_SERVICES.rolloutScheduler)) {
      const threshold = props.rolloutFailurePercentAbove ?? 10;
      if (!(threshold >= 0 && threshold < 100)) {
        throw new Error(`rolloutFailurePercentAbove must be in [0, 100); got ${threshold}`);
      }
      this.alarm('RolloutFailures', {
        description: `A rollout's failed share of ended executions is above ${threshold}% (5 minutes): check GET /rollouts`,
        metric: fleetkitMetric(METRICS.rolloutFailurePercent, METRIC_SERVICES.rolloutScheduler, 'Maximum'),
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No rollout running is not a failure.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    const commandServices = [METRIC_SERVICES.commandsMqtt, METRIC_SERVICES.commandsScheduler].filter((s) =>
      handlers.has(s),
    );
    if (commandServices.length > 0) {
      const threshold = props.commandFailurePercentAbove ?? 20;
      if (!(threshold >= 0 && threshold < 100)) {
        throw new Error(`commandFailurePercentAbove must be in [0, 100); got ${threshold}`);
      }
      this.alarm('CommandFailures', {
        description: `More than ${threshold}% of the commands that ended in 5 minutes failed, were rejected or timed out: check GET /devices/{id}/commands?status=FAILED`,
        metric: commandFailureRate(commandServices, 20),
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    if (props.asyncFailureQueue === true) {
      this.alarm('AsyncFailures', {
        description: 'Asynchronous invocations failed after their retries and wait in the failure queue',
        metric: new Metric({
          namespace: 'AWS/SQS',
          metricName: 'ApproximateNumberOfMessagesVisible',
          dimensionsMap: { QueueName: names.asyncFailureQueue },
          statistic: 'Maximum',
          period: FIVE_MINUTES,
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    if (props.kafkaDlqBucketName !== undefined) {
      this.alarm('KafkaDlq', {
        description: 'A Kafka trigger gave up on a batch and wrote it to the Kafka DLQ bucket (5 minutes)',
        metric: new Metric({
          namespace: 'AWS/S3',
          metricName: 'PutRequests',
          dimensionsMap: { BucketName: props.kafkaDlqBucketName, FilterId: ALL_REQUESTS_FILTER },
          statistic: 'Sum',
          period: FIVE_MINUTES,
        }),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    this.watchIotAuth();
    this.watchCertificateExpiry();
    this.alarms = this.alarmMap;
    this.dashboard = buildFleetDashboard(this, props, kafkaFunctions);
  }

  /** IoT Core's logging, and alarms on refused authentication and authorization of devices. */
  private watchIotAuth(): void {
    const { props } = this;
    if (props.iotAccountLogging !== false) this.iotLogging = new IotLogging(this, 'IotLogging');
    const authN = props.iotAuthNErrorsPer5MinutesAbove ?? 100;
    this.alarm('IotAuthenticationFailures', {
      description: `IoT Core refused more than ${authN} connections for failed authentication in 5 minutes (unknown, revoked or inactive certificates)`,
      metric: iotErrorSum(IOT_AUTHENTICATION_METRICS, 'Connections refused, authentication'),
      threshold: authN,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const authZ = props.iotAuthZErrorsPer5MinutesAbove ?? 0;
    this.alarm('IotAuthorizationFailures', {
      description: `IoT Core's device policy refused more than ${authZ} connects, publishes or subscribes in 5 minutes: the IoT logs (AWSIotLogsV2) name the client`,
      metric: iotErrorSum(IOT_AUTHORIZATION_METRICS, 'Requests refused, authorization'),
      threshold: authZ,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * The fleet audit's count of ACTIVE certificates expiring within its window (issue 10: alarm on
   * certificates expiring within 30 days). The audit reports every 10 minutes, so an hour without a
   * report is an audit that stopped: that alarms too, as nothing else would notice certificates running out.
   */
  private watchCertificateExpiry(): void {
    const audit = Object.values(this.props.topology.functions).find((fn) => fn.handler === 'fleet-audit');
    if (audit === undefined) return;
    const days = audit.settings?.AUDIT_EXPIRY_DAYS ?? '?';
    const above = this.props.certificatesExpiringAbove ?? 0;
    this.alarm('CertificatesExpiringSoon', {
      description: `More than ${above} active device certificates expire within ${days} days (or the fleet audit stopped reporting for an hour): GET /audit?check=DEVICE_CERTIFICATE_EXPIRING lists them, each with its fix`,
      metric: fleetkitMetric(
        METRICS.certificatesExpiringSoon,
        METRIC_SERVICES.fleetAudit,
        'Maximum',
        Duration.hours(1),
      ),
      threshold: above,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.BREACHING,
    });
  }

  private alarm(
    id: string,
    options: {
      description: string;
      metric: IMetric;
      threshold: number;
      comparisonOperator: ComparisonOperator;
      evaluationPeriods: number;
      treatMissingData: TreatMissingData;
    },
  ): Alarm {
    const { names } = this.props;
    const alarm = new Alarm(this, id, {
      alarmName: `${names.stack('monitoring')}-${id}`,
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator,
      evaluationPeriods: options.evaluationPeriods,
      treatMissingData: options.treatMissingData,
    });
    const action = new SnsAction(this.alarmTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarmMap[id] = alarm;
    return alarm;
  }
}
