import { Aws, CrossStackReferences, ReferenceStrength, type Stack } from 'aws-cdk-lib';
import { kebabCase, provisioningTemplateNames, stageResourceName } from '../topology/env.ts';

/** The platform's bucket resource name for Kafka trigger failures; a topology resource may not take it. */
export const KAFKA_DLQ = 'kafkaDlq';

const STAGE = /^[a-z](?:[a-z0-9-]{0,10}[a-z0-9])?$/;
/** S3 allows 63: `fleetkit-` (9), then `<stage>-<name>`, then `-<account id (12)>-<longest region (14)>` (28). */
const BUCKET_NAME_BUDGET = 63 - 9 - 28;

/** The context key of CDK's default cross-stack reference strength. */
const CROSS_STACK_REFERENCES = '@aws-cdk/core:defaultCrossStackReferences';

/**
 * Makes the references `stack` takes from other stacks strong (CloudFormation exports), unless the app
 * chose a strength (`-c @aws-cdk/core:defaultCrossStackReferences=...`): a producer (the streaming
 * stack's cluster, the runtime stack's HTTP API) cannot be deleted under a consumer. That is CDK's
 * default, said explicitly; the price is that removing a referenced resource takes two deployments.
 * Call it first in the stack's constructor: context cannot change once the stack has children.
 */
export function consumeStrongReferences(stack: Stack): void {
  if (stack.node.tryGetContext(CROSS_STACK_REFERENCES) === undefined) {
    CrossStackReferences.of(stack).consume(ReferenceStrength.STRONG);
  }
}

