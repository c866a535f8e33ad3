import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  FlowLogTrafficType,
  GatewayVpcEndpointAwsService,
  Peer,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
} from 'aws-cdk-lib/aws-ec2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { CfnTopic } from 'aws-cdk-lib/aws-msk';
import type { Construct } from 'constructs';
import { KafkaCluster } from '../constructs/kafka-cluster.ts';
import type { Topology } from '../topology/model.ts';
import type { FleetkitNames } from './names.ts';

/** Properties of the {@link StreamingStack}. */
export interface StreamingStackProps extends StackProps {
  readonly names: FleetkitNames;
  /**
   * Its `stream` resources become Kafka topics.
   * @default - no topics
   */
  readonly topology?: Topology;
  /** @default 'kafka.t3.small' */
  readonly mskInstanceType?: string;
  /** @default '3.9.x' */
  readonly kafkaVersion?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/**
 * The network and the Kafka cluster: a two-AZ VPC (public subnets, private subnets with one shared NAT
 * gateway to keep a small fleet cheap, flow logs, free gateway endpoints for S3 and DynamoDB), the
 * provisioned MSK cluster in its private subnets, its configuration and one topic per topology stream.
 */
export class StreamingStack extends Stack {
  readonly vpc: Vpc;
  readonly kafka: KafkaCluster;
  /** Topics by topology stream name. */
  readonly topics: Readonly<Record<string, CfnTopic>>;
  /**
   * For functions in the VPC, next to the Kafka clients group: HTTPS out, to AWS APIs (DynamoDB and S3
   * through their gateway endpoints, the rest through the NAT gateway). The clients group itself
   * reaches only the brokers, so the IoT rule's VPC destination gets no route anywhere else.
   */
  readonly awsApiSecurityGroup: SecurityGroup;

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
    // Gateway endpoints cost nothing and keep DynamoDB and S3 traffic off the NAT gateway (billed per
    // GB). Lambda's MSK pollers also need an endpoint for their S3 on-failure destination
    // (https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html).
    this.vpc.addGatewayEndpoint('S3Endpoint', { service: GatewayVpcEndpointAwsService.S3 });
    this.vpc.addGatewayEndpoint('DynamoDbEndpoint', { service: GatewayVpcEndpointAwsService.DYNAMODB });

    this.awsApiSecurityGroup = new SecurityGroup(this, 'AwsApiSecurityGroup', {
      vpc: this.vpc,
      description: 'fleetkit functions in the VPC: HTTPS to AWS APIs only',
      allowAllOutbound: false,
    });
    this.awsApiSecurityGroup.addEgressRule(Peer.anyIpv4(), Port.tcp(443), 'HTTPS to AWS APIs');

    this.kafka = new KafkaCluster(this, 'Kafka', {
      vpc: this.vpc,
      subnets: this.vpc.privateSubnets,
      clusterName: props.names.kafkaCluster,
      scramSecretName: props.names.iotRulesScramSecret,
      logRetention: retention,
      ...(props.mskInstanceType === undefined ? {} : { instanceType: props.mskInstanceType }),
      ...(props.kafkaVersion === undefined ? {} : { kafkaVersion: props.kafkaVersion }),
    });

    const topics: Record<string, CfnTopic> = {};
    for (const [name, resource] of Object.entries(props.topology?.resources ?? {})) {
      if (resource.kind === 'stream') {
        topics[name] = this.kafka.addTopic(`${pascalCase(name)}Topic`, resource.topic, resource.partitions);
      }
    }
    this.topics = topics;

    new CfnOutput(this, 'KafkaClusterArn', { value: this.kafka.clusterArn });
    new CfnOutput(this, 'KafkaScramSecretArn', { value: this.kafka.scramSecret.secretArn });
    new CfnOutput(this, 'KafkaClientSecurityGroupId', {
      value: this.kafka.clientSecurityGroup.securityGroupId,
    });
    new CfnOutput(this, 'KafkaBootstrapBrokersSaslScram', { value: this.kafka.bootstrapBrokersSaslScram });
  }
}
