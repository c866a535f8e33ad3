import { Fn, Validations } from 'aws-cdk-lib';
import { type ISubnet, type IVpc, Port, SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnBatchScramSecret, CfnCluster, CfnConfiguration, CfnTopic } from 'aws-cdk-lib/aws-msk';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { KafkaBootstrapBrokers } from './kafka-bootstrap-brokers.ts';

/** Broker port for SASL/SCRAM over TLS (https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html). */
export const SCRAM_TLS_PORT = 9096;
/** Broker port for IAM access control over TLS. */
export const IAM_TLS_PORT = 9098;

/** Kafka topic names: `[a-zA-Z0-9._-]`, 1-249 characters. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

/**
 * Replication of every topic: three copies where there are three brokers or more, else one per broker.
 * `min.insync.replicas` is one less than that, at least 1. With the default two brokers (one per AZ)
 * that is RF 2 and min ISR 1: an `acks=all` write still succeeds while MSK patches or replaces one
 * broker (it does so one at a time), at the price that records written meanwhile live on one broker
 * until the other catches up. min ISR 2 on two brokers would stop every acks=all producer during each
 * broker restart. Three brokers (RF 3, min ISR 2) is AWS's recommendation once the fleet justifies ~50%
 * more cluster cost (https://docs.aws.amazon.com/msk/latest/developerguide/bestpractices.html).
 */
export function kafkaReplication(brokerCount: number): {
  replicationFactor: number;
  minInsyncReplicas: number;
} {
  const replicationFactor = Math.min(brokerCount, 3);
  return { replicationFactor, minInsyncReplicas: Math.max(1, replicationFactor - 1) };
}

/**
 * The cluster's `server.properties` (an MSK configuration;
 * https://docs.aws.amazon.com/msk/latest/developerguide/msk-configuration-properties.html).
 *
 * - `auto.create.topics.enable=false`: every topic is declared (one `AWS::MSK::Topic` per topology
 *   stream, with its own partition count), so a producer with a misspelt topic gets an error instead of
 *   silently creating a new, unconsumed topic. `num.partitions` only applies to topics created without a
 *   count.
 * - `allow.everyone.if.no.acl.found=false`: a SASL/SCRAM client (the IoT rules' users) may do only what
 *   a Kafka ACL grants it (`KafkaAcls`: WRITE and DESCRIBE on the ingest topics). IAM clients (Lambda,
 *   the stream processor, the ACL function) are not affected: they are authorized by IAM policies, and
 *   this setting has no effect on them
 *   (https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html).
 */
export function kafkaServerProperties(brokerCount: number): string {
  const { replicationFactor, minInsyncReplicas } = kafkaReplication(brokerCount);
  return [
    'auto.create.topics.enable=false',
    'num.partitions=6',
    `default.replication.factor=${replicationFactor}`,
    `min.insync.replicas=${minInsyncReplicas}`,
    'allow.everyone.if.no.acl.found=false',
  ].join('\n');
}

/** `3.9.x` → [3, 9]; undefined for a version string that does not start with major.minor. */
function majorMinor(version: string): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(version);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

/** Properties of a {@link KafkaCluster}. */
export interface KafkaClusterProps {
  readonly vpc: IVpc;
  /** One broker per subnet per round; their count must divide the broker count. */
  readonly subnets: readonly ISubnet[];
  readonly clusterName: string;
  /**
   * The SCRAM users and the names of their secrets, which must start with `AmazonMSK_` or MSK refuses to
   * associate them. Two, so their passwords can be rotated in turn (`KafkaClientCredentials`).
   */
  readonly scramUsers: readonly { readonly username: string; readonly secretName: string }[];
  /** @default 'kafka.t3.small' */
  readonly instanceType?: string;
  /** @default '3.9.x' */
  readonly kafkaVersion?: string;
  /** @default 2 */
  readonly brokerCount?: number;
  /** @default 20 */
  readonly volumeGiB?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * A provisioned MSK cluster that IoT Core's Kafka rule action can reach: SASL/SCRAM (the only SASL
 * mechanism that action supports, hence not MSK Serverless, which is IAM only) and IAM for AWS-side
 * clients such as Lambda event sources, TLS everywhere, no unauthenticated access, data encrypted with a
 * customer-managed key, broker logs in CloudWatch.
 */
