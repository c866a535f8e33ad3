import { Validations } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { SdkLookupIdentity } from './sdk-lookup.ts';

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
    const { role, logGroup } = SdkLookupIdentity.of(this, props.logRetention);
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
