import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';

/** Properties of {@link KafkaBootstrapBrokers}. */
export interface KafkaBootstrapBrokersProps {
  readonly clusterArn: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The SASL/SCRAM bootstrap broker string of an MSK cluster, asked of MSK at deploy time
 * (`GetBootstrapBrokers` → `BootstrapBrokerStringSaslScram`): `AWS::MSK::Cluster` returns no broker
 * addresses (https://docs.aws.amazon.com/msk/1.0/apireference/clusters-clusterarn-bootstrap-brokers.html).
 *
 * Its own role and log group, as `IotDataEndpoint`, so no AWS managed policy and no log-retention
 * custom resource. An `AwsCustomResource` shares one provider function per stack, whose role is the
 * first one given: keep at most one lookup with its own role in a stack (this one lives in the
 * streaming stack, the data endpoint lookup in the runtime stack).
 */
export class KafkaBootstrapBrokers extends Construct {
  /** `b-1.<cluster>.<id>.c2.kafka.<region>.amazonaws.com:9096,b-2…:9096`. */
  readonly saslScram: string;

  constructor(scope: Construct, id: string, props: KafkaBootstrapBrokersProps) {
    super(scope, id);
    const role = new Role(this, 'LookupRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Looks up the SASL/SCRAM bootstrap brokers of the fleetkit MSK cluster',
    });
    const logGroup = new LogGroup(this, 'LookupLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    logGroup.grantWrite(role);
    const lookup = new AwsCustomResource(this, 'Lookup', {
      onUpdate: {
        service: 'Kafka',
        action: 'GetBootstrapBrokers',
        parameters: { ClusterArn: props.clusterArn },
        physicalResourceId: PhysicalResourceId.of(props.clusterArn),
        outputPaths: ['BootstrapBrokerStringSaslScram'],
      },
      // GetBootstrapBrokers names the cluster, so the statement does too: nothing on "*".
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [props.clusterArn] }),
      ]),
      role,
      logGroup,
      installLatestAwsSdk: false,
    });
    this.saslScram = lookup.getResponseField('BootstrapBrokerStringSaslScram');
  }
}
