import { type Environment, Tags } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { Topology } from '../topology/model.ts';
import { validateTopology } from '../topology/validate.ts';
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
    resources: data.refs,
    ruleErrors: data.ruleErrorsRef,
    kafkaClusterArn: streaming.kafka.clusterArn,
    logRetention,
  });
  runtime.addStackDependency(data, 'functions use tables and buckets by name');
  runtime.addStackDependency(streaming, 'Kafka triggers consume from the MSK cluster');

  for (const stack of [data, streaming, runtime]) {
    Tags.of(stack).add('fleetkit:stage', names.stage);
  }
  return { names, data, streaming, runtime };
}
