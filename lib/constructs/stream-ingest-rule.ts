import { Aws } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnTopicRule, CfnTopicRuleDestination } from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';
import type { StreamIngest } from '../topology/model.ts';
import { IOT_SQL_VERSION, renderRuleSql } from '../topology/rule-sql.ts';
import { RULE_ERROR_KEY } from './device-topic-rule.ts';
import { acknowledgeWildcardResource } from './nag.ts';

const RULE_NAME = /^[a-zA-Z0-9_]{1,128}$/;

/** `topic(3)` → `${topic(3)}`: an IoT substitution template, evaluated per message by the rules engine. */
export function iotSubstitution(expression: string): string {
  return `\${${expression}}`;
}

/**
 * The Kafka record key of an ingest rule: the substitution template of the SQL function that produces
 * the key field (`deviceId` → `topic(3)` → `${topic(3)}`). Templates see the incoming message, not the
 * rule's SELECT output, so the field's own name (`${deviceId}`) would not resolve for a base64 payload.
 */
export function kafkaKeyTemplate(ingest: StreamIngest): string {
  const expression = ingest.rule.add[ingest.key];
  if (expression === undefined) {
    throw new Error(
      `ingest key '${ingest.key}' is not a field the rule adds (${Object.keys(ingest.rule.add).join(', ')})`,
    );
  }
  return iotSubstitution(expression);
}

/** `${get_secret('<secret>', 'SecretString', '<key>', '<role arn>')}` (AWS IoT SQL `get_secret`). */
export function getSecretTemplate(secretName: string, jsonKey: string, roleArn: string): string {
  return iotSubstitution(`get_secret('${secretName}', 'SecretString', '${jsonKey}', '${roleArn}')`);
}

/** Properties of a {@link KafkaRuleDestination}. */
export interface KafkaRuleDestinationProps {
  readonly vpcId: string;
  /** IoT makes one network interface in each. */
  readonly subnetIds: readonly string[];
  /** Must reach the brokers' SASL/SCRAM port. */
  readonly securityGroupIds: readonly string[];
  /** `b-1…:9096,b-2…:9096`. */
  readonly bootstrapServers: string;
  /** The SCRAM secret (`{"username","password"}`) rules read with `get_secret`. */
  readonly scramSecretName: string;
  readonly scramSecretArn: string;
  /** The customer-managed key the secret is encrypted with. */
  readonly scramSecretKeyArn: string;
  /** Only rules whose name starts with this may assume the secret-reading role. */
  readonly ruleNamePrefix: string;
}

/**
 * What every Kafka rule action of a stack shares: the VPC topic rule destination in the cluster's
 * subnets (with the role IoT uses to manage its network interfaces there), the role `get_secret` reads
 * the SCRAM credentials with, and the brokers' address.
 *
 * Permissions are those the Kafka action documents
 * (https://docs.aws.amazon.com/iot/latest/developerguide/apache-kafka-rule-action.html,
 * https://docs.aws.amazon.com/iot/latest/developerguide/vpc-rule-action.html).
 */
export class KafkaRuleDestination extends Construct {
  readonly destination: CfnTopicRuleDestination;
  /** Assumed by IoT to create and delete the destination's network interfaces. */
  readonly vpcRole: Role;
  /** Named in the rules' `get_secret` calls. */
  readonly secretRole: Role;
  readonly bootstrapServers: string;
  readonly scramSecretName: string;

