import { type Environment, Tags } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CONSOLE_LOG_PREFIX } from '../constructs/console-site.ts';
import { kafkaResourceArn } from '../constructs/kafka-cluster.ts';
import type { ResourceRef } from '../constructs/resource-access.ts';
import type { Topology } from '../topology/model.ts';
import { topicIamPattern } from '../topology/topic-scope.ts';
import { validateSettings, validateTopology } from '../topology/validate.ts';
import { topology as fleetkitTopology } from '../topology.ts';
import { CONSOLE_BUCKET, ConsoleSiteStack, ConsoleStack } from './console-stack.ts';
import { DataStack } from './data-stack.ts';
import { EdgeStack, type EdgeStackProps } from './edge-stack.ts';
import { MonitoringStack } from './monitoring-stack.ts';
import { FleetkitNames, regionalArn } from './names.ts';
import { RuntimeStack } from './runtime-stack.ts';
import { StreamingStack } from './streaming-stack.ts';

/** Properties of {@link buildFleetkit}. */
export interface FleetkitProps {
  /** Deployment stage, part of every stack and physical name: `dev`, `prod`, `alice`. */
  readonly stage: string;
  /**
   * What to build.
   * @default - fleetkit's topology, `lib/topology.ts`
   */
  readonly topology?: Topology;
  /**
   * Account and region of every stack.
   * @default - environment-agnostic stacks
   */
  readonly env?: Environment;
  /** @default 'kafka.t3.small' */
  readonly mskInstanceType?: string;
  /** @default '3.9.x' */
  readonly kafkaVersion?: string;
  /** Retention of every log group; one of CloudWatch Logs' allowed values. @default 30 */
  readonly logRetentionDays?: number;
  /**
   * The account's IoT `Data-ATS` endpoint host.
   * @default - looked up at deploy time
   */
  readonly iotDataEndpointHost?: string;
  /**
   * The host of the TLS 1.3 device endpoint (the IoT domain configuration), when known.
   * @default - looked up at deploy time
   */
  readonly deviceEndpointHost?: string;
  /**
   * Overrides of function settings, e.g. `{ SHADOW_MAX_STATE_BYTES: '65536' }`. A key no function
   * declares is refused, so a typo cannot pass silently.
   * @default - the topology's defaults
   */
  readonly settings?: Readonly<Record<string, string>>;
  /**
   * An e-mail address subscribed to every alarm.
   * @default - none
   */
  readonly alarmEmail?: string;
  /**
   * Alarm thresholds, see `MonitoringStackProps`.
   * @default - the monitoring stack's defaults
   */
  readonly alarmThresholds?: {
    readonly fleetOnlinePercentBelow?: number;
    readonly alertsPer5MinutesAbove?: number;
    readonly consumerOffsetLagAbove?: number;
    readonly consumerErrorsPer5Minutes?: number;
    readonly iotAuthNErrorsPer5MinutesAbove?: number;
    readonly iotAuthZErrorsPer5MinutesAbove?: number;
  };
  /**
   * Configure IoT Core's account-wide logging (one per account and region) from this stage.
   * @default true
   */
  readonly iotAccountLogging?: boolean;
  /**
   * The edge agent's Greengrass component: built only with an artifact from `npm run build:edge`.
   * @default - no edge stack
   */
  readonly edge?: Omit<EdgeStackProps, 'names'>;
  /**
   * The operator console: a static site (S3 + CloudFront), Cognito sign-in, CORS on the HTTP API.
   * @default true
   */
  readonly console?: boolean;
  /**
   * More origins the console is served from (a custom domain in front of it), for CORS.
   * @default - the distribution's own
   */
  readonly consoleOrigins?: readonly string[];
}

/** The stacks of one stage. */
export interface Fleetkit {
  readonly names: FleetkitNames;
  readonly data: DataStack;
  readonly streaming: StreamingStack;
  readonly runtime: RuntimeStack;
  readonly monitoring: MonitoringStack;
  /** Present when the app was given an edge artifact. */
  readonly edge?: EdgeStack;
  /** The console's site and its sign-in, unless `console: false`. */
  readonly consoleSite?: ConsoleSiteStack;
  readonly console?: ConsoleStack;
}

