import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  EdgeArtifactMissingError,
  EdgeComponent,
  EdgeRecipeError,
} from '../../lib/constructs/edge-component.ts';

/**
 * EdgeComponent with a placeholder artifact (a few bytes named like the real zip): the construct only
 * publishes the file, so synth stays fast; test/unit/edge/build.test.ts builds the real one.
 */

const CDK_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;
const sourceRecipe = parse(readFileSync(new URL('../../edge/recipe.yaml', import.meta.url), 'utf8')) as {
  ComponentVersion: string;
  ComponentConfiguration: unknown;
};

/** The CDK bootstrap assets bucket of the test stack's account and region. */
const ASSETS_BUCKET = 'cdk-hnb659fds-assets-111111111111-eu-west-1';

type Recipe = {
  ComponentName: string;
  ComponentVersion: string;
  ComponentConfiguration: unknown;
  Manifests: { Artifacts: Record<string, unknown>[] }[];
  Lifecycle: { Run: { Script: string }; Setenv: Record<string, string> };
};

let dir: string;
let artifactFile: string;
let app: App;
let stack: Stack;
let component: EdgeComponent;
let template: Template;

/** The inline recipe, with CloudFormation references spelled `<Ref>` so it parses as JSON. */
function inlineRecipe(): Recipe {
  const [resource] = Object.values(template.findResources('AWS::GreengrassV2::ComponentVersion'));
  const value = resource?.Properties.InlineRecipe as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof value === 'string'
      ? value
      : value['Fn::Join'][1]
          .map((part) => (typeof part === 'string' ? part : '<BUCKET>'))
          .join(value['Fn::Join'][0]);
  return JSON.parse(text) as Recipe;
}

beforeAll(() => {
  // Prepare
  dir = mkdtempSync(join(tmpdir(), 'fleetkit-edge-component-'));
  artifactFile = join(dir, 'fleetkit-edge.zip');
  writeFileSync(artifactFile, 'placeholder artifact');
  app = new App({
    outdir: join(dir, 'cdk.out'),
    context: CDK_CONTEXT,
    builtinCloudFormationValidation: false,
  });
  stack = new Stack(app, 'Edge', { env: { account: '111111111111', region: 'eu-west-1' } });
  component = new EdgeComponent(stack, 'EdgeAgent', { artifactFile });
  const tokenExchangeRole = new Role(stack, 'CoreTokenExchangeRole', {
    assumedBy: new ServicePrincipal('credentials.iot.amazonaws.com'),
  });
  component.grantRead(tokenExchangeRole);
  // Act
  template = Template.fromStack(stack);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('EdgeComponent', () => {
  it('registers one component version with an inline recipe', () => {
    template.resourceCountIs('AWS::GreengrassV2::ComponentVersion', 1);
    template.hasResourceProperties('AWS::GreengrassV2::ComponentVersion', { InlineRecipe: Match.anyValue() });
  });

  it('keeps the recipe’s name, version and configuration (accessControl included)', () => {
    // Assess
    const recipe = inlineRecipe();
    expect(recipe.ComponentName).toBe('com.fleetkit.EdgeAgent');
    expect(recipe.ComponentVersion).toBe(sourceRecipe.ComponentVersion);
    expect(recipe.ComponentConfiguration).toEqual(sourceRecipe.ComponentConfiguration);
    expect(component.componentVersion).toBe(sourceRecipe.ComponentVersion);
  });

  it('points every manifest at the asset’s S3 URL, unarchived as ZIP, with no digest (Greengrass computes it)', () => {
    // Assess
    const key = component.asset.s3ObjectKey;
    expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
    for (const manifest of inlineRecipe().Manifests) {
      expect(manifest.Artifacts).toEqual([
        {
          URI: `s3://${ASSETS_BUCKET}/${key}`,
          Unarchive: 'ZIP',
          Permission: { Read: 'OWNER', Execute: 'NONE' },
        },
      ]);
    }
  });

  it('runs the agent from the folder Greengrass unpacks the hash-named asset to', () => {
    // Assess
    const folder = component.asset.s3ObjectKey.replace(/\.zip$/, '');
    const recipe = inlineRecipe();
    expect(recipe.Lifecycle.Run.Script).toContain(
      `node --enable-source-maps '{artifacts:decompressedPath}/${folder}/agent.mjs' &`,
    );
    expect(recipe.Lifecycle.Setenv.FLEETKIT_MODEL_DIR).toBe(`{artifacts:decompressedPath}/${folder}/model`);
    expect(JSON.stringify(recipe)).not.toContain('fleetkit-edge/');
  });

  it('lets the token exchange role read this artifact and nothing else of the assets bucket', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 's3:GetObject',
            Effect: 'Allow',
            Resource: `arn:aws:s3:::${ASSETS_BUCKET}/${component.asset.s3ObjectKey}`,
          },
        ],
      },
    });
  });

  it('is clean under cdk-nag AwsSolutions', () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);
    // Assess
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`),
    );
    expect(findings).toEqual([]);
  });

  it('registers the version it is given, e.g. a CI build number', () => {
    // Prepare
    const other = new Stack(
      new App({ context: CDK_CONTEXT, builtinCloudFormationValidation: false }),
      'Other',
    );
    // Act
    new EdgeComponent(other, 'EdgeAgent', { artifactFile, componentVersion: '1.0.42' });
    // Assess
    const [resource] = Object.values(
      Template.fromStack(other).findResources('AWS::GreengrassV2::ComponentVersion'),
    );
    expect(JSON.stringify(resource?.Properties.InlineRecipe)).toContain(
      '\\"ComponentVersion\\":\\"1.0.42\\"',
    );
  });

  it('refuses a version that is not major.minor.patch, showing it', () => {
    const other = new Stack(new App(), 'Other');
    expect(() => new EdgeComponent(other, 'EdgeAgent', { artifactFile, componentVersion: 'v2' })).toThrow(
      EdgeRecipeError,
    );
    expect(() => new EdgeComponent(other, 'EdgeAgent2', { artifactFile, componentVersion: 'v2' })).toThrow(
      /"v2"/,
    );
  });

  it('says to run npm run build:edge when the artifact is missing', () => {
    const other = new Stack(new App(), 'Other');
    const missing = join(dir, 'nope', 'fleetkit-edge.zip');
    expect(() => new EdgeComponent(other, 'EdgeAgent', { artifactFile: missing })).toThrow(
      EdgeArtifactMissingError,
    );
    expect(() => new EdgeComponent(other, 'EdgeAgent2', { artifactFile: missing })).toThrow(
      /npm run build:edge/,
    );
  });
});
