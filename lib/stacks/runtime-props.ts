import type { StackProps } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { KafkaConsumer } from '../constructs/kafka-consumer.ts';
import type { ResourceRef } from '../constructs/resource-access.ts';
import type { Topology } from '../topology/model.ts';
import type { FleetkitNames } from './names.ts';

/*
 * What the runtime stack is given (its props, and the streaming stack's share of them) and what it hands
 * back about its Kafka triggers; the stack itself is in runtime-stack.ts.
 */

/** The SASL mechanism functions use with MSK: IAM (`aws-msk-iam-sasl-signer-js`), port 9098. */
export const KAFKA_SASL_MECHANISM = 'aws-msk-iam';

/** What the runtime stack needs of the streaming stack for stream functions, triggers and ingest rules. */
export interface RuntimeStreaming {
  readonly clusterArn: string;
  readonly vpc: IVpc;
  /** Private subnets: stream functions and the IoT rule VPC destination run there. */
  readonly subnets: readonly ISubnet[];
  /** Reaches the brokers' TLS ports and nothing else. */
  readonly clientSecurityGroup: ISecurityGroup;
  /** HTTPS to AWS APIs, for functions (the IoT destination does not get it). */
  readonly awsApiSecurityGroup: ISecurityGroup;
  /** `b-1…:9096,…`, for the IoT Kafka action. */
  readonly bootstrapBrokersSaslScram: string;
  /** The SCRAM secret IoT rules read with `get_secret`, and the key it is encrypted with. */
  readonly scramSecret: { readonly name: string; readonly arn: string; readonly keyArn: string };
  /**
   * Where Kafka triggers send the batches Lambda gave up on.
   * @default - none: Lambda's on-demand defaults (retry until the records expire)
   */
  readonly kafkaDlq?: { readonly bucketName: string; readonly arn: string };
}

/** An MSK event source mapping the runtime stack made. */
export interface KafkaTriggerRef {
  /** Topology function name. */
  readonly functionName: string;
  readonly topic: string;
  readonly consumer: KafkaConsumer;
}

/** Properties of the {@link RuntimeStack}. */
export interface RuntimeStackProps extends StackProps {
  readonly names: FleetkitNames;
  readonly topology: Topology;
  /** Each topology resource by name, as the data stack names it. */
  readonly resources: Readonly<Record<string, ResourceRef>>;
  /** The bucket IoT rule error actions write to. */
  readonly ruleErrors: { readonly bucketName: string; readonly arn: string };
  /**
   * Browser origins the HTTP API answers CORS preflights for: the operator console's site.
   * @default - none
   */
  readonly consoleOrigins?: readonly string[];
  /**
   * The MSK cluster and its network, for functions that use streams, Kafka triggers and ingest rules.
   * @default - none; a topology that uses streams is refused
   */
  readonly streaming?: RuntimeStreaming;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * The account's IoT `Data-ATS` endpoint host, for functions that publish.
   * @default - looked up at deploy time (DescribeEndpoint custom resource)
   */
  readonly iotDataEndpointHost?: string;
  /**
   * The host of the TLS 1.3 device endpoint (the domain configuration's domain name), when known.
   * @default - looked up at deploy time (DescribeDomainConfiguration custom resource)
   */
  readonly deviceEndpointHost?: string;
  /**
   * Overrides of the functions' declared settings (see `FunctionSpec.settings`).
   * @default - the topology's defaults
   */
  readonly settings?: Readonly<Record<string, string>>;
}
