import { CustomResource } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Provider } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { KafkaAclBinding } from '../protocol/kafka-acls.ts';
import type { Topology } from '../topology/model.ts';
import { FleetFunction } from './fleet-function.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/**
 * What an IoT rule's SCRAM user needs to append to a topic: WRITE (Produce) and DESCRIBE (its metadata)
 * on that topic by literal name, nothing else (https://kafka.apache.org/documentation/#operations_resources_and_protocols).
 * Kafka 2.8+ counts WRITE on a topic as IDEMPOTENT_WRITE on the cluster (KIP-679), so an idempotent
 * producer needs no cluster-wide grant on this cluster's 3.x.
 */
export function ingestProducerAcls(topology: Topology, usernames: readonly string[]): KafkaAclBinding[] {
  const topics = [
    ...new Set(
      Object.values(topology.ingest ?? {}).flatMap((ingest) => {
        const stream = topology.resources[ingest.stream];
        return stream?.kind === 'stream' ? [stream.topic] : [];
      }),
    ),
  ];
  return usernames.flatMap((username) =>
    topics.flatMap((topic) =>
      (['write', 'describe'] as const).map((operation) => ({
        principal: `User:${username}`,
        host: '*',
        resourceType: 'topic' as const,
        resourceName: topic,
        patternType: 'literal' as const,
        operation,
        permission: 'allow' as const,
      })),
    ),
  );
}

/** Properties of {@link KafkaAcls}. */
export interface KafkaAclsProps {
  readonly clusterArn: string;
  readonly vpc: IVpc;
  readonly subnets: readonly ISubnet[];
  /** Must reach the brokers' IAM port and, for GetBootstrapBrokers, MSK's API. */
  readonly securityGroups: readonly ISecurityGroup[];
  /** The SCRAM users whose ACLs this resource owns, without `User:`. */
  readonly usernames: readonly string[];
  readonly acls: readonly KafkaAclBinding[];
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * Kafka ACLs as a CloudFormation resource: MSK has none, so a function in the VPC applies them over
 * Kafka's admin API, signed in with IAM — the identity that can still manage ACLs once
 * `allow.everyone.if.no.acl.found=false`, because IAM clients are authorized by IAM policy and never by
 * ACLs (https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html). Its role may
 * Connect, DescribeCluster (DescribeAcls) and AlterCluster (CreateAcls, DeleteAcls) on this cluster only.
 *
 * The function reconciles (see `applyAclsEvent`): each deploy makes the users hold exactly these
 * bindings, whatever was changed by hand in between.
 */
export class KafkaAcls extends Construct {
  readonly function: FleetFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: KafkaAclsProps) {
    super(scope, id);
    const retention = props.logRetention ?? RetentionDays.ONE_MONTH;
    this.function = new FleetFunction(this, 'Function', {
      handler: 'kafka-acls',
      description: 'Applies the Kafka ACLs of the IoT rules SCRAM users (CloudFormation custom resource)',
      network: { vpc: props.vpc, subnets: props.subnets, securityGroups: props.securityGroups },
      environment: { MSK_CLUSTER_ARN: props.clusterArn, KAFKA_SASL_MECHANISM: 'aws-msk-iam' },
      timeoutSeconds: 120,
      logRetention: retention,
    });
    // https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html
    this.function.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kafka-cluster:Connect', 'kafka-cluster:DescribeCluster', 'kafka-cluster:AlterCluster'],
        resources: [props.clusterArn],
      }),
    );
    this.function.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [props.clusterArn] }),
    );

    // The provider framework answers CloudFormation (and times out cleanly); its own role and log group.
    const providerRole = new Role(this, 'ProviderRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'CloudFormation provider framework of the Kafka ACL resource',
    });
    const providerLogs = new LogGroup(this, 'ProviderLogs', { retention });
    providerLogs.grantWrite(providerRole);
    const provider = new Provider(this, 'Provider', {
      onEventHandler: this.function.function,
      frameworkOnEventRole: providerRole,
      logGroup: providerLogs,
    });

    acknowledgeWildcardResource(
      providerRole.node.findChild('DefaultPolicy'),
      `${this.function.function.functionArn}:*`,
      'The provider framework may invoke the ACL function and its versions (CDK grants `<function>:*`), ' +
        "nothing else; the role is this custom resource provider's own.",
    );

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::KafkaAcls',
      properties: {
        Principals: props.usernames.map((username) => `User:${username}`),
        Acls: props.acls,
      },
    });
  }
}
