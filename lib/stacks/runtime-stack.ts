import { ArnFormat, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ClaimProvisioning } from '../constructs/claim-provisioning.ts';
import { DeviceEndpoint, ThingTypes } from '../constructs/device-identity.ts';
import { DevicePolicy } from '../constructs/device-policy.ts';
import { DeviceTopicRule, RuleErrorRole } from '../constructs/device-topic-rule.ts';
import { FleetFunction } from '../constructs/fleet-function.ts';
import { FleetHttpApi } from '../constructs/http-routes.ts';
import { IotDataEndpoint } from '../constructs/iot-data-endpoint.ts';
import { KafkaConsumer } from '../constructs/kafka-consumer.ts';
import { grantResourceAccess, type ResourceRef } from '../constructs/resource-access.ts';
import { KafkaRuleDestination, StreamIngestRule } from '../constructs/stream-ingest-rule.ts';
import { accessLevel } from '../topology/access.ts';
import { functionEnv, invokeEnv, usesOf } from '../topology/env.ts';
import type { FunctionSpec, StreamIngest, StreamResource } from '../topology/model.ts';
import { consumeStrongReferences } from './names.ts';
import {
  KAFKA_SASL_MECHANISM,
  type KafkaTriggerRef,
  type RuntimeStackProps,
  type RuntimeStreaming,
} from './runtime-props.ts';

