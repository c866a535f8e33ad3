import {
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  SingleValueWidget,
  TextWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { METRIC_NAMESPACE, METRIC_SERVICES, METRICS } from '../protocol/metrics.ts';
import type { FleetkitNames } from '../stacks/names.ts';
import type { Topology } from '../topology/model.ts';
import {
  anyOf,
  FIVE_MINUTES,
  fleetkitMetric,
  lambdaMetric,
  ONE_MINUTE,
  search,
} from './monitoring-metrics.ts';
import { ALL_REQUESTS_FILTER } from './secure-bucket.ts';

/** What the dashboard shows. */
export interface FleetDashboardProps {
  readonly names: FleetkitNames;
  readonly topology: Topology;
  readonly httpApiId?: string;
  readonly kafka?: { readonly clusterName: string; readonly brokerCount: number };
  readonly kafkaDlqBucketName?: string;
  readonly asyncFailureQueue?: boolean;
}

/**
 * The stage's CloudWatch dashboard: the telemetry pipeline, the fleet, every function, the HTTP API,
 * IoT rules and the MSK brokers.
 */
export function buildFleetDashboard(
  scope: Construct,
  props: FleetDashboardProps,
  kafkaFunctions: readonly string[],
): Dashboard {
  const { names, topology } = props;
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
        markdown: `# fleetkit ${names.stage}\nTelemetry pipeline, fleet, rollouts, functions, HTTP API, IoT rules, MSK.`,
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
        title: 'Rollouts: succeeded / failed by rollout',
        left: [
          search(
            `{${METRIC_NAMESPACE},RolloutId,Service} MetricName="${METRICS.rolloutSucceeded}"`,
            'Maximum',
            FIVE_MINUTES,
            'Succeeded',
          ),
          search(
            `{${METRIC_NAMESPACE},RolloutId,Service} MetricName="${METRICS.rolloutFailed}"`,
            'Maximum',
            FIVE_MINUTES,
            'Failed',
          ),
        ],
        width: third,
      }),
      new GraphWidget({
        title: 'Rollout failure % (worst rollout)',
        left: [fleetkitMetric(METRICS.rolloutFailurePercent, METRIC_SERVICES.rolloutScheduler, 'Maximum')],
        leftYAxis: { min: 0, max: 100 },
        width: third,
      }),
      new GraphWidget({
        title: 'Rollouts: queued / min, waiting on pacing',
        left: [
          search(
            `{${METRIC_NAMESPACE},RolloutId,Service} MetricName="${METRICS.rolloutQueued}"`,
            'Sum',
            ONE_MINUTE,
            'Queued',
          ),
        ],
        right: [
          search(
            `{${METRIC_NAMESPACE},RolloutId,Service} MetricName="${METRICS.rolloutWaitingOnPacing}"`,
            'Maximum',
            ONE_MINUTE,
            'Waiting on pacing',
          ),
        ],
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

  const apiId = props.httpApiId;
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
  if (props.asyncFailureQueue === true) {
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
  if (props.kafkaDlqBucketName !== undefined) {
    dlq.push(
      new Metric({
        namespace: 'AWS/S3',
        metricName: 'PutRequests',
        dimensionsMap: { BucketName: props.kafkaDlqBucketName, FilterId: ALL_REQUESTS_FILTER },
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

  const kafka = props.kafka;
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

  return new Dashboard(scope, 'Dashboard', { dashboardName: names.dashboard, widgets: rows });
}
