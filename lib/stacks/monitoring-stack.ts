import { Aws, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { ALL_REQUESTS_FILTER } from '../constructs/secure-bucket.ts';
import { METRIC_SERVICES, METRICS } from '../protocol/metrics.ts';
import type { Topology } from '../topology/model.ts';
import { consumeStrongReferences, type FleetkitNames } from './names.ts';

/** CloudWatch namespace of fleetkit's own metrics (Embedded Metric Format, dimension `Service`). */
export const METRIC_NAMESPACE = 'fleetkit';

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
  /**
   * An address that receives every alarm (it must confirm the subscription).
   * @default - no subscription; subscribe to the topic `names.alarmTopic`
   */
  readonly alarmEmail?: string;
}

const FIVE_MINUTES = Duration.minutes(5);
const ONE_MINUTE = Duration.minutes(1);

function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** A fleetkit metric of one emitting handler. */
function fleetkitMetric(
  metricName: string,
  service: string,
  statistic: string,
  period: Duration = FIVE_MINUTES,
): Metric {
  return new Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { Service: service },
    statistic,
    period,
  });
}

/** A Lambda metric of one function; labelled by function on graphs (a label would make an alarm a math alarm). */
function lambdaMetric(metricName: string, functionName: string, statistic: string, labelled = true): Metric {
  return new Metric({
    namespace: 'AWS/Lambda',
    metricName,
    dimensionsMap: { FunctionName: functionName },
    statistic,
    period: FIVE_MINUTES,
    ...(labelled ? { label: functionName } : {}),
  });
}

/** A CloudWatch SEARCH expression (dashboards only: alarms cannot use SEARCH). */
function search(expression: string, statistic: string, period: Duration, label: string): MathExpression {
  return new MathExpression({
    expression: `SEARCH('${expression}', '${statistic}', ${period.toSeconds()})`,
    usingMetrics: {},
    label,
    period,
  });
}

/** `(RuleName="a" OR RuleName="b")`. */
function anyOf(dimension: string, values: readonly string[]): string {
  return `(${values.map((value) => `${dimension}="${value}"`).join(' OR ')})`;
}

/**
 * Alarms and a dashboard for one stage: an SNS topic (KMS-encrypted, TLS only) that every alarm
 * notifies, alarms on the fleet (online share, alert storms), the stream (consumer lag, errors, dead
 * letters) and a dashboard of the pipeline, the functions, the HTTP API, IoT rules and the MSK brokers.
 *
 * Everything is found by name (`FleetkitNames`), not through CloudFormation exports, except the HTTP
 * API's id, which AWS assigns.
 */
export class MonitoringStack extends Stack {
  readonly alarmTopic: Topic;
  readonly dashboard: Dashboard;
  /** Alarms by construct id. */
  readonly alarms: Readonly<Record<string, Alarm>>;

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
    this.alarms = this.alarmMap;
    this.dashboard = this.buildDashboard(kafkaFunctions);
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

