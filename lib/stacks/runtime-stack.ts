import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DevicePolicy } from '../constructs/device-policy.ts';
import { DeviceTopicRule, RuleErrorRole } from '../constructs/device-topic-rule.ts';
import { FleetFunction } from '../constructs/fleet-function.ts';
import { FleetHttpApi } from '../constructs/http-routes.ts';
import { IotDataEndpoint } from '../constructs/iot-data-endpoint.ts';
import { KafkaConsumer } from '../constructs/kafka-consumer.ts';
import { grantResourceAccess, type ResourceRef } from '../constructs/resource-access.ts';
import { functionEnv, usesOf } from '../topology/env.ts';
import type { FunctionSpec, Topology } from '../topology/model.ts';
import type { FleetkitNames } from './names.ts';

/** Properties of the {@link RuntimeStack}. */
export interface RuntimeStackProps extends StackProps {
  readonly names: FleetkitNames;
  readonly topology: Topology;
  /** Each topology resource by name, as the data stack names it. */
  readonly resources: Readonly<Record<string, ResourceRef>>;
  /** The bucket IoT rule error actions write to. */
  readonly ruleErrors: { readonly bucketName: string; readonly arn: string };
  /**
   * The MSK cluster Kafka triggers consume from.
   * @default - none; a topology with Kafka triggers is refused
   */
  readonly kafkaClusterArn?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * The account's IoT `Data-ATS` endpoint host, for functions that publish.
   * @default - looked up at deploy time (DescribeEndpoint custom resource)
   */
  readonly iotDataEndpointHost?: string;
  /**
   * Overrides of the functions' declared settings (see `FunctionSpec.settings`).
   * @default - the topology's defaults
   */
  readonly settings?: Readonly<Record<string, string>>;
}

function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** `Rule`, `Rule2`, …: the first keeps the short id, so adding a second renames nothing. */
function nth(base: string, index: number): string {
  return index === 0 ? base : `${base}${index + 1}`;
}

/**
 * The functions and everything that triggers them: IoT topic rules, HTTP routes, schedules and Kafka
 * event sources, plus the device IoT policy.
 *
 * Functions and triggers share one stack on purpose: a trigger in another stack adds a
 * `lambda:InvokeFunction` permission naming the trigger's ARN next to the function, while the trigger
 * names the function's ARN — a reference each way across the stacks, which CloudFormation cannot
 * deploy (a cross-stack cycle).
 */
export class RuntimeStack extends Stack {
  /** Functions by topology function name. */
  readonly functions: Readonly<Record<string, FleetFunction>>;
  /** The HTTP API, if any function has routes. */
  readonly httpApi?: FleetHttpApi;
  readonly devicePolicy: DevicePolicy;

  private readonly props: RuntimeStackProps;
  private asyncFailureQueue?: Queue;
  private iotDataEndpoint?: IotDataEndpoint;
  private ruleErrorRole?: RuleErrorRole;

  constructor(scope: Construct, id: string, props: RuntimeStackProps) {
    super(scope, id, props);
    this.props = props;
    const { names, topology } = props;
    const functions: Record<string, FleetFunction> = {};
    for (const [name, spec] of Object.entries(topology.functions)) {
      functions[name] = this.addFunction(name, spec);
    }
    this.functions = functions;

    const routed = Object.entries(topology.functions).filter(([, spec]) => (spec.routes ?? []).length > 0);
    if (routed.length > 0) {
      const httpApi = new FleetHttpApi(this, 'HttpApi', {
        apiName: names.stack('api'),
        ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
      });
      for (const [name, spec] of routed) {
        const fn = functions[name];
        if (fn !== undefined)
          httpApi.addFunctionRoutes(`${pascalCase(name)}Integration`, spec.routes ?? [], fn.function);
      }
      this.httpApi = httpApi;
      new CfnOutput(this, 'ApiUrl', { value: httpApi.url });
    }

    this.devicePolicy = new DevicePolicy(this, 'DevicePolicy', { policyName: names.devicePolicy });
    new CfnOutput(this, 'DevicePolicyName', {
      value: this.devicePolicy.policyName,
      exportName: `${names.stack('device-policy')}-name`,
    });
  }

