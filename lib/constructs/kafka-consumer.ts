import { Duration } from 'aws-cdk-lib';
import { Policy, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, type IFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { KafkaTrigger } from '../topology/model.ts';
import { kafkaResourceArn } from './kafka-cluster.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/** Properties of a {@link KafkaConsumer}. */
export interface KafkaConsumerProps {
  readonly function: IFunction;
  /** The function's execution role: the event source polls with its permissions. */
  readonly role: Role;
  readonly clusterArn: string;
  readonly trigger: KafkaTrigger;
  /** Fixed so that IAM can name the group; unique per trigger. */
  readonly consumerGroupId: string;
}

/**
 * An MSK event source mapping with IAM authentication, and the permissions its pollers need.
 *
 * Built on `EventSourceMapping` rather than `ManagedKafkaEventSource` because the latter attaches the
 * AWS managed `AWSLambdaMSKExecutionRole` (kafka describe calls on every cluster); here the kafka and
 * kafka-cluster actions name this cluster, topic and consumer group
 * (https://docs.aws.amazon.com/lambda/latest/dg/with-msk-permissions.html).
 */
export class KafkaConsumer extends Construct {
  readonly mapping: EventSourceMapping;

  constructor(scope: Construct, id: string, props: KafkaConsumerProps) {
    super(scope, id);
    const { trigger, clusterArn } = props;
    const window = trigger.maxBatchingWindowSeconds;
    if (!Number.isInteger(window) || window < 0 || window > 300) {
      throw new Error(`kafka maxBatchingWindowSeconds must be a whole number in 0..300; got ${window}`);
    }
    if (!/^[a-zA-Z0-9._-]{1,249}$/.test(trigger.topic)) {
      throw new Error(`Kafka topic names allow [a-zA-Z0-9._-], 1-249 characters; got '${trigger.topic}'`);
    }

    const policy = new Policy(this, 'Policy', {
      statements: [
        new PolicyStatement({
          actions: ['kafka:DescribeCluster', 'kafka:DescribeClusterV2', 'kafka:GetBootstrapBrokers'],
          resources: [clusterArn],
        }),
        new PolicyStatement({
          actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeClusterDynamicConfiguration'],
          resources: [clusterArn],
        }),
        new PolicyStatement({
          actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:ReadData'],
          resources: [kafkaResourceArn(clusterArn, 'topic', trigger.topic)],
        }),
        new PolicyStatement({
          actions: ['kafka-cluster:AlterGroup', 'kafka-cluster:DescribeGroup'],
          resources: [kafkaResourceArn(clusterArn, 'group', props.consumerGroupId)],
        }),
        // The pollers reach the brokers through ENIs in the cluster's subnets, made with this role.
        new PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DeleteNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSecurityGroups',
            'ec2:DescribeSubnets',
            'ec2:DescribeVpcs',
          ],
          resources: ['*'],
        }),
      ],
    });
    policy.attachToRole(props.role);
    acknowledgeWildcardResource(
      policy,
      '*',
      'Lambda MSK pollers need ec2:Describe* (no resource-level permissions exist for them) and ' +
        'Create/DeleteNetworkInterface on ENIs whose ids are unknown before Lambda makes them; these six ' +
        'EC2 actions are what AWS documents for MSK event sources, and nothing else here is on "*".',
    );

    this.mapping = new EventSourceMapping(this, 'Mapping', {
      target: props.function,
      eventSourceArn: clusterArn,
      kafkaTopic: trigger.topic,
      kafkaConsumerGroupId: props.consumerGroupId,
      batchSize: trigger.batchSize,
      maxBatchingWindow: Duration.seconds(window),
      startingPosition:
        trigger.startingPosition === 'LATEST' ? StartingPosition.LATEST : StartingPosition.TRIM_HORIZON,
    });
    // Lambda checks the role's permissions when it creates the mapping.
    this.mapping.node.addDependency(policy);
  }
}