  private buildDashboard(kafkaFunctions: readonly string[]): Dashboard {
    const { names, topology } = this.props;
    const processor = METRIC_SERVICES.streamProcessor;
    const sweeper = METRIC_SERVICES.fleetSweeper;
    const functionNames = Object.keys(topology.functions).map((name) => names.function(name));
    const ruleNames = [
      ...Object.entries(topology.functions).flatMap(([name, spec]) =>
        (spec.rules ?? []).map((_, i) => names.topicRule(name, i)),
      ),
      ...Object.keys(topology.ingest ?? {}).map((name) => names.topicRule(name, 0)),
    ];
    const half = 12;
    const third = 8;

    const rows: Array<Array<GraphWidget | SingleValueWidget | TextWidget>> = [
      [
        new TextWidget({
          markdown: `# fleetkit ${names.stage}\nTelemetry pipeline, fleet, functions, HTTP API, IoT rules, MSK.`,
          width: 24,
          height: 2,
        }),
      ],
      [
        new GraphWidget({
          title: 'Telemetry records / min',
          left: [fleetkitMetric(METRICS.telemetryRecords, processor, 'Sum', ONE_MINUTE)],
          width: third,
        }),
        new GraphWidget({
          title: 'Rejected records and messages',
          left: [
            fleetkitMetric(METRICS.rejectedRecords, processor, 'Sum', ONE_MINUTE),
            search(
              `{${METRIC_NAMESPACE},MessageType,Service} MetricName="${METRICS.rejectedMessages}"`,
              'Sum',
              ONE_MINUTE,
              'Rejected messages',
            ),
          ],
          width: third,
        }),
        new GraphWidget({
          title: 'Alerts raised by type',
          left: [
            search(
              `{${METRIC_NAMESPACE},AlertType,Service} MetricName="${METRICS.alertsRaised}"`,
              'Sum',
              FIVE_MINUTES,
              'Alerts',
            ),
          ],
          width: third,
        }),
      ],
      [
        new GraphWidget({
          title: 'Processor lag',
          left: [fleetkitMetric(METRICS.processorLag, processor, 'Maximum', ONE_MINUTE)],
          right: kafkaFunctions.map((fn) => lambdaMetric('OffsetLag', fn, 'Maximum')),
          leftYAxis: { label: 'ms', showUnits: false },
          rightYAxis: { label: 'records (offset lag)', showUnits: false },
          width: third,
        }),
        new GraphWidget({
          title: 'Fleet online %',
          left: [fleetkitMetric(METRICS.fleetOnlinePercent, sweeper, 'Average', ONE_MINUTE)],
          leftYAxis: { min: 0, max: 100 },
          width: third,
        }),
        new SingleValueWidget({
          title: 'Devices',
          metrics: [fleetkitMetric(METRICS.fleetDevices, sweeper, 'Maximum', FIVE_MINUTES)],
          width: third,
        }),
      ],
      [
        new GraphWidget({
          title: 'Function errors',
          left: functionNames.map((fn) => lambdaMetric('Errors', fn, 'Sum')),
          width: third,
        }),
        new GraphWidget({
          title: 'Function throttles',
          left: functionNames.map((fn) => lambdaMetric('Throttles', fn, 'Sum')),
          width: third,
        }),
        new GraphWidget({
          title: 'Function duration p99',
          left: functionNames.map((fn) => lambdaMetric('Duration', fn, 'p99')),
          width: third,
        }),
      ],
    ];

    const apiId = this.props.httpApiId;
    if (apiId !== undefined) {
      const apiMetric = (metricName: string, statistic: string) =>
        new Metric({
          namespace: 'AWS/ApiGateway',
          metricName,
          dimensionsMap: { ApiId: apiId },
          statistic,
          period: FIVE_MINUTES,
        });
      rows.push([
        new GraphWidget({
          title: 'HTTP API 4xx / 5xx',
          left: [apiMetric('4xx', 'Sum'), apiMetric('5xx', 'Sum')],
          width: half,
        }),
        new GraphWidget({
          title: 'HTTP API latency',
          left: [apiMetric('Latency', 'p50'), apiMetric('Latency', 'p99')],
          width: half,
        }),
      ]);
    }

    const dlq: IMetric[] = [];
    if (this.props.asyncFailureQueue === true) {
      dlq.push(
        new Metric({
          namespace: 'AWS/SQS',
          metricName: 'ApproximateNumberOfMessagesVisible',
          dimensionsMap: { QueueName: names.asyncFailureQueue },
          statistic: 'Maximum',
          period: FIVE_MINUTES,
        }),
      );
    }
    if (this.props.kafkaDlqBucketName !== undefined) {
      dlq.push(
        new Metric({
          namespace: 'AWS/S3',
          metricName: 'PutRequests',
          dimensionsMap: { BucketName: this.props.kafkaDlqBucketName, FilterId: ALL_REQUESTS_FILTER },
          statistic: 'Sum',
          period: FIVE_MINUTES,
          label: 'Kafka DLQ writes',
        }),
      );
    }
    const iotAndDlq: GraphWidget[] = [];
    if (ruleNames.length > 0) {
      // Rule action metrics carry RuleName and ActionType; rule metrics RuleName only
      // (https://docs.aws.amazon.com/iot/latest/developerguide/metrics_dimensions.html).
      iotAndDlq.push(
        new GraphWidget({
          title: 'IoT rule failures and throttling',
          left: [
            search(
              `{AWS/IoT,ActionType,RuleName} MetricName="Failure" ${anyOf('RuleName', ruleNames)}`,
              'Sum',
              FIVE_MINUTES,
              'Action failures',
            ),
            search(
              `{AWS/IoT,RuleName} MetricName="RuleMessageThrottled" ${anyOf('RuleName', ruleNames)}`,
              'Sum',
              FIVE_MINUTES,
              'Throttled',
            ),
          ],
          width: half,
        }),
      );
    }
    if (dlq.length > 0) {
      iotAndDlq.push(new GraphWidget({ title: 'Dead letters', left: dlq, width: half }));
    }
    if (iotAndDlq.length > 0) rows.push(iotAndDlq);

    const kafka = this.props.kafka;
    if (kafka !== undefined) {
      const brokerIds = Array.from({ length: kafka.brokerCount }, (_, i) => String(i + 1));
      const brokerMetric = (metricName: string, brokerId: string) =>
        new Metric({
          namespace: 'AWS/Kafka',
          metricName,
          dimensionsMap: { 'Cluster Name': kafka.clusterName, 'Broker ID': brokerId },
          statistic: 'Maximum',
          period: FIVE_MINUTES,
          label: `${metricName} broker ${brokerId}`,
        });
      // CPU in use is user plus system time, per broker (https://docs.aws.amazon.com/msk/latest/developerguide/bestpractices.html).
      const cpu = brokerIds.map(
        (id) =>
          new MathExpression({
            expression: `user${id} + system${id}`,
            usingMetrics: {
              [`user${id}`]: brokerMetric('CpuUser', id),
              [`system${id}`]: brokerMetric('CpuSystem', id),
            },
            label: `CPU broker ${id}`,
            period: FIVE_MINUTES,
          }),
      );
      rows.push([
        new GraphWidget({
          title: 'MSK broker CPU % (user + system)',
          left: cpu,
          leftYAxis: { min: 0, max: 100 },
          width: half,
        }),
        new GraphWidget({
          title: 'MSK broker data disk used %',
          left: brokerIds.map((id) => brokerMetric('KafkaDataLogsDiskUsed', id)),
          leftYAxis: { min: 0, max: 100 },
          width: half,
        }),
      ]);
    }

    return new Dashboard(this, 'Dashboard', { dashboardName: names.dashboard, widgets: rows });
  }
}
