import { Aws, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnTopicRule } from 'aws-cdk-lib/aws-iot';
import { CfnPermission, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { TopicRule } from '../topology/model.ts';
import { IOT_SQL_VERSION, renderRuleSql } from '../topology/rule-sql.ts';
import { acknowledgeWildcardResource } from './nag.ts';

const RULE_NAME = /^[a-zA-Z0-9_]{1,128}$/;

/**
 * Object key of a failed message in the error bucket, in IoT substitution templates (evaluated by the
 * rules engine, not CloudFormation): grouped by topic, then time, unique per message.
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: IoT substitution templates, literal on purpose
export const RULE_ERROR_KEY = '${topic()}/${timestamp()}-${newuuid()}';

/** Properties of a {@link DeviceTopicRule}. */
export interface DeviceTopicRuleProps {
  /** `[a-zA-Z0-9_]`, at most 128 characters. */
  readonly ruleName: string;
  readonly rule: TopicRule;
  /** Receives each message the rule selects. */
  readonly function: IFunction;
  /** Bucket the error action writes undeliverable messages to. */
  readonly errorBucketName: string;
  /** Role IoT assumes for the error action; see {@link RuleErrorRole}. */
  readonly errorRole: Role;
  /** @default - no description */
  readonly description?: string;
}

/**
 * An IoT topic rule from a topology rule: the SQL `renderRuleSql` gives, a Lambda action, and an error
 * action that keeps what could not be delivered, plus the permission for this rule (and only it) to
 * invoke the function.
 */
export class DeviceTopicRule extends Construct {
  readonly topicRule: CfnTopicRule;

  constructor(scope: Construct, id: string, props: DeviceTopicRuleProps) {
    super(scope, id);
    if (!RULE_NAME.test(props.ruleName)) {
      throw new Error(`IoT rule names must match ${RULE_NAME}; got '${props.ruleName}'`);
    }
    this.topicRule = new CfnTopicRule(this, 'Rule', {
      ruleName: props.ruleName,
      topicRulePayload: {
        sql: renderRuleSql(props.rule),
        awsIotSqlVersion: IOT_SQL_VERSION,
        ruleDisabled: false,
        ...(props.description === undefined ? {} : { description: props.description }),
        actions: [{ lambda: { functionArn: props.function.functionArn } }],
        errorAction: {
          s3: { bucketName: props.errorBucketName, key: RULE_ERROR_KEY, roleArn: props.errorRole.roleArn },
        },
      },
    });
    new CfnPermission(this, 'InvokePermission', {
      action: 'lambda:InvokeFunction',
      functionName: props.function.functionArn,
      principal: 'iot.amazonaws.com',
      sourceArn: this.topicRule.attrArn,
      sourceAccount: Stack.of(this).account,
    });
  }
}

/** Properties of a {@link RuleErrorRole}. */
export interface RuleErrorRoleProps {
  /** ARN of the bucket rule error actions write to. */
  readonly bucketArn: string;
  /** Only rules whose name starts with this may assume the role. */
  readonly ruleNamePrefix: string;
}

/**
 * The role IoT assumes for rule error actions: `s3:PutObject` into the error bucket and nothing else,
 * assumable only by this account's rules with the given name prefix (confused-deputy protection).
 */
export class RuleErrorRole extends Role {
  constructor(scope: Construct, id: string, props: RuleErrorRoleProps) {
    super(scope, id, {
      description: 'IoT rule error actions: write undeliverable messages to the rule error bucket',
      assumedBy: new ServicePrincipal('iot.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
        ArnLike: {
          'aws:SourceArn': `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/${props.ruleNamePrefix}*`,
        },
      }),
    });
    const objects = `${props.bucketArn}/*`;
    this.addToPolicy(new PolicyStatement({ actions: ['s3:PutObject'], resources: [objects] }));
    acknowledgeWildcardResource(
      this.node.findChild('DefaultPolicy'),
      objects,
      'Error object keys are made per message by IoT (topic, timestamp, uuid), so they cannot be ' +
        'listed; the role may only PutObject, only into the rule error bucket.',
    );
  }
}