  constructor(scope: Construct, id: string, props: KafkaRuleDestinationProps) {
    super(scope, id);
    if (props.subnetIds.length === 0) throw new Error('a VPC rule destination needs at least one subnet');
    this.bootstrapServers = props.bootstrapServers;
    this.scramSecretName = props.scramSecretName;

    this.vpcRole = new Role(this, 'VpcRole', {
      description: 'IoT VPC rule destination: manage its network interfaces in the fleetkit VPC',
      assumedBy: new ServicePrincipal('iot.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
    });
    this.vpcRole.addToPolicy(
      new PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:CreateNetworkInterfacePermission',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeSubnets',
          'ec2:DescribeVpcs',
          'ec2:DescribeVpcAttribute',
          'ec2:DescribeSecurityGroups',
        ],
        resources: ['*'],
      }),
    );
    acknowledgeWildcardResource(
      this.vpcRole.node.findChild('DefaultPolicy'),
      '*',
      'The eight EC2 actions AWS IoT documents for VPC rule destinations: Describe* have no resource-level ' +
        'permissions, and the network interfaces IoT creates and deletes have ids unknown before it makes ' +
        'them. The role is assumable only by IoT in this account.',
    );

    this.destination = new CfnTopicRuleDestination(this, 'Destination', {
      status: 'ENABLED',
      vpcProperties: {
        vpcId: props.vpcId,
        subnetIds: [...props.subnetIds],
        securityGroups: [...props.securityGroupIds],
        roleArn: this.vpcRole.roleArn,
      },
    });
    // IoT checks the role's permissions while it creates the destination's network interfaces.
    this.destination.node.addDependency(this.vpcRole);

    this.secretRole = new Role(this, 'SecretRole', {
      description: 'IoT Kafka rule actions: read the MSK SCRAM credentials with get_secret',
      assumedBy: new ServicePrincipal('iot.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: {
          'aws:SourceArn': `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/${props.ruleNamePrefix}*`,
        },
      }),
    });
    this.secretRole.addToPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [props.scramSecretArn],
      }),
    );
    // The key's policy delegates to IAM (the account root statement CDK's Key writes), so this grant
    // is enough; ViaService keeps it to decrypting through Secrets Manager.
    this.secretRole.addToPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [props.scramSecretKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.${Aws.URL_SUFFIX}` } },
      }),
    );
  }

  /** ARN of the VPC destination, for a Kafka action's `destinationArn`. */
  get destinationArn(): string {
    return this.destination.attrArn;
  }
}

/** Properties of a {@link StreamIngestRule}. */
export interface StreamIngestRuleProps {
  /** `[a-zA-Z0-9_]`, at most 128 characters. */
  readonly ruleName: string;
  readonly ingest: StreamIngest;
  /** The Kafka topic of `ingest.stream`. */
  readonly topic: string;
  readonly destination: KafkaRuleDestination;
  /** Bucket the error action writes undeliverable messages to. */
  readonly errorBucketName: string;
  /** Role IoT assumes for the error action (`RuleErrorRole`). */
  readonly errorRole: Role;
  /**
   * Producer `acks`: `all` waits for every in-sync replica, so a record survives the loss of the broker
   * that took it.
   * @default 'all'
   */
  readonly acks?: '0' | '1' | 'all';
}

/**
 * An IoT topic rule that appends each selected message to a Kafka topic: the SQL `renderRuleSql` gives,
 * IoT Core's Apache Kafka action over SASL/SCRAM-SHA-512 and TLS through a VPC destination, the record
 * keyed by device so one device's records stay ordered in one partition, and an S3 error action.
 *
 * https://docs.aws.amazon.com/iot/latest/developerguide/apache-kafka-rule-action.html
 */
export class StreamIngestRule extends Construct {
  readonly topicRule: CfnTopicRule;

  constructor(scope: Construct, id: string, props: StreamIngestRuleProps) {
    super(scope, id);
    if (!RULE_NAME.test(props.ruleName)) {
      throw new Error(`IoT rule names must match ${RULE_NAME}; got '${props.ruleName}'`);
    }
    const { destination } = props;
    const secretRoleArn = destination.secretRole.roleArn;
    this.topicRule = new CfnTopicRule(this, 'Rule', {
      ruleName: props.ruleName,
      topicRulePayload: {
        sql: renderRuleSql(props.ingest.rule),
        awsIotSqlVersion: IOT_SQL_VERSION,
        ruleDisabled: false,
        description: props.ingest.description,
        actions: [
          {
            kafka: {
              destinationArn: destination.destinationArn,
              topic: props.topic,
              key: kafkaKeyTemplate(props.ingest),
              clientProperties: {
                'bootstrap.servers': destination.bootstrapServers,
                'security.protocol': 'SASL_SSL',
                'sasl.mechanism': 'SCRAM-SHA-512',
                'sasl.scram.username': getSecretTemplate(
                  destination.scramSecretName,
                  'username',
                  secretRoleArn,
                ),
                'sasl.scram.password': getSecretTemplate(
                  destination.scramSecretName,
                  'password',
                  secretRoleArn,
                ),
                acks: props.acks ?? 'all',
              },
            },
          },
        ],
        errorAction: {
          s3: { bucketName: props.errorBucketName, key: RULE_ERROR_KEY, roleArn: props.errorRole.roleArn },
        },
      },
    });
    // get_secret runs per message with this role: its grants must exist before the first one.
    this.topicRule.node.addDependency(destination.secretRole);
  }
}
