import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { IOT_PROTOCOLS } from '../../lib/constructs/iot-security-monitoring.ts';
import { MonitoringStack, type MonitoringStackProps } from '../../lib/stacks/monitoring-stack.ts';
import { FleetkitNames } from '../../lib/stacks/names.ts';
import { fastApp, flat } from './stream-topology.ts';

/** Detection of refused devices: IoT Core's logging and its authentication and authorization alarms. */

const names = new FleetkitNames('det');

function monitoring(props: Partial<MonitoringStackProps> = {}) {
  const app = fastApp();
  const stack = new MonitoringStack(app, 'Monitoring', {
    names,
    topology: { resources: {}, functions: {} },
    ...props,
  });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The `AWS/IoT` metric names and Protocol dimensions an alarm sums. */
function summedMetrics(template: Template, alarmName: string): string[] {
  const [alarm] = Object.values(
    template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: alarmName } }),
  );
  return (alarm?.Properties.Metrics ?? [])
    .filter((m: { MetricStat?: unknown }) => m.MetricStat !== undefined)
    .map(
      (m: {
        MetricStat: {
          Metric: { Namespace: string; MetricName: string; Dimensions: Array<{ Value: string }> };
        };
      }) =>
        `${m.MetricStat.Metric.Namespace} ${m.MetricStat.Metric.MetricName} ${m.MetricStat.Metric.Dimensions.map((d) => d.Value).join()}`,
    )
    .sort();
}

let built: ReturnType<typeof monitoring>;
beforeAll(() => {
  built = monitoring();
});

describe('IoT Core logging', () => {
  it('is configured for the account at WARN, through a role', () => {
    built.template.hasResourceProperties('AWS::IoT::Logging', {
      AccountId: { Ref: 'AWS::AccountId' },
      DefaultLogLevel: 'WARN',
      RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('IotLoggingRole'), 'Arn'] },
    });
  });

  it('uses a role only IoT of this account may assume', () => {
    built.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'iot.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
      Description: Match.stringLikeRegexp('IoT Core logging'),
    });
  });

  it('lets the role write to the AWSIotLogsV2 log group and nowhere else', () => {
    // Act
    const [policy] = Object.values(
      built.template.findResources('AWS::IAM::Policy', {
        Properties: { PolicyName: Match.stringLikeRegexp('IotLoggingRole') },
      }),
    );
    const resources = policy?.Properties.PolicyDocument.Statement.flatMap((s: { Resource: unknown }) =>
      [s.Resource].flat().map(flat),
    );
    // Assess
    expect(resources).toEqual([
      'arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:AWSIotLogsV2',
      'arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:AWSIotLogsV2:*',
    ]);
  });

  it('keeps its logs a month in a log group made with the stack', () => {
    built.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: 'AWSIotLogsV2',
      RetentionInDays: 30,
    });
  });

  it('is left alone by a stage that turns account logging off', () => {
    // Act
    const { template } = monitoring({ iotAccountLogging: false });
    // Assess
    template.resourceCountIs('AWS::IoT::Logging', 0);
    template.resourcePropertiesCountIs('AWS::Logs::LogGroup', { LogGroupName: 'AWSIotLogsV2' }, 0);
  });
});

describe('IoT authentication and authorization alarms', () => {
  it('fires when more than 100 connections fail authentication in 5 minutes, on every protocol', () => {
    // Act / Assess
    built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fleetkit-det-monitoring-IotAuthenticationFailures',
      Threshold: 100,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    expect(summedMetrics(built.template, 'fleetkit-det-monitoring-IotAuthenticationFailures')).toEqual(
      IOT_PROTOCOLS.map((p) => `AWS/IoT Connection.AuthNError ${p}`).sort(),
    );
  });

  it('fires on any connect, publish or subscribe the device policy refuses', () => {
    // Act / Assess
    built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fleetkit-det-monitoring-IotAuthorizationFailures',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(summedMetrics(built.template, 'fleetkit-det-monitoring-IotAuthorizationFailures')).toEqual(
      ['Connect.AuthError', 'PublishIn.AuthError', 'Subscribe.AuthError']
        .flatMap((metric) => IOT_PROTOCOLS.map((p) => `AWS/IoT ${metric} ${p}`))
        .sort(),
    );
  });

  it('takes both thresholds as props', () => {
    // Act
    const { template } = monitoring({
      iotAuthNErrorsPer5MinutesAbove: 500,
      iotAuthZErrorsPer5MinutesAbove: 5,
    });
    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fleetkit-det-monitoring-IotAuthenticationFailures',
      Threshold: 500,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fleetkit-det-monitoring-IotAuthorizationFailures',
      Threshold: 5,
    });
  });

  it.each(['IotAuthenticationFailures', 'IotAuthorizationFailures'])(
    '%s notifies the alarm topic on alarm and on recovery',
    (id) => {
      built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `fleetkit-det-monitoring-${id}`,
        AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
        OKActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
      });
    },
  );
});

describe('the certificate expiry alarm', () => {
  const audited = (props: Partial<MonitoringStackProps> = {}) =>
    monitoring({
      topology: {
        resources: {},
        functions: {
          fleetAudit: {
            handler: 'fleet-audit',
            description: 'audit',
            schedules: [{ everyMinutes: 10 }],
            settings: { AUDIT_EXPIRY_DAYS: '30' },
          },
        },
      },
      ...props,
    });

  it("fires on any active certificate within the audit's window, and on an audit that stopped reporting", () => {
    // Act
    const { template } = audited();

    // Assess
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fleetkit-det-monitoring-CertificatesExpiringSoon',
      Namespace: 'fleetkit',
      MetricName: 'CertificatesExpiringSoon',
      Dimensions: [{ Name: 'Service', Value: 'fleet-audit' }],
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      AlarmDescription: Match.stringLikeRegexp('within 30 days'),
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
    });
  });

  it('takes its threshold as a prop', () => {
    audited({ certificatesExpiringAbove: 25 }).template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fleetkit-det-monitoring-CertificatesExpiringSoon',
      Threshold: 25,
    });
  });

  it('is not made for a topology without the fleet audit (its metric would never come)', () => {
    expect(
      Object.keys(
        built.template.findResources('AWS::CloudWatch::Alarm', {
          Properties: { AlarmName: 'fleetkit-det-monitoring-CertificatesExpiringSoon' },
        }),
      ),
    ).toEqual([]);
  });
});

describe('cdk-nag', () => {
  it('finds nothing unacknowledged in the monitoring stack with IoT logging', () => {
    // Act
    const report = new AwsSolutionsChecks(built.app).validateScope(built.app);
    // Assess
    expect(
      report.violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
      ),
    ).toEqual([]);
  });
});