function retention(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!allowed.includes(days)) {
    throw new Error(`logRetentionDays must be one of ${allowed.join(', ')}; got ${days}`);
  }
  return days as RetentionDays;
}

/**
 * MQTT topics, Kafka topics and the IoT registry are not CloudFormation resources of the data stack
 * (MQTT topics exist by being used, Kafka topics are created by the cluster on first use, the registry
 * is the account's); they only need a name and an ARN.
 */
function topicRefs(
  topology: Topology,
  names: FleetkitNames,
  clusterArn: string,
): Record<string, ResourceRef> {
  const refs: Record<string, ResourceRef> = {};
  for (const [name, resource] of Object.entries(topology.resources)) {
    if (resource.kind === 'topics') {
      refs[name] = {
        name,
        resource,
        physicalName: resource.filter,
        arn: names.topicArn(topicIamPattern(resource.filter)),
      };
    }
    if (resource.kind === 'things') {
      // The registry is the account's; the resource stands for the device policy functions attach.
      refs[name] = {
        name,
        resource,
        physicalName: names.devicePolicy,
        arn: regionalArn('iot', `policy/${names.devicePolicy}`),
      };
    }
    if (resource.kind === 'stream') {
      refs[name] = {
        name,
        resource,
        physicalName: resource.topic,
        arn: kafkaResourceArn(clusterArn, 'topic', resource.topic),
      };
    }
  }
  return refs;
}

/**
 * Builds one stage of fleetkit in `scope` (an App, or a Stage for several in one app): data, streaming,
 * runtime and monitoring stacks, named `fleetkit-<stage>-<part>`.
 *
 * The runtime stack depends on data and streaming, so functions and triggers can change without
 * touching stateful resources. It reaches data resources by name (see `FleetkitNames`), so the
 * dependency on the data stack is declared rather than inferred from exports. Monitoring depends on
 * runtime and finds functions, queues and rules by name too; only the HTTP API id is an export.
 */
