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
import { ingestProducerAcls, KafkaAcls } from '../constructs/kafka-acls.ts';
import { KafkaClientCredentials } from '../constructs/kafka-client-credentials.ts';
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
  /** The Kafka ACLs of the IoT rules' SCRAM users. */
  readonly kafkaAcls: KafkaAcls;
  /** The credentials IoT rules read, rotated between the two SCRAM users. */
  readonly kafkaCredentials: KafkaClientCredentials;

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
      scramUsers: props.names.iotRulesScramUsers,
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

    // IoT rules sign in with SASL/SCRAM; with allow.everyone.if.no.acl.found=false they may do only
    // what these ACLs grant: produce to the ingest topics.
    const topology = props.topology ?? { resources: {}, functions: {} };
    const functionNetwork = {
      vpc: this.vpc,
      subnets: this.vpc.privateSubnets,
      securityGroups: [this.kafka.clientSecurityGroup, this.awsApiSecurityGroup],
      logRetention: retention,
    };
    const usernames = this.kafka.scramUsers.map((user) => user.username);
    this.kafkaAcls = new KafkaAcls(this, 'KafkaAcls', {
      ...functionNetwork,
      clusterArn: this.kafka.clusterArn,
      usernames,
      acls: ingestProducerAcls(topology, usernames),
    });
    const [first, second] = this.kafka.scramUsers;
    if (first === undefined || second === undefined) throw new Error('the cluster needs two SCRAM users');
    const probeTopic = ingestProducerAcls(topology, usernames)[0]?.resourceName;
    this.kafkaCredentials = new KafkaClientCredentials(this, 'KafkaClientCredentials', {
      ...functionNetwork,
      secretName: props.names.iotKafkaClientSecret,
      users: [first, second],
      key: this.kafka.scramSecretKey,
      clusterArn: this.kafka.clusterArn,
      ...(probeTopic === undefined ? {} : { probeTopic }),
    });

    new CfnOutput(this, 'KafkaClusterArn', { value: this.kafka.clusterArn });
    new CfnOutput(this, 'KafkaClientSecretArn', { value: this.kafkaCredentials.secret.secretArn });
    new CfnOutput(this, 'KafkaClientSecurityGroupId', {
      value: this.kafka.clientSecurityGroup.securityGroupId,
    });
    new CfnOutput(this, 'KafkaBootstrapBrokersSaslScram', { value: this.kafka.bootstrapBrokersSaslScram });
  }
}
