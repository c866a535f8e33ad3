import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFleetkit, type Fleetkit } from '../../lib/stacks/fleetkit-app.ts';
import type { Topology } from '../../lib/topology/model.ts';
import { type FirmwareResource, firmwareTopology } from '../integration/firmware-topology.ts';

/**
 * The firmware registry's topology entries, plus a function that may only read the signing key (as the
 * jobs service would, to publish keys): signing must stay with `write` users.
 */
const topology = {
  resources: firmwareTopology.resources,
  functions: {
    ...firmwareTopology.functions,
    keyReader: {
      handler: 'api-devices',
      description: 'test: reads the public key and the catalog, signs nothing',
      routes: ['GET /test/keys'],
      uses: { firmwareSigning: 'read', firmwareCatalog: 'read', firmware: 'read' },
    },
  },
} as const satisfies Topology<FirmwareResource>;

const CDK_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;
const ALIAS = 'alias/fleetkit-fw-firmware-signing';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, unknown> };

let app: App;
let fleetkit: Fleetkit;
let data: Template;
let runtime: Template;

/** The IAM statements of one function's role, by topology function name. */
function statementsOf(name: string): Statement[] {
  const role = fleetkit.runtime.functions[name]?.role;
  if (role === undefined) throw new Error(`no function ${name}`);
  const roleId = fleetkit.runtime.getLogicalId(role.node.defaultChild as never);
  return Object.values(runtime.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => [s.Action].flat());

beforeAll(() => {
  app = new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  fleetkit = buildFleetkit(app, { stage: 'fw', topology });
  data = Template.fromStack(fleetkit.data);
  runtime = Template.fromStack(fleetkit.runtime);
});

describe('signing key', () => {
  it('is an asymmetric P-256 signing key, without rotation (KMS rotates only symmetric keys), retained', () => {
    data.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({
        KeySpec: 'ECC_NIST_P256',
        KeyUsage: 'SIGN_VERIFY',
        EnableKeyRotation: false,
        PendingWindowInDays: 30,
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('has the stage alias functions sign with', () => {
    data.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: ALIAS,
      TargetKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('FirmwareSigningSigningKey'), 'Arn'] },
    });
  });

  it('has a key policy with no kms:*, administration without crypto, and Sign only of ECDSA_SHA_256 digests', () => {
    // Act
    const [key] = Object.values(data.findResources('AWS::KMS::Key'));
    const statements = key?.Properties.KeyPolicy.Statement as Statement[];
    // Assess
    expect(actionsOf(statements)).not.toContain('kms:*');
    const allows = statements.filter((s) => (s as { Effect?: string }).Effect === 'Allow');
    expect(actionsOf(allows).filter((a) => /Sign|Verify|crypt|GenerateDataKey/.test(a))).toEqual([
      'kms:Sign',
    ]);
    expect(allows.find((s) => actionsOf([s]).includes('kms:Sign'))?.Condition).toMatchObject({
      StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' },
    });
  });

  it('lets only the signer role sign: allowed by its role ARN, denied to every other principal', () => {
    // Act
    const [key] = Object.values(data.findResources('AWS::KMS::Key'));
    const statements = key?.Properties.KeyPolicy.Statement as Array<
      Statement & { Effect: string; Principal: unknown }
    >;
    const signers = (s: Statement | undefined) => JSON.stringify(s?.Condition);
    const allow = statements.find((s) => s.Effect === 'Allow' && actionsOf([s]).includes('kms:Sign'));
    const deny = statements.find((s) => s.Effect === 'Deny' && actionsOf([s]).includes('kms:Sign'));
    // Assess: the firmware API (write) signs; the key reader (read) does not, nor anyone else.
    expect(signers(allow)).toMatch(/ArnEquals.*aws:PrincipalArn.*:role\/fleetkit-fw-api-firmware"/);
    expect(signers(allow)).not.toMatch(/key-reader/);
    expect(deny?.Principal).toEqual({ AWS: '*' });
    expect(signers(deny)).toMatch(/ArnNotEquals.*aws:PrincipalArn.*:role\/fleetkit-fw-api-firmware"/);
  });

  it('names each function role as its function, so a key policy can name it', () => {
    runtime.hasResourceProperties('AWS::IAM::Role', { RoleName: 'fleetkit-fw-api-firmware' });
  });
});

describe('grants through the topology', () => {
  it('lets a write user sign only ECDSA_SHA_256 digests, only with keys carrying the alias', () => {
    // Act
    const sign = statementsOf('apiFirmware').find((s) => actionsOf([s]).includes('kms:Sign'));
    // Assess
    expect(sign?.Action).toBe('kms:Sign');
    expect(JSON.stringify(sign?.Resource)).toMatch(/:kms:.*:key\/\*"/);
    expect(sign?.Condition).toEqual({
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ALIAS },
      StringEquals: { 'kms:SigningAlgorithm': 'ECDSA_SHA_256', 'kms:MessageType': 'DIGEST' },
    });
  });

  it('lets a read user get the public key of that key and do nothing else with KMS', () => {
    // Act
    const kms = statementsOf('keyReader').filter((s) => actionsOf([s]).some((a) => a.startsWith('kms:')));
    // Assess
    expect(actionsOf(kms)).toEqual(['kms:GetPublicKey']);
    expect(kms[0]?.Condition).toEqual({ 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ALIAS } });
    expect(actionsOf(statementsOf('apiFirmware'))).toContain('kms:GetPublicKey');
  });

  it('gives the firmware API the bucket, the catalog, the key alias and the URL settings as env', () => {
    runtime.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'fleetkit-fw-api-firmware',
      MemorySize: 1769,
      Timeout: 29,
      Environment: {
        Variables: Match.objectLike({
          FIRMWARE_SIGNING_KEY_ID: ALIAS,
          FIRMWARE_CATALOG_TABLE_NAME: 'fleetkit-fw-firmware-catalog',
          FIRMWARE_BUCKET_NAME: Match.anyValue(),
          FIRMWARE_UPLOAD_URL_SECONDS: '3600',
          FIRMWARE_DOWNLOAD_URL_SECONDS: '900',
        }),
      },
    });
  });

  it('reaches the key by alias, not through a CloudFormation export of the data stack', () => {
    expect(JSON.stringify(runtime.toJSON())).not.toMatch(/ImportValue[^}]*(SigningKey|Data)/);
  });

  it('routes /firmware/keys as a route of its own next to /firmware/{version}', () => {
    runtime.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /firmware/keys' });
    runtime.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /firmware/{version}' });
  });
});

describe('firmware topology', () => {
  it('is clean under cdk-nag AwsSolutions, KMS5 included', () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(app);
    // Assess
    const findings = report.violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description}`),
    );
    expect(findings).toEqual([]);
  });
});
