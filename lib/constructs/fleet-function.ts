import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag.ts';

/** The repository root: `lambdas/handlers/` and `package-lock.json` live there. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * esbuild's ESM output has no `require`; a bundled CommonJS dependency that calls it (the AWS SDK
 * does, for Node built-ins) needs one made from `import.meta.url`.
 */
const ESM_REQUIRE_BANNER =
  "import { createRequire as __fleetkitCreateRequire } from 'node:module'; const require = __fleetkitCreateRequire(import.meta.url);";

/** Properties of a {@link FleetFunction}. */
export interface FleetFunctionProps {
  /** Folder under `lambdas/handlers/` whose `index.ts` exports `handler`. */
  readonly handler: string;
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
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.handler}`,
    });
    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry,
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: memoryMiB,
      timeout: Duration.seconds(timeoutSeconds),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      ...(props.description === undefined ? {} : { description: props.description }),
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      ...(props.deadLetterQueue === undefined ? {} : { deadLetterQueue: props.deadLetterQueue }),
      ...(props.retryAttempts === undefined ? {} : { retryAttempts: props.retryAttempts }),
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: ESM_REQUIRE_BANNER,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The SDK is bundled so the code that runs is the version the tests ran, not the runtime's copy.
        bundleAwsSDK: true,
        forceDockerBundling: false,
      },
    });

    const defaultPolicy = this.role.node.tryFindChild('DefaultPolicy');
    if (defaultPolicy !== undefined) {
      acknowledgeWildcardResource(
        defaultPolicy,
        '*',
        'xray:PutTraceSegments and xray:PutTelemetryRecords (added by active tracing) support no ' +
          'resource-level permissions; AWS documents them on "*" only.',
      );
    }
  }
}