// The stack's props moved to runtime-props.ts; importers of this module keep their names.
export { KAFKA_SASL_MECHANISM, type KafkaTriggerRef, type RuntimeStackProps, type RuntimeStreaming };

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
  /** The topology's device types as IoT thing types, if it has any. */
  readonly thingTypes?: ThingTypes;
  /** Fleet provisioning templates by template name (the topology's `provisioningHooks`). */
  readonly provisioningTemplates: Readonly<Record<string, ClaimProvisioning>>;
  /** Ingest rules by topology ingest name. */
  readonly ingestRules: Readonly<Record<string, StreamIngestRule>>;
  /** Every Kafka trigger. */
  readonly kafkaTriggers: readonly KafkaTriggerRef[];

  private readonly props: RuntimeStackProps;
  private readonly triggers: KafkaTriggerRef[] = [];
  private kafkaRuleDestination?: KafkaRuleDestination;
  private asyncFailureQueue?: Queue;
  private iotDataEndpoint?: IotDataEndpoint;
  private devicesEndpoint?: DeviceEndpoint;
  private ruleErrorRole?: RuleErrorRole;

  constructor(scope: Construct, id: string, props: RuntimeStackProps) {
    super(scope, id, props);
    consumeStrongReferences(this);
    this.props = props;
    const { names, topology } = props;
    const functions: Record<string, FleetFunction> = {};
    for (const [name, spec] of Object.entries(topology.functions)) {
      functions[name] = this.addFunction(name, spec);
    }
    this.functions = functions;
    this.kafkaTriggers = this.triggers;

    const ingestRules: Record<string, StreamIngestRule> = {};
    const functionRuleNames = new Set(
      Object.entries(topology.functions).flatMap(([name, spec]) =>
        (spec.rules ?? []).map((_, i) => names.topicRule(name, i)),
      ),
    );
    for (const [name, ingest] of Object.entries(topology.ingest ?? {})) {
      const ruleName = names.topicRule(name, 0);
      if (functionRuleNames.has(ruleName)) {
        throw new Error(
          `ingest '${name}' would be IoT rule '${ruleName}', which a function's rule already is`,
        );
      }
      ingestRules[name] = this.addIngestRule(name, ruleName, ingest);
    }
    this.ingestRules = ingestRules;

    const routed = Object.entries(topology.functions).filter(([, spec]) => (spec.routes ?? []).length > 0);
    if (routed.length > 0) {
      const httpApi = new FleetHttpApi(this, 'HttpApi', {
        apiName: names.stack('api'),
        ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
        ...(props.consoleOrigins === undefined ? {} : { corsOrigins: props.consoleOrigins }),
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
    if (topology.deviceTypes !== undefined)
      this.thingTypes = new ThingTypes(this, 'ThingTypes', topology.deviceTypes);
    new CfnOutput(this, 'DevicePolicyName', {
      value: this.devicePolicy.policyName,
      exportName: `${names.stack('device-policy')}-name`,
    });
    this.provisioningTemplates = this.addProvisioningTemplates(functions);
  }

  /** A fleet provisioning template per provisioning hook, with the hook's function. */
  private addProvisioningTemplates(
    functions: Readonly<Record<string, FleetFunction>>,
  ): Record<string, ClaimProvisioning> {
    const { names, topology } = this.props;
    const templates: Record<string, ClaimProvisioning> = {};
    for (const [name, spec] of Object.entries(topology.functions)) {
      for (const hook of spec.provisioningHooks ?? []) {
        const { templateName, claimPolicyName } = names.provisioningTemplate(hook.template);
        const fn = functions[name];
        if (fn === undefined) continue;
        templates[hook.template] = new ClaimProvisioning(this, `${pascalCase(hook.template)}Provisioning`, {
          templateName,
          claimPolicyName,
          devicePolicyName: this.devicePolicy.policyName,
          thingTypes: Object.keys(topology.deviceTypes ?? {}),
          hook: fn.function,
        });
      }
    }
    return templates;
  }

  /** Failed asynchronous invocations (`names.asyncFailureQueue`), if any function is invoked asynchronously. */
  get asyncFailures(): Queue | undefined {
    return this.asyncFailureQueue;
  }

  private addFunction(name: string, spec: FunctionSpec): FleetFunction {
    const { names, topology } = this.props;
    const id = pascalCase(name);
    // Triggers that invoke asynchronously get retries and a dead-letter queue; the others answer a caller.
    const invokedAsync =
      (spec.rules ?? []).length > 0 || (spec.schedules ?? []).length > 0 || (spec.invokedBy ?? []).length > 0;
    const uses = usesOf(topology, spec);
    const streamUses = uses.filter((use) => use.resource.kind === 'stream');
    // Producers and consumers alike reach the brokers (IAM, port 9098) from the private subnets.
    const streaming = streamUses.length > 0 ? this.streaming(`function '${name}' uses streams`) : undefined;
    const fn = new FleetFunction(this, id, {
      handler: spec.handler,
      functionName: names.function(name),
      description: spec.description,
      ...(streaming === undefined
        ? {}
        : {
            network: {
              vpc: streaming.vpc,
              subnets: streaming.subnets,
              securityGroups: [streaming.clientSecurityGroup, streaming.awsApiSecurityGroup],
            },
          }),
      environment: {
        ...functionEnv(
          topology,
          spec,
          (resourceName) => this.resource(resourceName).physicalName,
          this.props.settings,
        ),
        // Publishers reach IoT Core's data plane at the account's endpoint, through the SDK's own variable.
        ...(uses.some((use) => use.resource.kind === 'topics')
          ? { AWS_ENDPOINT_URL_IOT_DATA_PLANE: this.dataEndpoint().url }
          : {}),
        // Provisioning hands devices the TLS 1.3 domain configuration, not the account's default endpoint.
        ...(uses.some((use) => use.resource.kind === 'things')
          ? { DEVICE_ENDPOINT: this.deviceEndpoint().host }
          : {}),
        // Brokers are resolved at cold start (kafka:GetBootstrapBrokers), so a broker change needs no deploy.
        ...(streaming === undefined
          ? {}
          : { MSK_CLUSTER_ARN: streaming.clusterArn, KAFKA_SASL_MECHANISM: KAFKA_SASL_MECHANISM }),
        // The functions it may start (`invokedBy`), by their deterministic names: no token, no cycle.
        ...invokeEnv(topology, name, (target) => names.function(target)),
        STAGE: names.stage,
      },
      ...(spec.memoryMiB === undefined ? {} : { memoryMiB: spec.memoryMiB }),
      ...(spec.timeoutSeconds === undefined ? {} : { timeoutSeconds: spec.timeoutSeconds }),
      ...(this.props.logRetention === undefined ? {} : { logRetention: this.props.logRetention }),
      ...(invokedAsync ? { retryAttempts: 2, deadLetterQueue: this.failureQueue() } : {}),
    });
    for (const use of uses) grantResourceAccess(fn.role, this.resource(use.name), use.access);
    // Only the unqualified function, by name: `grantInvoke` would add its versions too (`:*`).
    const targets = Object.entries(topology.functions).filter(([, target]) =>
      (target.invokedBy ?? []).includes(name),
    );
    if (targets.length > 0)
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: targets.map(([target]) =>
            Stack.of(this).formatArn({
              service: 'lambda',
              resource: 'function',
              resourceName: names.function(target),
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ),
        }),
      );
    if (streaming !== undefined) {
      // https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html#kafka-actions
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: [
            'kafka-cluster:Connect',
            // An idempotent producer (kafkajs `idempotent: true`) asks the cluster for a producer id.
            ...(streamUses.some((use) => accessLevel(use.access) !== 'read')
              ? ['kafka-cluster:WriteDataIdempotently']
              : []),
          ],
          resources: [streaming.clusterArn],
        }),
      );
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['kafka:GetBootstrapBrokers'], resources: [streaming.clusterArn] }),
      );
    }

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
      const { clusterArn, kafkaDlq } = this.streaming(
        `function '${name}' has a Kafka trigger on '${trigger.topic}'`,
      );
      const stream = Object.values(topology.resources).find(
        (r): r is StreamResource => r.kind === 'stream' && r.topic === trigger.topic,
      );
      const consumer = new KafkaConsumer(this, nth(`${id}Kafka`, i), {
        function: fn.function,
        role: fn.role,
        clusterArn,
        trigger,
        consumerGroupId: names.kafkaConsumerGroup(name, trigger.topic),
        partitions: stream?.partitions ?? 1,
        ...(kafkaDlq === undefined
          ? {}
          : { onFailure: { bucketArn: kafkaDlq.arn, pollerGroupName: names.kafkaPollerGroup } }),
      });
      this.triggers.push({ functionName: name, topic: trigger.topic, consumer });
    });
    return fn;
  }

  private addIngestRule(name: string, ruleName: string, ingest: StreamIngest): StreamIngestRule {
    const stream = this.resource(ingest.stream);
    if (stream.resource.kind !== 'stream') {
      throw new Error(`ingest '${name}': '${ingest.stream}' is not a stream resource`);
    }
    return new StreamIngestRule(this, `${pascalCase(name)}Ingest`, {
      ruleName,
      ingest,
      topic: stream.resource.topic,
      destination: this.ruleDestination(`ingest '${name}' appends to stream '${ingest.stream}'`),
      errorBucketName: this.props.ruleErrors.bucketName,
      errorRole: this.errorRole(),
    });
  }

  private streaming(why: string): RuntimeStreaming {
    const streaming = this.props.streaming;
    if (streaming === undefined) throw new Error(`${why}, but the runtime stack was given no streaming`);
    return streaming;
  }

  /** One VPC rule destination for every Kafka rule action of the stack. */
  private ruleDestination(why: string): KafkaRuleDestination {
    if (this.kafkaRuleDestination === undefined) {
      const streaming = this.streaming(why);
      this.kafkaRuleDestination = new KafkaRuleDestination(this, 'KafkaRuleDestination', {
        vpcId: streaming.vpc.vpcId,
        subnetIds: streaming.subnets.map((subnet) => subnet.subnetId),
        securityGroupIds: [streaming.clientSecurityGroup.securityGroupId],
        bootstrapServers: streaming.bootstrapBrokersSaslScram,
        scramSecretName: streaming.scramSecret.name,
        scramSecretArn: streaming.scramSecret.arn,
        scramSecretKeyArn: streaming.scramSecret.keyArn,
        ruleNamePrefix: this.props.names.topicRulePrefix,
      });
    }
    return this.kafkaRuleDestination;
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

  private deviceEndpoint(): DeviceEndpoint {
    this.devicesEndpoint ??= new DeviceEndpoint(this, 'DeviceEndpoint', {
      domainConfigurationName: this.props.names.deviceDomainConfiguration,
      ...(this.props.deviceEndpointHost === undefined ? {} : { host: this.props.deviceEndpointHost }),
      ...(this.props.logRetention === undefined ? {} : { logRetention: this.props.logRetention }),
    });
    return this.devicesEndpoint;
  }

  /** One queue for the stack: failed asynchronous invocations, kept 14 days for inspection and redrive. */
  private failureQueue(): Queue {
    this.asyncFailureQueue ??= new Queue(this, 'AsyncFailures', {
      queueName: this.props.names.asyncFailureQueue,
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
