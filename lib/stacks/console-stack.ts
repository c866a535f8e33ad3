import { Aws, CfnOutput, DockerImage, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Distribution } from 'aws-cdk-lib/aws-cloudfront';
import { type Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import { ConsoleAuth } from '../constructs/console-auth.ts';
import { ConsoleSite } from '../constructs/console-site.ts';
import { acknowledgeWildcardActions, acknowledgeWildcardResource, nagRender } from '../constructs/nag.ts';
import { CONSOLE_SOURCE_DIR, writeConsoleSync } from '../local/console/build.ts';
import type { FleetkitNames } from './names.ts';

/** The site bucket's resource name (`fleetkit-<stage>-console-<account>-<region>`). */
export const CONSOLE_BUCKET = 'console';

/** Properties of the {@link ConsoleSiteStack}. */
export interface ConsoleSiteStackProps extends StackProps {
  readonly names: FleetkitNames;
  /** The data stack's server access log bucket, by name. */
  readonly accessLogsBucketName: string;
}

/**
 * The site as other stacks see it: `Fn::ImportValue`s of exports with stable names. Explicit exports
 * rather than CDK's automatic ones, so the names in the importing policies (and their cdk-nag
 * acknowledgements) are known at construction and do not change with construct paths.
 */
export interface ExportedConsoleSite {
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly distributionId: string;
  readonly domainName: string;
  /** `https://<id>.cloudfront.net`. */
  readonly origin: string;
}

/**
 * The console's static site: its bucket and CloudFront distribution. A stack of its own, before the
 * runtime stack, because the HTTP API allows the site's origin in its CORS rules and the site's files
 * (the console stack) need the API's URL: one order that makes no reference cycle.
 */
export class ConsoleSiteStack extends Stack {
  readonly site: ConsoleSite;
  readonly exported: ExportedConsoleSite;

  constructor(scope: Construct, id: string, props: ConsoleSiteStackProps) {
    super(scope, id, props);
    this.site = new ConsoleSite(this, 'Site', {
      bucketName: props.names.bucket(CONSOLE_BUCKET),
      accessLogsBucket: Bucket.fromBucketName(this, 'AccessLogs', props.accessLogsBucketName),
    });
    const name = (part: string) => `${props.names.stack('console-site')}-${part}`;
    const domainName = this.exportValue(this.site.distribution.distributionDomainName, {
      name: name('domain'),
    });
    this.exported = {
      bucketName: this.exportValue(this.site.bucket.bucketName, { name: name('bucket') }),
      bucketArn: this.exportValue(this.site.bucket.bucketArn, { name: name('bucket-arn') }),
      distributionId: this.exportValue(this.site.distribution.distributionId, {
        name: name('distribution'),
      }),
      domainName,
      origin: `https://${domainName}`,
    };
    new CfnOutput(this, 'ConsoleUrl', { value: `${this.site.origin}/` });
  }
}

/** Properties of the {@link ConsoleStack}. */
export interface ConsoleStackProps extends StackProps {
  readonly names: FleetkitNames;
  readonly site: ExportedConsoleSite;
  /** The HTTP API's id, imported (see {@link ExportedConsoleSite} for why). */
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
  readonly deployment: BucketDeployment;

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
        resources: [logs.logGroupArn],
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
    const bucket = Bucket.fromBucketAttributes(this, 'SiteBucket', {
      bucketName: site.bucketName,
      bucketArn: site.bucketArn,
    });
    this.deployment = new BucketDeployment(this, 'Files', {
      sources: [files, Source.jsonData('config.json', config)],
      destinationBucket: bucket,
      distribution: Distribution.fromDistributionAttributes(this, 'SiteDistribution', {
        distributionId: site.distributionId,
        domainName: site.domainName,
      }),
      distributionPaths: ['/*'],
      role,
      logGroup: logs,
    });
    this.deployment.node.addDependency(this.auth);
    this.acknowledgeDeployment(role, site.bucketArn);
    new CfnOutput(this, 'UserPoolId', { value: this.auth.userPool.userPoolId });
  }

  /** The grants and function `BucketDeployment` makes itself, each with why it stays. */
  private acknowledgeDeployment(role: Role, siteBucketArn: string): void {
    const policy = role.node.findChild('DefaultPolicy') as Policy;
    // The bootstrap asset bucket's objects, as the grant spells them (qualifier, partition and region
    // depend on the synth's environment and context): read from the policy itself.
    const document = this.resolve(policy.document) as { Statement: Array<{ Resource: unknown }> };
    const assetObjects = document.Statement.flatMap((s) => [s.Resource].flat())
      .map(nagRender)
      .filter((resource) => /:s3:::cdk-[a-z0-9]+-assets-.*\/\*$/.test(resource));
    Validations.of(policy).acknowledge(
      ...assetObjects.map((resource) => ({
        id: `AwsSolutions-IAM5[Resource::${resource}]`,
        reason:
          "BucketDeployment reads the console's zipped files from the CDK bootstrap asset bucket; the object key is a content hash known only after synth.",
      })),
    );
    acknowledgeWildcardResource(
      policy,
      `${siteBucketArn}/*`,
      'The deployment copies the console files into the site bucket and removes stale ones: every object of that one bucket.',
    );
    acknowledgeWildcardResource(
      policy,
      '*',
      'CloudFront invalidations: BucketDeployment grants cloudfront:CreateInvalidation and GetInvalidation on * (the invalidation ids are not known before they exist); the function invalidates only the console distribution.',
    );
    acknowledgeWildcardActions(
      policy,
      ['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'],
      "BucketDeployment's own grants (read the asset, sync the site bucket, delete files no longer in the build); scoped to the asset bucket and the site bucket.",
    );
    const handler = this.node.children.find((child) =>
      child.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (handler === undefined) throw new Error('BucketDeployment made no function in the console stack');
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        "BucketDeployment's function runtime (Python, with the AWS CLI layer) is chosen by aws-cdk-lib and moves forward when aws-cdk-lib is upgraded.",
    });
  }
}
