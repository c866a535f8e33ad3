import { Aws, CfnOutput, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { ResourceRef } from '../constructs/resource-access.ts';
import { SecureBucket } from '../constructs/secure-bucket.ts';
import { SigningKey } from '../constructs/signing-key.ts';
import { signingKeyAlias } from '../topology/env.ts';
import type { KeyAttribute, TableResource, Topology } from '../topology/model.ts';
import { RULE_ERRORS_RESOURCE, validateTopology } from '../topology/validate.ts';
import { type FleetkitNames, KAFKA_DLQ, regionalArn } from './names.ts';

/** The topology name of the bucket IoT rule error actions write to; reserved. */
export const RULE_ERRORS = RULE_ERRORS_RESOURCE;

/** Properties of the {@link DataStack}. */
export interface DataStackProps extends StackProps {
  readonly names: FleetkitNames;
  readonly topology: Topology;
  /**
   * Browser origins that may upload to the topology's buckets with presigned URLs (the console's).
   * @default - none
   */
  readonly browserUploadOrigins?: readonly string[];
  /**
   * Buckets of other stacks that log to the access-log bucket: prefix → bucket ARN. Their stacks can only
   * import the log bucket, so its policy letting their logs in is written here.
   * @default - none
   */
  readonly accessLogSources?: Readonly<Record<string, string>>;
  /** @default 30 */
  readonly ruleErrorsExpiryDays?: number;
  /** @default 365 */
  readonly accessLogsExpiryDays?: number;
  /** Days a batch a Kafka trigger gave up on is kept. @default 30 */
  readonly kafkaDlqExpiryDays?: number;
}

function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function attribute(key: KeyAttribute): { name: string; type: AttributeType } {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

/**
 * Everything that holds data and outlives a deployment: one DynamoDB table per `table` resource, one S3
 * bucket per `bucket` resource, one KMS key per `signingKey` resource, the server access log bucket and
 * the bucket of IoT rule errors.
 * Stateful resources are retained when the stack is deleted.
 */
export class DataStack extends Stack {
  /** Tables by topology resource name. */
  readonly tables: Readonly<Record<string, Table>>;
  /** Buckets by topology resource name. */
  readonly buckets: Readonly<Record<string, SecureBucket>>;
  /** KMS signing keys by topology resource name. */
  readonly signingKeys: Readonly<Record<string, SigningKey>>;
  /** Name and ARN of each topology resource, for stacks that use them without an export. */
  readonly refs: Readonly<Record<string, ResourceRef>>;
  /** Target of every bucket's server access logs. */
  readonly accessLogsBucket: SecureBucket;
  /** Where IoT rule error actions write the messages a rule could not deliver. */
  readonly ruleErrorsBucket: SecureBucket;
  /** Name and ARN of {@link ruleErrorsBucket}. */
  readonly ruleErrorsRef: { readonly bucketName: string; readonly arn: string };
  /**
   * Where Kafka triggers send the batches Lambda gave up on, if the topology has Kafka triggers. With
   * request metrics, so that an alarm can see any write.
   */
  readonly kafkaDlqBucket?: SecureBucket;
  /** Name and ARN of {@link kafkaDlqBucket}. */
  readonly kafkaDlqRef?: { readonly bucketName: string; readonly arn: string };

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    // Buckets enforce object ownership (no ACLs), so log delivery must be granted by bucket policy,
    // whatever the app's feature flags say; the ACL alternative would fail synth.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const { names, topology } = props;
    validateTopology(topology);

    this.accessLogsBucket = new SecureBucket(this, 'AccessLogsBucket', {
      expireAfterDays: props.accessLogsExpiryDays ?? 365,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This is the server access log target of every other bucket; logging it to itself would log ' +
        'its own log deliveries without end, which S3 documentation advises against.',
    });
    for (const [prefix, sourceArn] of Object.entries(props.accessLogSources ?? {})) {
      this.accessLogsBucket.addToResourcePolicy(
        new PolicyStatement({
          principals: [new ServicePrincipal('logging.s3.amazonaws.com')],
          actions: ['s3:PutObject'],
          resources: [this.accessLogsBucket.arnForObjects(`${prefix}/*`)],
          // The same conditions CDK writes for the buckets of this stack.
          conditions: {
            ArnLike: { 'aws:SourceArn': sourceArn },
            StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          },
        }),
      );
    }

    this.ruleErrorsBucket = new SecureBucket(this, 'RuleErrorsBucket', {
      bucketName: names.bucket(RULE_ERRORS),
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: `${RULE_ERRORS}/`,
      expireAfterDays: props.ruleErrorsExpiryDays ?? 30,
    });
    this.ruleErrorsRef = { bucketName: names.bucket(RULE_ERRORS), arn: names.bucketArn(RULE_ERRORS) };

    if (Object.hasOwn(topology.resources, KAFKA_DLQ)) {
      throw new Error(`resource '${KAFKA_DLQ}' is reserved for the platform; choose another name`);
    }
    if (Object.values(topology.functions).some((fn) => (fn.kafka ?? []).length > 0)) {
      this.kafkaDlqBucket = new SecureBucket(this, 'KafkaDlqBucket', {
        bucketName: names.kafkaDlqBucket,
        serverAccessLogsBucket: this.accessLogsBucket,
        serverAccessLogsPrefix: `${KAFKA_DLQ}/`,
        expireAfterDays: props.kafkaDlqExpiryDays ?? 30,
        requestMetrics: true,
      });
      this.kafkaDlqRef = { bucketName: names.kafkaDlqBucket, arn: names.kafkaDlqBucketArn };
    }

    const tables: Record<string, Table> = {};
    const buckets: Record<string, SecureBucket> = {};
    const signingKeys: Record<string, SigningKey> = {};
    const refs: Record<string, ResourceRef> = {};
    for (const [name, resource] of Object.entries(topology.resources)) {
      if (resource.kind === 'table') {
        tables[name] = this.table(name, resource, names.table(name));
        refs[name] = { name, resource, physicalName: names.table(name), arn: names.tableArn(name) };
        new CfnOutput(this, `${pascalCase(name)}TableName`, { value: names.table(name) });
      } else if (resource.kind === 'bucket') {
        buckets[name] = new SecureBucket(this, `${pascalCase(name)}Bucket`, {
          bucketName: names.bucket(name),
          versioned: resource.versioned,
          serverAccessLogsBucket: this.accessLogsBucket,
          serverAccessLogsPrefix: `${name}/`,
          ...(props.browserUploadOrigins === undefined
            ? {}
            : { browserUploadOrigins: props.browserUploadOrigins }),
        });
        refs[name] = { name, resource, physicalName: names.bucket(name), arn: names.bucketArn(name) };
        new CfnOutput(this, `${pascalCase(name)}BucketName`, { value: names.bucket(name) });
      } else if (resource.kind === 'signingKey') {
        const aliasName = signingKeyAlias(names.stage, name);
        signingKeys[name] = new SigningKey(this, `${pascalCase(name)}SigningKey`, {
          aliasName,
          description: resource.description,
          // The functions that write the key (topology `uses`) are its only signers, by their fixed role names.
          signerRoleArns: Object.entries(props.topology.functions)
            .filter(([, fn]) => {
              const access = (fn.uses as Record<string, string> | undefined)?.[name];
              return access === 'write' || access === 'readWrite';
            })
            .map(([fnName]) => `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${names.function(fnName)}`),
        });
        refs[name] = { name, resource, physicalName: aliasName, arn: regionalArn('kms', aliasName) };
        new CfnOutput(this, `${pascalCase(name)}KeyAlias`, { value: aliasName });
      }
    }
    this.tables = tables;
    this.buckets = buckets;
    this.signingKeys = signingKeys;
    this.refs = refs;
  }

  private table(name: string, resource: TableResource, tableName: string): Table {
    const table = new Table(this, `${pascalCase(name)}Table`, {
      tableName,
      partitionKey: attribute(resource.partitionKey),
      ...(resource.sortKey === undefined ? {} : { sortKey: attribute(resource.sortKey) }),
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(resource.timeToLiveAttribute === undefined
        ? {}
        : { timeToLiveAttribute: resource.timeToLiveAttribute }),
    });
    for (const index of resource.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey === undefined ? {} : { sortKey: attribute(index.sortKey) }),
        projectionType: index.projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
      });
    }
    return table;
  }
}
