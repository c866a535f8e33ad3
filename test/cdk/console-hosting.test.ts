import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFleetkit, type Fleetkit } from '../../lib/stacks/fleetkit-app.ts';
import { flat } from './stream-topology.ts';

/** The feature flags `cdk synth` uses, so the test synthesizes what deploys. */
const CDK_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;

/** Placeholder bundling (no esbuild run) keeps this file fast; the console's build has its own tests. */
function synth(props: { console?: boolean } = {}): Fleetkit {
  const app = new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  return buildFleetkit(app, { stage: 'test', ...props });
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Principal?: unknown;
  Resource: unknown;
  Condition?: unknown;
}

function statements(template: Template, type: 'AWS::IAM::Policy' | 'AWS::S3::BucketPolicy'): Statement[] {
  return Object.values(template.findResources(type)).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );
}

const SITE_DOMAIN = '<import fleetkit-test-console-site-domain>';
const SITE_BUCKET_NAME = 'fleetkit-test-console-<AWS::AccountId>-<AWS::Region>';

let fleetkit: Fleetkit;
let site: Template;
let consoleStack: Template;

beforeAll(() => {
  fleetkit = synth();
  if (fleetkit.consoleSite === undefined || fleetkit.console === undefined) {
    throw new Error('the console stacks are missing');
  }
  site = Template.fromStack(fleetkit.consoleSite);
  consoleStack = Template.fromStack(fleetkit.console);
});

/**
 * Issue 13, item 1: the console deployed as a static site (S3 + CloudFront with origin access control)
 * that calls the same HTTP API, operators signing in through Cognito and signing calls with IAM credentials.
 */
describe('console site (S3 + CloudFront)', () => {
  it('keeps the bucket private: no website endpoint, every public access blocked, TLS only', () => {
    site.resourceCountIs('AWS::S3::Bucket', 1);
    const [bucket] = Object.values(site.findResources('AWS::S3::Bucket'));
    expect(bucket?.Properties.WebsiteConfiguration).toBeUndefined();
    expect(flat(bucket?.Properties.BucketName)).toBe(SITE_BUCKET_NAME);
    expect(bucket?.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket?.Properties.LoggingConfiguration.LogFilePrefix).toBe('console/');
  });

  it('lets only its own distribution read, through origin access control (no origin access identity)', () => {
    site.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: {
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      },
    });
    const [distributionId] = Object.keys(site.findResources('AWS::CloudFront::Distribution'));
    const [oacId] = Object.keys(site.findResources('AWS::CloudFront::OriginAccessControl'));
    const [distribution] = Object.values(site.findResources('AWS::CloudFront::Distribution'));
    const origins = distribution?.Properties.DistributionConfig.Origins;
    expect(origins).toHaveLength(1);
    expect(origins[0].OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
    expect(origins[0].S3OriginConfig.OriginAccessIdentity).toBe('');

    const allows = statements(site, 'AWS::S3::BucketPolicy').filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]?.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(allows[0]?.Action).toBe('s3:GetObject');
    const condition = (allows[0]?.Condition ?? {}) as Record<string, Record<string, unknown>>;
    expect(flat(condition.StringEquals?.['AWS:SourceArn'])).toBe(
      `arn:<AWS::Partition>:cloudfront::<AWS::AccountId>:distribution/<${distributionId}>`,
    );
  });

  it('serves HTTPS only, index.html at the root, under a policy that runs only its own script', () => {
    const [distribution] = Object.values(site.findResources('AWS::CloudFront::Distribution'));
    const config = distribution?.Properties.DistributionConfig;
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    const [headers] = Object.values(site.findResources('AWS::CloudFront::ResponseHeadersPolicy'));
    const security = headers?.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    const csp = flat(security.ContentSecurityPolicy.ContentSecurityPolicy);
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain('connect-src');
    expect(csp).not.toMatch(/unsafe-(inline|eval)/);
    expect(security.FrameOptions.FrameOption).toBe('DENY');
  });

  it("lets the site bucket's access logs into the stage's log bucket", () => {
    const data = Template.fromStack(fleetkit.data);
    const logging = statements(data, 'AWS::S3::BucketPolicy').filter(
      (s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'logging.s3.amazonaws.com' }),
    );
    const forConsole = logging.filter((s) => flat(s.Resource).endsWith('/console/*'));
    expect(forConsole).toHaveLength(1);
    const condition = forConsole[0]?.Condition as Record<string, Record<string, unknown>>;
    expect(flat(condition.ArnLike?.['aws:SourceArn'])).toBe(`arn:<AWS::Partition>:s3:::${SITE_BUCKET_NAME}`);
    expect(flat(condition.StringEquals?.['aws:SourceAccount'])).toBe('<AWS::AccountId>');
  });
});

