import { type Environment, Tags } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { kafkaResourceArn } from '../constructs/kafka-cluster.ts';
import type { ResourceRef } from '../constructs/resource-access.ts';
import type { Topology } from '../topology/model.ts';
import { validateSettings, validateTopology } from '../topology/validate.ts';
import { topology as fleetkitTopology } from '../topology.ts';
import { DataStack } from './data-stack.ts';
import { FleetkitNames } from './names.ts';
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
   * Overrides of function settings, e.g. `{ SHADOW_MAX_STATE_BYTES: '65536' }`. A key no function
   * declares is refused, so a typo cannot pass silently.
   * @default - the topology's defaults
   */
  readonly settings?: Readonly<Record<string, string>>;
}

/** The stacks of one stage. */
export interface Fleetkit {
  readonly names: FleetkitNames;
  readonly data: DataStack;
  readonly streaming: StreamingStack;
  readonly runtime: RuntimeStack;
}

function retention(days: number): RetentionDays {
  const allowed = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number');
  if (!allowed.includes(days)) {
    throw new Error(`logRetentionDays must be one of ${allowed.join(', ')}; got ${days}`);
  }
  return days as RetentionDays;
}

/**
 * MQTT topics and Kafka topics are not CloudFormation resources (MQTT topics exist by being used, Kafka
 * topics are created by the cluster on first use); they only need a name and an ARN.
 */
function topicRefs(
  topology: Topology,
  names: FleetkitNames,
  clusterArn: string,
): Record<string, ResourceRef> {
  const refs: Record<string, ResourceRef> = {};
  for (const [name, resource] of Object.entries(topology.resources)) {
    if (resource.kind === 'topics') {
      refs[name] = { name, resource, physicalName: resource.prefix, arn: names.topicArn(resource.prefix) };
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
 * Builds one stage of fleetkit in `scope` (an App, or a Stage for several in one app): data, streaming
 * and runtime stacks, named `fleetkit-<stage>-<part>`.
 *
 * The runtime stack depends on the other two and nothing depends on it, so functions and triggers can
 * change without touching stateful resources. It reaches data resources by name (see `FleetkitNames`),
 * so the dependency on the data stack is declared rather than inferred from exports.
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
  });
  const streaming = new StreamingStack(scope, 'Streaming', {
    ...common,
    stackName: names.stack('streaming'),
    description: 'fleetkit: VPC and MSK cluster',
    logRetention,
    ...(props.mskInstanceType === undefined ? {} : { mskInstanceType: props.mskInstanceType }),
    ...(props.kafkaVersion === undefined ? {} : { kafkaVersion: props.kafkaVersion }),
  });
  const runtime = new RuntimeStack(scope, 'Runtime', {
    ...common,
    stackName: names.stack('runtime'),
    description: 'fleetkit: functions, IoT rules, HTTP API, schedules, Kafka triggers, device policy',
    topology,
    resources: { ...data.refs, ...topicRefs(topology, names, streaming.kafka.clusterArn) },
    ruleErrors: data.ruleErrorsRef,
    kafkaClusterArn: streaming.kafka.clusterArn,
    logRetention,
    ...(props.iotDataEndpointHost === undefined ? {} : { iotDataEndpointHost: props.iotDataEndpointHost }),
    ...(props.settings === undefined ? {} : { settings: props.settings }),
  });
  runtime.addStackDependency(data, 'functions use tables and buckets by name');
  runtime.addStackDependency(streaming, 'Kafka triggers consume from the MSK cluster');

  for (const stack of [data, streaming, runtime]) {
    Tags.of(stack).add('fleetkit:stage', names.stage);
  }
  return { names, data, streaming, runtime };
}
