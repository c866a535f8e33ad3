import { Duration } from 'aws-cdk-lib';
import { Policy, PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import {
  EventSourceMapping,
  type IEventSourceDlq,
  type IFunction,
  StartingPosition,
} from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { KafkaTrigger } from '../topology/model.ts';
import { kafkaResourceArn } from './kafka-cluster.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/**
 * What happens to a batch the function keeps failing on: a few retries (halving the batch to isolate a
 * bad record), then the batch goes to an S3 bucket and the partition moves on. Never a partition stuck
 * behind one batch until the records expire, which is what Lambda's default (infinite retries) does.
 *
 * Lambda offers these controls for Kafka only in provisioned mode
 * (https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html), so they come with
 * provisioned pollers. An S3 destination keeps the whole invocation record, not only offsets
 * (https://docs.aws.amazon.com/lambda/latest/dg/kafka-on-failure.html).
 */
export interface KafkaFailureHandling {
  /** ARN of the bucket Lambda writes each batch it gave up on to. */
  readonly bucketArn: string;
  /** Retries after the first failed invocation. 0-10000. @default 2 */
  readonly retryAttempts?: number;
  /** Halve a failing batch and retry each half, to isolate a bad record. @default true */
  readonly bisectBatchOnError?: boolean;
  /** @default 1 */
  readonly minimumPollers?: number;
  /**
   * A poller handles up to 5 concurrent invocations and Lambda runs one batch per partition at a time.
   * @default - enough for one invocation per partition: ceil(partitions / 5)
   */
  readonly maximumPollers?: number;
  /**
   * Mappings in one poller group share provisioned capacity (and its cost).
   * @default - the mapping's own pollers
   */
  readonly pollerGroupName?: string;
}

/** Properties of a {@link KafkaConsumer}. */
export interface KafkaConsumerProps {
  readonly function: IFunction;
  /** The function's execution role: the event source polls with its permissions. */
  readonly role: Role;
  readonly clusterArn: string;
  readonly trigger: KafkaTrigger;
  /** Fixed so that IAM can name the group; unique per trigger. */
  readonly consumerGroupId: string;
  /**
   * Partitions of the consumed topic, to size provisioned pollers.
   * @default 1
   */
  readonly partitions?: number;
  /**
   * Retries, an on-failure destination and provisioned pollers.
   * @default - Lambda's on-demand defaults: a failing batch is retried until its records expire
   */
  readonly onFailure?: KafkaFailureHandling;
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number in ${min}..${max}; got ${value}`);
  }
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

    const failure = props.onFailure;
    const failureStatements =
      failure === undefined
        ? []
        : [
            // What Lambda documents for an S3 on-failure destination: write objects, list the bucket.
            new PolicyStatement({ actions: ['s3:PutObject'], resources: [`${failure.bucketArn}/*`] }),
            new PolicyStatement({ actions: ['s3:ListBucket'], resources: [failure.bucketArn] }),
          ];
    const policy = new Policy(this, 'Policy', {
      statements: [
        ...failureStatements,
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
    if (failure !== undefined) {
      acknowledgeWildcardResource(
        policy,
        `${failure.bucketArn}/*`,
        'Lambda names the objects of batches it gave up on (mapping id, partition, time), so they cannot ' +
          'be listed in advance; the statement allows only s3:PutObject, only into the Kafka DLQ bucket.',
      );
    }
    acknowledgeWildcardResource(
      policy,
      '*',
      'Lambda MSK pollers need ec2:Describe* (no resource-level permissions exist for them) and ' +
        'Create/DeleteNetworkInterface on ENIs whose ids are unknown before Lambda makes them; these six ' +
        'EC2 actions are what AWS documents for MSK event sources, and nothing else here is on "*".',
    );

    const partitions = props.partitions ?? 1;
    const retryAttempts = failure?.retryAttempts ?? 2;
    const minimumPollers = failure?.minimumPollers ?? 1;
    const maximumPollers = failure?.maximumPollers ?? Math.max(minimumPollers, Math.ceil(partitions / 5));
    if (failure !== undefined) {
      checkRange('retryAttempts', retryAttempts, 0, 10_000);
      checkRange('minimumPollers', minimumPollers, 1, 200);
      checkRange('maximumPollers', maximumPollers, minimumPollers, 2_000);
    }
    // The bucket's ARN is all Lambda needs; the grants are written out above rather than the
    // S3OnFailureDestination's grantReadWrite (read and delete of every object).
    const destination: IEventSourceDlq | undefined =
      failure === undefined ? undefined : { bind: () => ({ destination: failure.bucketArn }) };

    this.mapping = new EventSourceMapping(this, 'Mapping', {
      target: props.function,
      eventSourceArn: clusterArn,
      kafkaTopic: trigger.topic,
      kafkaConsumerGroupId: props.consumerGroupId,
      batchSize: trigger.batchSize,
      maxBatchingWindow: Duration.seconds(window),
      startingPosition:
        trigger.startingPosition === 'LATEST' ? StartingPosition.LATEST : StartingPosition.TRIM_HORIZON,
      ...(failure === undefined || destination === undefined
        ? {}
        : {
            onFailure: destination,
            retryAttempts,
            bisectBatchOnError: failure.bisectBatchOnError ?? true,
            provisionedPollerConfig: {
              minimumPollers,
              maximumPollers,
              ...(failure.pollerGroupName === undefined ? {} : { pollerGroupName: failure.pollerGroupName }),
            },
          }),
    });
    // Lambda checks the role's permissions when it creates the mapping.
    this.mapping.node.addDependency(policy);
  }
}