/** An ARN in the deploying account and region, built from pseudo parameters so any stack can use it. */
export function regionalArn(service: string, resource: string): string {
  return `arn:${Aws.PARTITION}:${service}:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
}

/**
 * Every physical name of a stage, in one place.
 *
 * Tables, buckets and rules have deterministic names, so the runtime stack refers to data resources by
 * name and ARN rather than through CloudFormation exports. That keeps the stacks loosely coupled
 * (changing a grant never blocks on an export in use) and makes IAM resources readable, which lets
 * cdk-nag acknowledgements name the exact resource.
 */
export class FleetkitNames {
  /** Stage name: lower-case letters, digits and inner hyphens, 1-12 characters. */
  readonly stage: string;

  constructor(stage: string) {
    if (!STAGE.test(stage)) {
      throw new Error(
        `stage must be 1-12 lower-case letters, digits or inner hyphens, starting with a letter; got '${stage}'`,
      );
    }
    this.stage = stage;
  }

  /** `fleetkit-dev-data`. */
  stack(part: string): string {
    return `fleetkit-${this.stage}-${part}`;
  }

  /** `fleetkit-dev-registry`. */
  table(resourceName: string): string {
    return stageResourceName(this.stage, resourceName);
  }

  /** `arn:…:dynamodb:<region>:<account>:table/fleetkit-dev-registry`. */
  tableArn(resourceName: string): string {
    return regionalArn('dynamodb', `table/${this.table(resourceName)}`);
  }

  /** `fleetkit-dev-firmware-<account>-<region>`: bucket names are global, so account and region are in it. */
  bucket(resourceName: string): string {
    const base = `${this.stage}-${kebabCase(resourceName)}`;
    if (base.length > BUCKET_NAME_BUDGET) {
      throw new Error(
        `stage + bucket resource name must be at most ${BUCKET_NAME_BUDGET} characters to fit S3's 63; got '${base}'`,
      );
    }
    return `fleetkit-${base}-${Aws.ACCOUNT_ID}-${Aws.REGION}`;
  }

  /** `arn:…:s3:::fleetkit-dev-firmware-<account>-<region>`. */
  bucketArn(resourceName: string): string {
    return `arn:${Aws.PARTITION}:s3:::${this.bucket(resourceName)}`;
  }

  /** `arn:…:iot:<region>:<account>:topic/<pattern>`: the topics a `topics` resource stands for. */
  topicArn(pattern: string): string {
    return regionalArn('iot', `topic/${pattern}`);
  }

  /** IoT rule names allow only `[a-zA-Z0-9_]`: `fleetkit_dev_ingestStatus`, `fleetkit_dev_ingestStatus_2`. */
  topicRule(functionName: string, index: number): string {
    const name = `fleetkit_${this.stage}_${functionName}${index === 0 ? '' : `_${index + 1}`}`.replace(
      /[^a-zA-Z0-9_]/g,
      '_',
    );
    if (name.length > 128) throw new Error(`IoT rule name must be at most 128 characters; got '${name}'`);
    return name;
  }

  /** Prefix of every rule of this stage, for the rule-error role's trust condition. */
  get topicRulePrefix(): string {
    return `fleetkit_${this.stage.replace(/-/g, '_')}_`;
  }

  /** The IoT policy attached to every device certificate. */
  get devicePolicy(): string {
    return `fleetkit-${this.stage}-device`;
  }

  /** A provisioning-hook template (`fleetkit-dev-factory`) and its claim certificates' IoT policy. */
  provisioningTemplate(template: string): {
    readonly templateName: string;
    readonly claimPolicyName: string;
  } {
    return provisioningTemplateNames(this.stage, template);
  }

  /** The IoT domain configuration devices connect to (TLS 1.3 only). */
  get deviceDomainConfiguration(): string {
    return `fleetkit-${this.stage}-devices`;
  }

  /** The MSK cluster. */
  get kafkaCluster(): string {
    return `fleetkit-${this.stage}`;
  }

  /**
   * The two SCRAM users IoT rules sign in as, in turn, and their secrets: MSK only associates secrets
   * whose name starts with `AmazonMSK_`. The first keeps the name of the single secret before rotation,
   * so a deployed stage keeps it.
   */
  get iotRulesScramUsers(): [
    { readonly username: string; readonly secretName: string },
    { readonly username: string; readonly secretName: string },
  ] {
    return [
      { username: 'iot-rules', secretName: `AmazonMSK_fleetkit-${this.stage}-iot-rules` },
      { username: 'iot-rules-2', secretName: `AmazonMSK_fleetkit-${this.stage}-iot-rules-2` },
    ];
  }

  /** The credentials IoT rules read with `get_secret` (one of the two users'); MSK does not load it. */
  get iotKafkaClientSecret(): string {
    return `fleetkit-${this.stage}-iot-kafka-client`;
  }

  /**
   * `fleetkit-dev-ingest-status`: fixed rather than generated, so the monitoring stack names functions in
   * alarms and dashboards without a CloudFormation export (which would block removing a function).
   */
  function(functionName: string): string {
    const name = stageResourceName(this.stage, functionName);
    if (name.length > 64) throw new Error(`Lambda function names allow 64 characters; got '${name}'`);
    return name;
  }

  /** The queue that keeps failed asynchronous invocations: `fleetkit-dev-async-failures`. */
  get asyncFailureQueue(): string {
    return `fleetkit-${this.stage}-async-failures`;
  }

  /**
   * The bucket Kafka triggers send the batches Lambda gave up on to. Named like a topology bucket, so the
   * topology may not use the name (see {@link KAFKA_DLQ}).
   */
  get kafkaDlqBucket(): string {
    return this.bucket(KAFKA_DLQ);
  }

  /** ARN of {@link kafkaDlqBucket}. */
  get kafkaDlqBucketArn(): string {
    return this.bucketArn(KAFKA_DLQ);
  }

  /** Kafka triggers share provisioned pollers within a stage (Lambda poller groups share EPU capacity). */
  get kafkaPollerGroup(): string {
    return `fleetkit-${this.stage}`;
  }

  /** The SNS topic alarms notify. */
  get alarmTopic(): string {
    return `fleetkit-${this.stage}-alarms`;
  }

  /** The CloudWatch dashboard. */
  get dashboard(): string {
    return `fleetkit-${this.stage}`;
  }

  /** Consumer group of one Kafka trigger: fixed rather than Lambda's generated one, so IAM can name it. */
  kafkaConsumerGroup(functionName: string, topic: string): string {
    return `fleetkit-${this.stage}-${kebabCase(functionName)}-${topic}`;
  }
}
