import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { FlowLogDestination, FlowLogTrafficType, SubnetType, Vpc } from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { KafkaCluster } from '../constructs/kafka-cluster.ts';
import type { FleetkitNames } from './names.ts';

/** Properties of the {@link StreamingStack}. */
export interface StreamingStackProps extends StackProps {
  readonly names: FleetkitNames;
  /** @default 'kafka.t3.small' */
  readonly mskInstanceType?: string;
  /** @default '3.9.x' */
  readonly kafkaVersion?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The network and the Kafka cluster: a two-AZ VPC (public subnets, private subnets with one shared NAT
 * gateway to keep a small fleet cheap, flow logs) and the provisioned MSK cluster in its private subnets.
 */
export class StreamingStack extends Stack {
  readonly vpc: Vpc;
  readonly kafka: KafkaCluster;

  constructor(scope: Construct, id: string, props: StreamingStackProps) {
    super(scope, id, props);
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;

    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'Public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'Private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      flowLogs: {
        All: {
          destination: FlowLogDestination.toCloudWatchLogs(new LogGroup(this, 'FlowLogs', { retention })),
          trafficType: FlowLogTrafficType.ALL,
        },
      },
    });

    this.kafka = new KafkaCluster(this, 'Kafka', {
      vpc: this.vpc,
      subnets: this.vpc.privateSubnets,
      clusterName: props.names.kafkaCluster,
      scramSecretName: props.names.iotRulesScramSecret,
      logRetention: retention,
      ...(props.mskInstanceType === undefined ? {} : { instanceType: props.mskInstanceType }),
      ...(props.kafkaVersion === undefined ? {} : { kafkaVersion: props.kafkaVersion }),
    });

    new CfnOutput(this, 'KafkaClusterArn', { value: this.kafka.clusterArn });
    new CfnOutput(this, 'KafkaScramSecretArn', { value: this.kafka.scramSecret.secretArn });
    new CfnOutput(this, 'KafkaClientSecurityGroupId', {
      value: this.kafka.clientSecurityGroup.securityGroupId,
    });
  }
}
