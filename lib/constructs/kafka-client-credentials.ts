import { Aws, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnRotationSchedule, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { FleetFunction } from './fleet-function.ts';

/** One SCRAM user of the pair, and its MSK-associated secret. */
export interface ScramUser {
  readonly username: string;
  readonly secret: Secret;
}

/** Properties of {@link KafkaClientCredentials}. */
export interface KafkaClientCredentialsProps {
  /** Not `AmazonMSK_`-prefixed: MSK does not load it; IoT rules read it with `get_secret`. */
  readonly secretName: string;
  /** The two users the client secret alternates between; the first is the one it starts on. */
  readonly users: readonly [ScramUser, ScramUser];
  /** The customer-managed key of the users' secrets; the client secret uses it too. */
  readonly key: IKey;
  readonly clusterArn: string;
  /**
   * A topic the users produce to: the rotation checks the new user may see it.
   * @default - the rotation checks only that the user signs in
   */
  readonly probeTopic?: string;
  readonly vpc: IVpc;
  readonly subnets: readonly ISubnet[];
  /** Must reach the brokers' SASL/SCRAM port, and Secrets Manager's and MSK's APIs. */
  readonly securityGroups: readonly ISecurityGroup[];
  /** @default 30 days */
  readonly rotateEvery?: Duration;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
}

/**
 * The credentials IoT rules' Kafka actions sign in with, rotated by Secrets Manager every 30 days with
 * alternating users (see `ScramRotation`): the client secret holds one user's `{username, password}`;
 * each rotation gives the *other* user a new password in its MSK secret, waits until the brokers accept
 * it, and only then points the client secret at it. The user IoT was on keeps its password until the
 * rotation after, so IoT never holds a password the brokers stopped accepting (MSK reads only AWSCURRENT
 * of an associated secret and drops the old password once the new one loads:
 * https://docs.aws.amazon.com/msk/latest/developerguide/msk-password-rotation.html).
 *
 * The client secret starts as the first user's credentials, read from its secret at deploy time
 * (a dynamic reference, resolved when the value property changes, never on other deploys).
 */
export class KafkaClientCredentials extends Construct {
  readonly secret: Secret;
  readonly rotation: FleetFunction;
  readonly schedule: CfnRotationSchedule;

  constructor(scope: Construct, id: string, props: KafkaClientCredentialsProps) {
    super(scope, id);
    const [first] = props.users;
    if (props.users[0].username === props.users[1].username) {
      throw new Error(`the two SCRAM users must differ; got '${first.username}' twice`);
    }
    this.secret = new Secret(this, 'Secret', {
      secretName: props.secretName,
      description:
        'SASL/SCRAM credentials the IoT Kafka rule actions use (get_secret); rotated between two users',
      encryptionKey: props.key,
      secretObjectValue: {
        username: SecretValue.unsafePlainText(first.username),
        password: SecretValue.secretsManager(first.secret.secretArn, { jsonField: 'password' }),
      },
    });

    this.rotation = new FleetFunction(this, 'Rotation', {
      handler: 'kafka-scram-rotation',
      description: 'Rotates the IoT rules Kafka credentials between two SCRAM users',
      network: { vpc: props.vpc, subnets: props.subnets, securityGroups: props.securityGroups },
      environment: {
        SCRAM_USERS: Stack.of(this).toJsonString(
          Object.fromEntries(props.users.map((user) => [user.username, user.secret.secretArn])),
        ),
        MSK_CLUSTER_ARN: props.clusterArn,
        ...(props.probeTopic === undefined ? {} : { SCRAM_PROBE_TOPIC: props.probeTopic }),
      },
      // testSecret waits up to 12 minutes for MSK to load the new password.
      timeoutSeconds: 900,
      ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    });
    const role = this.rotation.role;
    // What a rotation function needs on the secret it rotates
    // (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html).
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:PutSecretValue',
          'secretsmanager:UpdateSecretVersionStage',
        ],
        resources: [this.secret.secretArn],
      }),
    );
    // Only a new password into the users' MSK secrets: never reading them, never moving their labels.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:PutSecretValue'],
        resources: props.users.map((user) => user.secret.secretArn),
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.${Aws.URL_SUFFIX}` } },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [props.clusterArn] }),
    );
    this.rotation.function.addPermission('SecretsManagerInvoke', {
      principal: new ServicePrincipal('secretsmanager.amazonaws.com'),
      sourceAccount: Aws.ACCOUNT_ID,
    });

    const every = props.rotateEvery ?? Duration.days(30);
    this.schedule = new CfnRotationSchedule(this, 'Schedule', {
      secretId: this.secret.secretArn,
      rotationLambdaArn: this.rotation.function.functionArn,
      rotationRules: { scheduleExpression: `rate(${every.toDays()} days)` },
      // The first credentials work as made; a deploy is no reason to rotate.
      rotateImmediatelyOnUpdate: false,
    });
    // Secrets Manager checks it may invoke the function when the schedule is set.
    this.schedule.node.addDependency(this.rotation.function);
  }
}