describe('console sign-in (Cognito)', () => {
  it('has operators created by an administrator, with MFA', () => {
    consoleStack.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
    });
  });

  it('signs in with the code flow (PKCE, no client secret) and returns only to the site', () => {
    const [client] = Object.values(consoleStack.findResources('AWS::Cognito::UserPoolClient'));
    const props = client?.Properties;
    expect(props.GenerateSecret).toBe(false);
    expect(props.AllowedOAuthFlows).toEqual(['code']);
    expect(props.CallbackURLs.map(flat)).toEqual([`https://${SITE_DOMAIN}/`]);
    expect(props.LogoutURLs.map(flat)).toEqual([`https://${SITE_DOMAIN}/`]);
  });

  it('gives signed-in operators credentials that may invoke this HTTP API and nothing else', () => {
    consoleStack.hasResourceProperties('AWS::Cognito::IdentityPool', {
      AllowUnauthenticatedIdentities: false,
    });
    const [attachment] = Object.values(
      consoleStack.findResources('AWS::Cognito::IdentityPoolRoleAttachment'),
    );
    const authenticatedRole = attachment?.Properties.Roles.authenticated['Fn::GetAtt'][0];
    const policies = Object.values(consoleStack.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(`"${authenticatedRole}"`),
    );
    const granted = policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    expect(granted.map((s) => [s.Action, flat(s.Resource)])).toEqual([
      [
        'execute-api:Invoke',
        'arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<import fleetkit-test-runtime-http-api>/$default/*',
      ],
    ]);
    // The runtime stack exports the id under that name.
    const runtime = Template.fromStack(fleetkit.runtime);
    runtime.hasOutput('*', { Export: { Name: 'fleetkit-test-runtime-http-api' } });
  });

  it("writes the console's files and a config.json naming the API and the pools to the site bucket", () => {
    const [deployment] = Object.values(consoleStack.findResources('Custom::CDKBucketDeployment'));
    const props = deployment?.Properties;
    expect(flat(props.DestinationBucketName)).toBe('<import fleetkit-test-console-site-bucket>');
    expect(flat(props.DistributionId)).toBe('<import fleetkit-test-console-site-distribution>');
    expect(props.DistributionPaths).toEqual(['/*']);
    // Two sources: the bundle (an asset) and config.json, whose values CloudFormation fills in.
    expect(props.SourceObjectKeys).toHaveLength(2);
    const filledIn = Object.values(props.SourceMarkers[1] as Record<string, unknown>).map(flat);
    const idOf = (type: string) => Object.keys(consoleStack.findResources(type))[0];
    expect(filledIn).toEqual(
      expect.arrayContaining([
        `<${idOf('AWS::Cognito::UserPoolClient')}>`,
        `<${idOf('AWS::Cognito::UserPoolDomain')}>`,
        `<${idOf('AWS::Cognito::UserPool')}.ProviderName>`,
        `<${idOf('AWS::Cognito::IdentityPool')}>`,
      ]),
    );
    expect(filledIn.some((value) => value.startsWith('<import fleetkit-test-runtime:'))).toBe(true);
  });
});

describe('the API and the firmware bucket, seen from the console', () => {
  it("answers CORS preflights from the site's origin for signed calls", () => {
    const runtime = Template.fromStack(fleetkit.runtime);
    const [api] = Object.values(runtime.findResources('AWS::ApiGatewayV2::Api'));
    const cors = api?.Properties.CorsConfiguration;
    expect(cors.AllowOrigins.map(flat)).toEqual([`https://${SITE_DOMAIN}`]);
    expect(cors.AllowHeaders).toEqual(
      expect.arrayContaining(['authorization', 'x-amz-date', 'x-amz-security-token', 'content-type']),
    );
    // Signed with SigV4, not cookies: no credentials mode.
    expect(cors.AllowCredentials).toBeUndefined();
  });

  it('lets pages on CloudFront PUT presigned uploads to the firmware bucket', () => {
    const data = Template.fromStack(fleetkit.data);
    data.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      CorsConfiguration: {
        CorsRules: [
          Match.objectLike({ AllowedMethods: ['PUT'], AllowedOrigins: ['https://*.cloudfront.net'] }),
        ],
      },
    });
  });

  it('makes none of it with console: false', () => {
    const without = synth({ console: false });
    expect(without.consoleSite).toBeUndefined();
    expect(without.console).toBeUndefined();
    const [api] = Object.values(Template.fromStack(without.runtime).findResources('AWS::ApiGatewayV2::Api'));
    expect(api?.Properties.CorsConfiguration).toBeUndefined();
    const buckets = Object.values(Template.fromStack(without.data).findResources('AWS::S3::Bucket'));
    expect(buckets.filter((b) => b.Properties.CorsConfiguration !== undefined)).toEqual([]);
  });
});