  private addFunction(name: string, spec: FunctionSpec): FleetFunction {
    const { names, topology } = this.props;
    const id = pascalCase(name);
    // Triggers that invoke asynchronously get retries and a dead-letter queue; the others answer a caller.
    const invokedAsync = (spec.rules ?? []).length > 0 || (spec.schedules ?? []).length > 0;
    const fn = new FleetFunction(this, id, {
      handler: spec.handler,
      description: spec.description,
      environment: {
        ...functionEnv(
          topology,
          spec,
          (resourceName) => this.resource(resourceName).physicalName,
          this.props.settings,
        ),
        // Publishers reach IoT Core's data plane at the account's endpoint, through the SDK's own variable.
        ...(usesOf(topology, spec).some((use) => use.resource.kind === 'topics')
          ? { AWS_ENDPOINT_URL_IOT_DATA_PLANE: this.dataEndpoint().url }
          : {}),
        STAGE: names.stage,
      },
      ...(spec.memoryMiB === undefined ? {} : { memoryMiB: spec.memoryMiB }),
      ...(spec.timeoutSeconds === undefined ? {} : { timeoutSeconds: spec.timeoutSeconds }),
      ...(this.props.logRetention === undefined ? {} : { logRetention: this.props.logRetention }),
      ...(invokedAsync ? { retryAttempts: 2, deadLetterQueue: this.failureQueue() } : {}),
    });
    for (const use of usesOf(topology, spec))
      grantResourceAccess(fn.role, this.resource(use.name), use.access);

    (spec.rules ?? []).forEach((rule, i) => {
      new DeviceTopicRule(this, nth(`${id}Rule`, i), {
        ruleName: names.topicRule(name, i),
        rule,
        function: fn.function,
        errorBucketName: this.props.ruleErrors.bucketName,
        errorRole: this.errorRole(),
        description: spec.description,
      });
    });
    (spec.schedules ?? []).forEach((schedule, i) => {
      new Rule(this, nth(`${id}Schedule`, i), {
        description: `Every ${schedule.everyMinutes} min: ${spec.description}`,
        schedule: Schedule.rate(Duration.minutes(schedule.everyMinutes)),
        targets: [new LambdaFunction(fn.function)],
      });
    });
    (spec.kafka ?? []).forEach((trigger, i) => {
      const clusterArn = this.props.kafkaClusterArn;
      if (clusterArn === undefined) {
        throw new Error(
          `function '${name}' has a Kafka trigger on '${trigger.topic}' but no cluster was given`,
        );
      }
      new KafkaConsumer(this, nth(`${id}Kafka`, i), {
        function: fn.function,
        role: fn.role,
        clusterArn,
        trigger,
        consumerGroupId: names.kafkaConsumerGroup(name, trigger.topic),
      });
    });
    return fn;
  }

  private resource(name: string): ResourceRef {
    const ref = this.props.resources[name];
    if (ref === undefined) throw new Error(`no resource '${name}' was given to the runtime stack`);
    return ref;
  }

  private dataEndpoint(): IotDataEndpoint {
    this.iotDataEndpoint ??= new IotDataEndpoint(this, 'IotDataEndpoint', {
      ...(this.props.iotDataEndpointHost === undefined ? {} : { host: this.props.iotDataEndpointHost }),
      ...(this.props.logRetention === undefined ? {} : { logRetention: this.props.logRetention }),
    });
    return this.iotDataEndpoint;
  }

  /** One queue for the stack: failed asynchronous invocations, kept 14 days for inspection and redrive. */
  private failureQueue(): Queue {
    this.asyncFailureQueue ??= new Queue(this, 'AsyncFailures', {
      enforceSSL: true,
      encryption: QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    return this.asyncFailureQueue;
  }

  private errorRole(): RuleErrorRole {
    this.ruleErrorRole ??= new RuleErrorRole(this, 'RuleErrorRole', {
      bucketArn: this.props.ruleErrors.arn,
      ruleNamePrefix: this.props.names.topicRulePrefix,
    });
    return this.ruleErrorRole;
  }
}
