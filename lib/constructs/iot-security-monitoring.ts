import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import { MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnLogging } from 'aws-cdk-lib/aws-iot';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { FIVE_MINUTES } from './monitoring-metrics.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/**
 * The `Protocol` dimension's values on IoT's broker metrics
 * (https://docs.aws.amazon.com/iot/latest/developerguide/metrics_dimensions.html#aws-iot-metricdimensions).
 * Alarms cannot SEARCH, so each protocol is a metric of its own, summed.
 */
export const IOT_PROTOCOLS = ['MQTT', 'HTTP'] as const;

/**
 * Authentication failures: `Connection.AuthNError`, connection attempts IoT Core refused because
 * authentication failed (no, an unknown, a revoked or an inactive certificate), counting only those
 * that named this account's endpoint in SNI — including internet scanners, hence a threshold above 0.
 */
export const IOT_AUTHENTICATION_METRICS = ['Connection.AuthNError'] as const;

/**
 * Authorization failures of authenticated clients: the policy refused a CONNECT (a client id that is
 * not the certificate's thing), a PUBLISH or a SUBSCRIBE. fleetkit's own devices never do that, so any
 * is a bug or a device trying what is not its own (the "PublishIn.AuthZError" is spelled
 * `PublishIn.AuthError` in AWS's message broker metrics).
 */
export const IOT_AUTHORIZATION_METRICS = [
  'Connect.AuthError',
  'PublishIn.AuthError',
  'Subscribe.AuthError',
] as const;

/** The sum, over every protocol, of the `AWS/IoT` metrics named, per 5 minutes; missing data is 0. */
export function iotErrorSum(metricNames: readonly string[], label: string): MathExpression {
  const usingMetrics: Record<string, Metric> = {};
  metricNames.forEach((metricName, i) => {
    IOT_PROTOCOLS.forEach((protocol, j) => {
      usingMetrics[`m${i}p${j}`] = new Metric({
        namespace: 'AWS/IoT',
        metricName,
        dimensionsMap: { Protocol: protocol },
        statistic: 'Sum',
        period: FIVE_MINUTES,
      });
    });
  });
  return new MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    label,
    period: FIVE_MINUTES,
  });
}

/** The log group IoT Core's v2 logging writes to; its name is IoT's, not ours. */
export const IOT_LOG_GROUP = 'AWSIotLogsV2';

/** Properties of {@link IotLogging}. */
export interface IotLoggingProps {
  /** @default 'WARN' */
  readonly level?: 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
  /** @default RetentionDays.ONE_MONTH */
  readonly retention?: RetentionDays;
}

/**
 * IoT Core's account-wide logging (`AWS::IoT::Logging`, v2 logging) at WARN by default: refused
 * connections, publishes and subscriptions are logged with the client id, the principal and the
 * reason, which is what an authorization alarm sends an operator to
 * (https://docs.aws.amazon.com/iot/latest/developerguide/configure-logging.html). It writes to
 * `AWSIotLogsV2`, made here with a retention, through a role IoT assumes for this account only.
 *
 * There is one per account and region: a second stage in the same account turns it off
 * (`iotAccountLogging: false`), or its deployment fails on the existing configuration.
 */
export class IotLogging extends Construct {
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly logging: CfnLogging;

  constructor(scope: Construct, id: string, props: IotLoggingProps = {}) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'LogGroup', {
      logGroupName: IOT_LOG_GROUP,
      retention: props.retention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.role = new Role(this, 'Role', {
      description: 'IoT Core logging: write to the AWSIotLogsV2 log group of this account',
      assumedBy: new ServicePrincipal('iot.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
    });
    const group = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:${IOT_LOG_GROUP}`;
    const streams = `${group}:*`;
    this.role.addToPolicy(
      new PolicyStatement({
        // What IoT's logging role needs, on its own log group only (AWS's AWSIoTLogging allows them on *).
        actions: [
          'logs:CreateLogGroup',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'logs:PutMetricFilter',
          'logs:PutRetentionPolicy',
        ],
        resources: [group, streams],
      }),
    );
    acknowledgeWildcardResource(
      this.role.node.findChild('DefaultPolicy'),
      streams,
      'IoT names its log streams per day and component; the statement covers the AWSIotLogsV2 log group ' +
        'and its streams only, and the role is assumable only by IoT in this account.',
    );
    this.logging = new CfnLogging(this, 'Logging', {
      accountId: Aws.ACCOUNT_ID,
      roleArn: this.role.roleArn,
      defaultLogLevel: props.level ?? 'WARN',
    });
    // IoT checks the role when the configuration is set.
    this.logging.node.addDependency(this.role);
  }
}
