import { Aws, CfnOutput, DockerImage, Stack, type StackProps } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import { ConsoleAuth } from '../constructs/console-auth.ts';
import { ConsoleSite } from '../constructs/console-site.ts';
import { acknowledgeWildcardResource } from '../constructs/nag.ts';
import { CONSOLE_SOURCE_DIR, writeConsoleSync } from '../local/console/build.ts';
import type { FleetkitNames } from './names.ts';

/** Properties of the {@link ConsoleSiteStack}. */
export interface ConsoleSiteStackProps extends StackProps {
  readonly names: FleetkitNames;
  /** The data stack's server access log bucket, by name. */
  readonly accessLogsBucketName: string;
}

/**
 * The console's static site: its bucket and CloudFront distribution. A stack of its own, before the
 * runtime stack, because the HTTP API allows the site's origin in its CORS rules and the site's files
 * (the console stack) need the API's URL: one order that makes no reference cycle.
 */
export class ConsoleSiteStack extends Stack {
  readonly site: ConsoleSite;

  constructor(scope: Construct, id: string, props: ConsoleSiteStackProps) {
    super(scope, id, props);
    this.site = new ConsoleSite(this, 'Site', {
      accessLogsBucket: Bucket.fromBucketName(this, 'AccessLogs', props.accessLogsBucketName),
    });
    new CfnOutput(this, 'ConsoleUrl', { value: `${this.site.origin}/` });
  }
}

/** Properties of the {@link ConsoleStack}. */
export interface ConsoleStackProps extends StackProps {
  readonly names: FleetkitNames;
  readonly site: ConsoleSite;
  readonly httpApiId: string;
  readonly httpApiUrl: string;
  /** The API's routes (the topology's), for the console to offer only what exists. */
  readonly routes: readonly string[];
  readonly logRetention: RetentionDays;
}

/**
 * The console's sign-in (Cognito) and its files: the bundle built by esbuild at synth (CDK local
 * bundling, `lib/local/console/build.ts`) and a `config.json` naming the API and the Cognito pools,
 * written to the site bucket, the distribution's cache invalidated.
 */
export class ConsoleStack extends Stack {
  readonly auth: ConsoleAuth;

  constructor(scope: Construct, id: string, props: ConsoleStackProps) {
    super(scope, id, props);
    const { site } = props;
    this.auth = new ConsoleAuth(this, 'Auth', {
      siteOrigin: site.origin,
      httpApiId: props.httpApiId,
      domainPrefix: `${props.names.stack('console')}-${Aws.ACCOUNT_ID}`,
    });
    const config = {
      mode: 'aws',
      region: Aws.REGION,
      apiUrl: props.httpApiUrl,
      userPoolClientId: this.auth.client.userPoolClientId,
      cognitoDomain: this.auth.domain.baseUrl(),
      userPoolProviderName: this.auth.userPool.userPoolProviderName,
      identityPoolId: this.auth.identityPool.identityPoolId,
      routes: props.routes,
    };

    // A role of our own for the deployment's function: the construct's default carries an AWS managed policy.
    const logs = new LogGroup(this, 'DeployLogs', { retention: props.logRetention });
    const role = new Role(this, 'DeployRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`${logs.logGroupArn}`],
      }),
    );
    const files = Source.asset(CONSOLE_SOURCE_DIR, {
      exclude: ['dist', 'out', 'tsconfig.json'],
      bundling: {
        // Bundled here with esbuild; the image is only what CDK would fall back to without Node.
        image: DockerImage.fromRegistry('node:20-slim'),
        local: {
          tryBundle(outputDir) {
            writeConsoleSync(outputDir);
            return true;
          },
        },
      },
    });
    const deployment = new BucketDeployment(this, 'Files', {
      sources: [files, Source.jsonData('config.json', config)],
      destinationBucket: site.bucket,
      distribution: site.distribution,
      distributionPaths: ['/*'],
      role,
      logGroup: logs,
    });
    acknowledgeWildcardResource(
      role.node.findChild('DefaultPolicy'),
      `${logs.logGroupArn}`,
      "CloudFormation's ARN of a log group ends in ':*' (its streams): the deployment function writes only to its own log group.",
    );
    for (const resource of [`${site.bucket.bucketArn}/*`]) {
      acknowledgeWildcardResource(
        role.node.findChild('DefaultPolicy'),
        resource,
        'The deployment copies the console files into the site bucket and removes stale ones: every object of that one bucket.',
      );
    }
    deployment.node.addDependency(this.auth);
    new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
  }
}
