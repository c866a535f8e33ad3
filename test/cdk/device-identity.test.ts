import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DEVICE_TLS_POLICY, DeviceEndpoint, ThingTypes } from '../../lib/constructs/device-identity.ts';
import { IotDataEndpoint } from '../../lib/constructs/iot-data-endpoint.ts';
import { topology } from '../../lib/topology.ts';

function stackWith(build: (stack: Stack) => void): { app: App; stack: Stack; template: Template } {
  const app = new App();
  const stack = new Stack(app, 'Identity', { env: { account: '123456789012', region: 'eu-west-1' } });
  build(stack);
  return { app, stack, template: Template.fromStack(stack) };
}

describe('DeviceEndpoint', () => {
  it('is a domain configuration for MQTT with X.509 certificates that allows TLS 1.3 only', () => {
    const { template } = stackWith(
      (stack) => new DeviceEndpoint(stack, 'Devices', { domainConfigurationName: 'fleetkit-dev-devices' }),
    );

    expect(DEVICE_TLS_POLICY).toBe('IoTSecurityPolicy_TLS13_1_3_2022_10');
    template.hasResourceProperties('AWS::IoT::DomainConfiguration', {
      DomainConfigurationName: 'fleetkit-dev-devices',
      DomainConfigurationStatus: 'ENABLED',
      ServiceType: 'DATA',
      AuthenticationType: 'AWS_X509',
      ApplicationProtocol: 'SECURE_MQTT',
      TlsConfig: { SecurityPolicy: 'IoTSecurityPolicy_TLS13_1_3_2022_10' },
    });
  });

  it('reads the domain name with DescribeDomainConfiguration, allowed on that one domain configuration', () => {
    const { template } = stackWith(
      (stack) => new DeviceEndpoint(stack, 'Devices', { domainConfigurationName: 'fleetkit-dev-devices' }),
    );

    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'iot:DescribeDomainConfiguration',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('DevicesDomain'), 'Arn'] },
          }),
        ]),
      },
    });
  });

  it('hands out a host given to it without a lookup', () => {
    let host = '';
    const { template } = stackWith((stack) => {
      host = new DeviceEndpoint(stack, 'Devices', {
        domainConfigurationName: 'x',
        host: 'abc.iot.eu-west-1.amazonaws.com',
      }).host;
    });

    expect(host).toBe('abc.iot.eu-west-1.amazonaws.com');
    expect(Object.keys(template.findResources('Custom::AWS'))).toEqual([]);
  });

  it('refuses a name IoT would refuse', () => {
    const stack = new Stack(new App(), 'Bad');
    expect(() => new DeviceEndpoint(stack, 'Bad', { domainConfigurationName: 'a b' })).toThrow(/got 'a b'/);
  });

  it('is clean under cdk-nag AwsSolutions', () => {
    const { app, stack } = stackWith(
      (s) => new DeviceEndpoint(s, 'Devices', { domainConfigurationName: 'fleetkit-dev-devices' }),
    );
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    expect(
      report.violations.flatMap((v) =>
        v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`),
      ),
    ).toEqual([]);
  });
});

describe('a stack with several deploy-time lookups', () => {
  it('gives them one role, the one their shared provider function runs with, holding every lookup policy', () => {
    // Prepare / Act
    const { template } = stackWith((stack) => {
      new IotDataEndpoint(stack, 'IotData');
      new DeviceEndpoint(stack, 'Devices', { domainConfigurationName: 'fleetkit-dev-devices' });
    });

    // Assess
    const roles = Object.keys(template.findResources('AWS::IAM::Role'));
    expect(roles).toHaveLength(1);
    const provider = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(provider.map((f) => f.Properties.Role['Fn::GetAtt'][0])).toEqual(roles);
    const attached = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.PolicyDocument).match(/DescribeEndpoint|DescribeDomainConfiguration/),
    );
    expect(attached).toHaveLength(2);
    for (const policy of attached) expect(policy.Properties.Roles).toEqual([{ Ref: roles[0] }]);
  });
});

describe('ThingTypes', () => {
  it("makes one retained thing type per topology device type, named as devices' topics name it", () => {
    const { template } = stackWith((stack) => new ThingTypes(stack, 'Types', topology.deviceTypes));

    const types = Object.values(template.findResources('AWS::IoT::ThingType'));
    expect(types.map((t) => t.Properties.ThingTypeName).sort()).toEqual(
      Object.keys(topology.deviceTypes).sort(),
    );
    expect(types.every((t) => t.DeletionPolicy === 'Retain')).toBe(true);
  });
});