export class KafkaCluster extends Construct {
  readonly cluster: CfnCluster;
  /** The cluster's `server.properties`, see {@link kafkaServerProperties}. */
  readonly configuration: CfnConfiguration;
  /** `b-1.<cluster>…:9096,b-2…:9096`, looked up at deploy time (CloudFormation does not return it). */
  readonly bootstrapBrokersSaslScram: string;
  readonly clusterName: string;
  readonly brokerCount: number;
  readonly kafkaVersion: string;
  /** The cluster ARN (its last segment is a UUID MSK assigns). */
  readonly clusterArn: string;
  /** Security group of the brokers. Lambda's MSK pollers use it too, so it admits itself. */
  readonly brokerSecurityGroup: SecurityGroup;
  /** For clients in the VPC (an IoT rule VPC destination): may reach the brokers' TLS ports only. */
  readonly clientSecurityGroup: SecurityGroup;
  /** The SCRAM users and their MSK-associated secrets (`{"username", "password"}`). */
  readonly scramUsers: ReadonlyArray<{ readonly username: string; readonly secret: Secret }>;
  /** Encrypts {@link scramSecret}; readers of the secret need decrypt on it. */
  readonly scramSecretKey: Key;

  constructor(scope: Construct, id: string, props: KafkaClusterProps) {
    super(scope, id);
    const brokerCount = props.brokerCount ?? 2;
    const instanceType = props.instanceType ?? 'kafka.t3.small';
    if (!/^kafka\.[a-z0-9]+\.[a-z0-9]+$/.test(instanceType)) {
      throw new Error(`MSK instance type must look like 'kafka.m7g.large'; got '${instanceType}'`);
    }
    if (props.subnets.length === 0 || brokerCount % props.subnets.length !== 0) {
      throw new Error(
        `broker count must be a multiple of the ${props.subnets.length} client subnets; got ${brokerCount}`,
      );
    }
    for (const { secretName } of props.scramUsers) {
      if (!secretName.startsWith('AmazonMSK_')) {
        throw new Error(`MSK SCRAM secret names must start with 'AmazonMSK_'; got '${secretName}'`);
      }
    }

    this.brokerSecurityGroup = new SecurityGroup(this, 'BrokerSecurityGroup', {
      vpc: props.vpc,
      description: 'MSK brokers: SASL/SCRAM and IAM over TLS from fleetkit clients and Lambda pollers',
    });
    this.clientSecurityGroup = new SecurityGroup(this, 'ClientSecurityGroup', {
      vpc: props.vpc,
      description: 'Kafka clients of the fleetkit MSK cluster (IoT rule VPC destination)',
      allowAllOutbound: false,
    });
    for (const [port, what] of [
      [SCRAM_TLS_PORT, 'SASL/SCRAM over TLS'],
      [IAM_TLS_PORT, 'IAM over TLS'],
    ] as const) {
      // Lambda's MSK event source pollers run with the cluster's own security groups.
      this.brokerSecurityGroup.addIngressRule(
        this.brokerSecurityGroup,
        Port.tcp(port),
        `${what} from pollers`,
      );
      this.brokerSecurityGroup.connections.allowFrom(
        this.clientSecurityGroup,
        Port.tcp(port),
        `${what} from clients`,
      );
    }

    const storageKey = new Key(this, 'StorageKey', {
      description: `Encrypts the broker volumes of ${props.clusterName}`,
      enableKeyRotation: true,
    });
    this.scramSecretKey = new Key(this, 'ScramSecretKey', {
      description: `Encrypts the SCRAM secrets of ${props.clusterName}; MSK refuses secrets under the default key`,
      enableKeyRotation: true,
    });
    this.scramUsers = props.scramUsers.map(({ username, secretName }, i) => {
      const secret = new Secret(this, i === 0 ? 'IotRulesScramSecret' : `IotRulesScramSecret${i + 1}`, {
        secretName,
        description: `SASL/SCRAM credentials of Kafka user ${username} of ${props.clusterName}`,
        encryptionKey: this.scramSecretKey,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ username }),
          generateStringKey: 'password',
          excludePunctuation: true,
          passwordLength: 40,
        },
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotated through the IoT client secret (KafkaClientCredentials): its rotation function writes a ' +
          "new password here for the user IoT is not on. A schedule of this secret's own would change " +
          'the password IoT is signed in with, which MSK stops accepting as soon as it loads the new one.',
      });
      return { username, secret };
    });
    this.clusterName = props.clusterName;
    this.brokerCount = brokerCount;
    this.kafkaVersion = props.kafkaVersion ?? '3.9.x';
    this.configuration = new CfnConfiguration(this, 'Configuration', {
      name: props.clusterName,
      description: `server.properties of ${props.clusterName}`,
      kafkaVersionsList: [this.kafkaVersion],
      serverProperties: kafkaServerProperties(brokerCount),
    });

    const brokerLogs = new LogGroup(this, 'BrokerLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    this.cluster = new CfnCluster(this, 'Cluster', {
      clusterName: props.clusterName,
      kafkaVersion: this.kafkaVersion,
      configurationInfo: {
        arn: this.configuration.attrArn,
        revision: this.configuration.attrLatestRevisionRevision,
      },
      numberOfBrokerNodes: brokerCount,
      brokerNodeGroupInfo: {
        instanceType,
        clientSubnets: props.subnets.map((subnet) => subnet.subnetId),
        securityGroups: [this.brokerSecurityGroup.securityGroupId],
        storageInfo: { ebsStorageInfo: { volumeSize: props.volumeGiB ?? 20 } },
      },
      clientAuthentication: {
        sasl: { scram: { enabled: true }, iam: { enabled: true } },
        unauthenticated: { enabled: false },
      },
      encryptionInfo: {
        encryptionAtRest: { dataVolumeKmsKeyId: storageKey.keyArn },
        encryptionInTransit: { clientBroker: 'TLS', inCluster: true },
      },
      loggingInfo: { brokerLogs: { cloudWatchLogs: { enabled: true, logGroup: brokerLogs.logGroupName } } },
    });
    this.clusterArn = this.cluster.attrArn;
    const scramSecrets = new CfnBatchScramSecret(this, 'ScramSecrets', {
      clusterArn: this.clusterArn,
      secretArnList: this.scramUsers.map((user) => user.secret.secretArn),
    });
    const bootstrapBrokers = new KafkaBootstrapBrokers(this, 'BootstrapBrokers', {
      clusterArn: this.clusterArn,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    });
    // Asked once SCRAM is fully set up, so the brokers IoT is given are the ones its user can log in to.
    bootstrapBrokers.node.addDependency(scramSecrets);
    this.bootstrapBrokersSaslScram = bootstrapBrokers.saslScram;
  }

  /**
   * Declares a topic with its partition count (MSK's topic API through CloudFormation, which needs Kafka
   * 3.6 or later: https://docs.aws.amazon.com/msk/latest/developerguide/msk-topic-operations-information.html).
   * Partitions can grow in place later; they can never shrink.
   */
  addTopic(id: string, topicName: string, partitions: number): CfnTopic {
    if (!TOPIC_NAME.test(topicName)) {
      throw new Error(`Kafka topic names allow [a-zA-Z0-9._-], 1-249 characters; got '${topicName}'`);
    }
    if (!Number.isInteger(partitions) || partitions < 1) {
      throw new Error(`topic '${topicName}' needs a whole number of partitions >= 1; got ${partitions}`);
    }
    const version = majorMinor(this.kafkaVersion);
    if (version === undefined || version[0] < 3 || (version[0] === 3 && version[1] < 6)) {
      throw new Error(
        `MSK declares topics only on Kafka 3.6 or later; the cluster runs '${this.kafkaVersion}'`,
      );
    }
    return new CfnTopic(this, id, {
      clusterArn: this.clusterArn,
      topicName,
      partitionCount: partitions,
      replicationFactor: kafkaReplication(this.brokerCount).replicationFactor,
    });
  }
}

/**
 * The ARN of a topic or consumer group of the cluster `clusterArn`
 * (`arn:…:kafka:<region>:<account>:cluster/<name>/<uuid>` → `…:topic/<name>/<uuid>/<topic>`), for
 * `kafka-cluster:*` IAM statements. Works on a token: the split happens in CloudFormation.
 */
export function kafkaResourceArn(clusterArn: string, kind: 'topic' | 'group', name: string): string {
  const [accountPart, clusterPart] = Fn.split(':cluster/', clusterArn, 2);
  return `${accountPart}:${kind}/${clusterPart}/${name}`;
}
