import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FLEET_ARCHITECTURE, FLEET_BUNDLING, FLEET_RUNTIME } from './bundling.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/** The repository root: `lambdas/handlers/` and `package-lock.json` live there. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where a function in a VPC runs. */
export interface FleetFunctionNetwork {
  readonly vpc: IVpc;
  /** Private subnets with a route to AWS APIs. */
  readonly subnets: readonly ISubnet[];
  readonly securityGroups: readonly ISecurityGroup[];
}

/**
 * What Lambda needs of the execution role to attach a function to a VPC, written out instead of the
 * AWS managed AWSLambdaVPCAccessExecutionRole (which would also allow writing to every log group)
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions).
 */
export const VPC_ENI_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

/** Properties of a {@link FleetFunction}. */
export interface FleetFunctionProps {
  /** Folder under `lambdas/handlers/` whose `index.ts` exports `handler`. */
  readonly handler: string;
  /**
   * The function's name, and its role's (a key policy can then name the role before it exists).
   * @default - names CloudFormation generates
   */
  readonly functionName?: string;
  /**
   * Runs the function in these private subnets with these security groups.
   * @default - not in a VPC
   */
  readonly network?: FleetFunctionNetwork;
  /**
   * @default - no description
   */
  readonly description?: string;
  /**
   * Environment variables, besides `NODE_OPTIONS` which is always set for source maps.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /** @default 256 */
  readonly memoryMiB?: number;
  /** @default 10 */
  readonly timeoutSeconds?: number;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * Where asynchronous invocations go once retries are spent.
   * @default - no dead-letter queue
   */
  readonly deadLetterQueue?: IQueue;
  /**
   * Retries of a failed asynchronous invocation (0-2).
   * @default - Lambda's default, 2
   */
  readonly retryAttempts?: number;
  /**
   * Folder holding `lambdas/handlers/` and `package-lock.json`.
   * @default - this repository's root
   */
  readonly projectRoot?: string;
}

function checkWhole(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number in ${min}..${max}; got ${value}`);
  }
}

/**
 * fleetkit's one place for Lambda defaults: a bundled ESM handler on Node 24 / arm64, X-Ray tracing,
 * source maps, its own log group with retention, and an explicit role that starts empty.
 *
 * The role has no AWS managed policy (AWSLambdaBasicExecutionRole would allow writing to every log
 * group); it may write to its own log group and nothing else until the caller grants more.
 */
export class FleetFunction extends Construct {
  /** The Lambda function. */
  readonly function: NodejsFunction;
  /** Its execution role; grant through it. */
  readonly role: Role;
  /** Where the function logs. */
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: FleetFunctionProps) {
    super(scope, id);
    const memoryMiB = props.memoryMiB ?? 256;
    const timeoutSeconds = props.timeoutSeconds ?? 10;
    checkWhole('memoryMiB', memoryMiB, 128, 10_240);
    checkWhole('timeoutSeconds', timeoutSeconds, 1, 900);
    if (props.retryAttempts !== undefined) checkWhole('retryAttempts', props.retryAttempts, 0, 2);
    const projectRoot = props.projectRoot ?? REPO_ROOT;
    const entry = join(projectRoot, 'lambdas', 'handlers', props.handler, 'index.ts');
    if (!existsSync(entry)) {
      throw new Error(`handler '${props.handler}' has no entry: expected ${entry}`);
    }

    this.role = new Role(this, 'Role', {
      // Named as the function: a KMS key policy names its signer roles by ARN (issue 12).
      ...(props.functionName === undefined ? {} : { roleName: props.functionName }),
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.handler}`,
    });
    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    this.logGroup.grantWrite(this.role);
    const { network } = props;
    if (network !== undefined) {
      if (network.subnets.length === 0) throw new Error(`function ${props.handler}: network needs subnets`);
      // In the default policy, which the function depends on: Lambda checks these when it creates it.
      this.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: [...VPC_ENI_ACTIONS], resources: ['*'] }),
      );
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry,
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      handler: 'handler',
      ...(props.functionName === undefined ? {} : { functionName: props.functionName }),
      ...(network === undefined
        ? {}
        : {
            vpc: network.vpc,
            vpcSubnets: { subnets: [...network.subnets] },
            securityGroups: [...network.securityGroups],
          }),
      runtime: FLEET_RUNTIME,
      architecture: FLEET_ARCHITECTURE,
      memorySize: memoryMiB,
      timeout: Duration.seconds(timeoutSeconds),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      ...(props.description === undefined ? {} : { description: props.description }),
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      ...(props.deadLetterQueue === undefined ? {} : { deadLetterQueue: props.deadLetterQueue }),
      ...(props.retryAttempts === undefined ? {} : { retryAttempts: props.retryAttempts }),
      bundling: FLEET_BUNDLING,
    });

    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy !== undefined) {
      acknowledgeWildcardResource(
        defaultPolicy,
        '*',
        'xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) support no ' +
          'resource-level permissions; AWS documents them on "*" only.' +
          (network === undefined
            ? ''
            : ' In a VPC, so do the EC2 Describe actions Lambda uses, and the network interfaces it ' +
              'creates, assigns addresses to and deletes have ids unknown until it makes them: the six ' +
              "EC2 actions of AWS's VPC execution role, and no other."),
      );
    }
  }
}
