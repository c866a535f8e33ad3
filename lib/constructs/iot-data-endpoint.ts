import { Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** Properties of {@link IotDataEndpoint}. */
export interface IotDataEndpointProps {
  /**
   * The account's `iot:Data-ATS` endpoint host (`aws iot describe-endpoint --endpoint-type iot:Data-ATS`).
   * @default - looked up at deploy time with a custom resource
   */
  readonly host?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The account's IoT data plane endpoint, as the URL functions put in `AWS_ENDPOINT_URL_IOT_DATA_PLANE`.
 *
 * The SDK's default data plane host serves some reads but not Publish, which needs the account's own
 * `…-ats.iot.<region>.amazonaws.com` endpoint, known only by asking IoT (DescribeEndpoint).
 */
export class IotDataEndpoint extends Construct {
  /** `https://<prefix>-ats.iot.<region>.amazonaws.com`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: IotDataEndpointProps = {}) {
    super(scope, id);
    if (props.host !== undefined) {
      if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(props.host)) {
        throw new Error(
          `IoT data endpoint must be a host name like abc123-ats.iot.eu-west-1.amazonaws.com; got '${props.host}'`,
        );
      }
      this.url = `https://${props.host}`;
      return;
    }
    // Our own role and log group: no AWS managed policy, no log-retention custom resource.
    const role = new Role(this, 'LookupRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    const logGroup = new LogGroup(this, 'LookupLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    logGroup.grantWrite(role);
    const lookup = new AwsCustomResource(this, 'Lookup', {
      onUpdate: {
        service: 'Iot',
        action: 'DescribeEndpoint',
        parameters: { endpointType: 'iot:Data-ATS' },
        physicalResourceId: PhysicalResourceId.of('iot-data-ats-endpoint'),
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: AwsCustomResourcePolicy.ANY_RESOURCE }),
      role,
      logGroup,
      installLatestAwsSdk: false,
    });
    this.url = `https://${lookup.getResponseField('endpointAddress')}`;
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'iot:DescribeEndpoint has no resource-level permissions (IAM service authorization reference); ' +
        'the statement allows that read-only action and nothing else.',
    });
  }
}
