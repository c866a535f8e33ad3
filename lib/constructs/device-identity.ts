import { RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { CfnDomainConfiguration, CfnThingType } from 'aws-cdk-lib/aws-iot';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { DeviceTypeSpec } from '../topology/model.ts';
import { SdkLookupIdentity } from './sdk-lookup.ts';

/**
 * The TLS policy of the device endpoint: TLS 1.3 only, no TLS 1.2 fallback
 * (https://docs.aws.amazon.com/iot/latest/developerguide/transport-security.html#tls-policy-table).
 * AWS does not offer domain configuration security policies in the China regions.
 */
export const DEVICE_TLS_POLICY = 'IoTSecurityPolicy_TLS13_1_3_2022_10';

/** Properties of {@link DeviceEndpoint}. */
export interface DeviceEndpointProps {
  /** 1-128 characters of `[\w.-]`; one per account and region. */
  readonly domainConfigurationName: string;
  /**
   * The domain name devices connect to, when known (skips the lookup, as tests do).
   * @default - looked up at deploy time (DescribeDomainConfiguration custom resource)
   */
  readonly host?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The endpoint fleetkit hands to devices: an AWS-managed IoT domain configuration for MQTT over TLS with
 * X.509 client certificates whose TLS policy allows TLS 1.3 only. CloudFormation does not return an
 * AWS-managed domain's name, so it is read with DescribeDomainConfiguration at deploy time.
 */
export class DeviceEndpoint extends Construct {
  readonly domainConfiguration: CfnDomainConfiguration;
  /** The host devices connect to on port 8883. */
  readonly host: string;

  constructor(scope: Construct, id: string, props: DeviceEndpointProps) {
    super(scope, id);
    if (!/^[\w.-]{1,128}$/.test(props.domainConfigurationName)) {
      throw new Error(
        `domain configuration names allow [\\w.-]{1,128}; got '${props.domainConfigurationName}'`,
      );
    }
    this.domainConfiguration = new CfnDomainConfiguration(this, 'Domain', {
      domainConfigurationName: props.domainConfigurationName,
      domainConfigurationStatus: 'ENABLED',
      serviceType: 'DATA',
      authenticationType: 'AWS_X509',
      applicationProtocol: 'SECURE_MQTT',
      tlsConfig: { securityPolicy: DEVICE_TLS_POLICY },
    });
    if (props.host !== undefined) {
      this.host = props.host;
      return;
    }
    const { role, logGroup } = SdkLookupIdentity.of(this, props.logRetention);
    const lookup = new AwsCustomResource(this, 'Lookup', {
      onUpdate: {
        service: 'Iot',
        action: 'DescribeDomainConfiguration',
        parameters: { domainConfigurationName: props.domainConfigurationName },
        physicalResourceId: PhysicalResourceId.of(props.domainConfigurationName),
      },
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({
          actions: ['iot:DescribeDomainConfiguration'],
          resources: [this.domainConfiguration.attrArn],
        }),
      ]),
      role,
      logGroup,
      installLatestAwsSdk: false,
    });
    lookup.node.addDependency(this.domainConfiguration);
    this.host = lookup.getResponseField('domainName');
  }
}

/**
 * The topology's device types as AWS IoT thing types. The device policy names a thing's type
 * (`iot:Connection.Thing.ThingTypeName`), so provisioning refuses types that are not here. Thing type
 * names are the account's: they are retained when the stack goes, since things of the type may
 * outlive it; a second stage in the same account and region cannot create them again (CloudFormation
 * refuses an existing name), so give each stage its own account or region.
 */
export class ThingTypes extends Construct {
  readonly types: Readonly<Record<string, CfnThingType>>;

  constructor(scope: Construct, id: string, deviceTypes: Readonly<Record<string, DeviceTypeSpec>>) {
    super(scope, id);
    const types: Record<string, CfnThingType> = {};
    for (const [name, spec] of Object.entries(deviceTypes)) {
      const type = new CfnThingType(this, name.replace(/[^A-Za-z0-9]/g, ''), {
        thingTypeName: name,
        thingTypeProperties: { thingTypeDescription: spec.description },
      });
      type.applyRemovalPolicy(RemovalPolicy.RETAIN);
      types[name] = type;
    }
    this.types = types;
  }
}