export function buildFleetkit(scope: Construct, props: FleetkitProps): Fleetkit {
  const names = new FleetkitNames(props.stage);
  const topology = props.topology ?? fleetkitTopology;
  validateTopology(topology);
  const logRetention = retention(props.logRetentionDays ?? 30);
  validateSettings(topology, props.settings ?? {});
  const common = { names, ...(props.env === undefined ? {} : { env: props.env }) };

  const data = new DataStack(scope, 'Data', {
    ...common,
    stackName: names.stack('data'),
    description: 'fleetkit: tables and buckets (retained on delete)',
    topology,
    // The console uploads firmware with presigned PUTs. Its CloudFront domain comes later (its stack
    // follows this one), and S3 CORS takes a wildcard: any CloudFront origin, plus custom domains.
    ...(props.console === false
      ? {}
      : {
          browserUploadOrigins: ['https://*.cloudfront.net', ...(props.consoleOrigins ?? [])],
          accessLogSources: { [CONSOLE_LOG_PREFIX]: names.bucketArn(CONSOLE_BUCKET) },
        }),
  });
  const streaming = new StreamingStack(scope, 'Streaming', {
    ...common,
    stackName: names.stack('streaming'),
    description: 'fleetkit: VPC, MSK cluster and its topics',
    topology,
    logRetention,
    ...(props.mskInstanceType === undefined ? {} : { mskInstanceType: props.mskInstanceType }),
    ...(props.kafkaVersion === undefined ? {} : { kafkaVersion: props.kafkaVersion }),
  });
  const consoleSite =
    props.console === false
      ? undefined
      : new ConsoleSiteStack(scope, 'ConsoleSite', {
          ...common,
          stackName: names.stack('console-site'),
          description: "fleetkit: the operator console's static site (S3 + CloudFront)",
          accessLogsBucketName: data.accessLogsBucket.bucketName,
        });
  const consoleOrigins =
    consoleSite === undefined ? undefined : [consoleSite.exported.origin, ...(props.consoleOrigins ?? [])];
  const runtime = new RuntimeStack(scope, 'Runtime', {
    ...common,
    ...(consoleOrigins === undefined ? {} : { consoleOrigins }),
    stackName: names.stack('runtime'),
    description: 'fleetkit: functions, IoT rules, HTTP API, schedules, Kafka triggers, device policy',
    topology,
    resources: { ...data.refs, ...topicRefs(topology, names, streaming.kafka.clusterArn) },
    ruleErrors: data.ruleErrorsRef,
    streaming: {
      clusterArn: streaming.kafka.clusterArn,
      vpc: streaming.vpc,
      subnets: streaming.vpc.privateSubnets,
      clientSecurityGroup: streaming.kafka.clientSecurityGroup,
      awsApiSecurityGroup: streaming.awsApiSecurityGroup,
      bootstrapBrokersSaslScram: streaming.kafka.bootstrapBrokersSaslScram,
      scramSecret: {
        name: names.iotKafkaClientSecret,
        arn: streaming.kafkaCredentials.secret.secretArn,
        keyArn: streaming.kafka.scramSecretKey.keyArn,
      },
      ...(data.kafkaDlqRef === undefined ? {} : { kafkaDlq: data.kafkaDlqRef }),
    },
    logRetention,
    ...(props.iotDataEndpointHost === undefined ? {} : { iotDataEndpointHost: props.iotDataEndpointHost }),
    ...(props.deviceEndpointHost === undefined ? {} : { deviceEndpointHost: props.deviceEndpointHost }),
    ...(props.settings === undefined ? {} : { settings: props.settings }),
  });
  runtime.addStackDependency(data, 'functions use tables and buckets by name');
  runtime.addStackDependency(streaming, 'Kafka triggers consume from the MSK cluster');

  const monitoring = new MonitoringStack(scope, 'Monitoring', {
    ...common,
    stackName: names.stack('monitoring'),
    description: 'fleetkit: alarms, alarm topic and dashboard',
    topology,
    ...(runtime.httpApi === undefined ? {} : { httpApiId: runtime.httpApi.api.apiId }),
    asyncFailureQueue: runtime.asyncFailures !== undefined,
    kafka: { clusterName: streaming.kafka.clusterName, brokerCount: streaming.kafka.brokerCount },
    ...(data.kafkaDlqRef === undefined ? {} : { kafkaDlqBucketName: data.kafkaDlqRef.bucketName }),
    ...props.alarmThresholds,
    ...(props.iotAccountLogging === undefined ? {} : { iotAccountLogging: props.iotAccountLogging }),
    ...(props.alarmEmail === undefined ? {} : { alarmEmail: props.alarmEmail }),
  });
  monitoring.addStackDependency(runtime, 'alarms watch the functions, queues and rules it makes');

  const edge =
    props.edge === undefined
      ? undefined
      : new EdgeStack(scope, 'Edge', {
          ...common,
          ...props.edge,
          stackName: names.stack('edge'),
          description: 'fleetkit: the edge agent as a Greengrass v2 component version',
        });

  const consoleStack =
    consoleSite === undefined || runtime.httpApi === undefined
      ? undefined
      : new ConsoleStack(scope, 'Console', {
          ...common,
          stackName: names.stack('console'),
          description: "fleetkit: the operator console's sign-in (Cognito) and files",
          site: consoleSite.exported,
          httpApiId: runtime.exportValue(runtime.httpApi.api.apiId, {
            name: names.stack('runtime-http-api'),
          }),
          httpApiUrl: runtime.httpApi.url,
          routes: Object.values(topology.functions).flatMap((fn) => fn.routes ?? []),
          logRetention,
        });
  // Explicit exports are imported by name, which CDK does not count as a reference: order the stacks here.
  if (consoleSite !== undefined)
    runtime.addStackDependency(consoleSite, "CORS allows the console site's origin");
  if (consoleSite !== undefined && consoleStack !== undefined) {
    consoleStack.addStackDependency(consoleSite, 'the console files go to the site bucket');
    consoleStack.addStackDependency(runtime, 'operators signed in may invoke the HTTP API');
  }

  const stacks = [data, streaming, runtime, monitoring, edge, consoleSite, consoleStack].filter(
    (stack) => stack !== undefined,
  );
  for (const stack of stacks) Tags.of(stack).add('fleetkit:stage', names.stage);
  return {
    names,
    data,
    streaming,
    runtime,
    monitoring,
    ...(edge === undefined ? {} : { edge }),
    ...(consoleSite === undefined ? {} : { consoleSite }),
    ...(consoleStack === undefined ? {} : { console: consoleStack }),
  };
}
