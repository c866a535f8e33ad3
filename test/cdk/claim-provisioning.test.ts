import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOOK_PAYLOAD_VERSION } from '../../lib/constructs/claim-provisioning.ts';
import { devicePolicySize, IOT_POLICY_MAX_CHARS } from '../../lib/constructs/device-policy.ts';
import { claimPermissions, claimProvisioningTemplate } from '../../lib/protocol/claim-policy.ts';
import { buildFleetkit, type Fleetkit } from '../../lib/stacks/fleetkit-app.ts';
import { flat } from './stream-topology.ts';

const CDK_CONTEXT = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')).context;

let app: App;
let fleetkit: Fleetkit;
let runtime: Template;

beforeAll(() => {
  app = new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] },
    builtinCloudFormationValidation: false,
  });
  fleetkit = buildFleetkit(app, { stage: 'test' });
  runtime = Template.fromStack(fleetkit.runtime);
});

describe('fleet provisioning by claim in AWS', () => {
  it("is a provisioning template with fleetkit's claim template and the claim hook as its pre-provisioning hook", () => {
    // Assess
    const hook = fleetkit.runtime.functions.claimHook;
    expect(hook).toBeDefined();
    runtime.hasResourceProperties('AWS::IoT::ProvisioningTemplate', {
      TemplateName: 'fleetkit-test-factory',
      Enabled: true,
      TemplateBody: JSON.stringify(claimProvisioningTemplate('fleetkit-test-device')),
      PreProvisioningHook: {
        PayloadVersion: HOOK_PAYLOAD_VERSION,
        TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ClaimHook'), 'Arn'] },
      },
    });
  });

  it('lets IoT invoke the hook for this template of this account only', () => {
    runtime.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'iot.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ClaimHook'), 'Arn'] },
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: Match.anyValue(),
    });
    const sources = Object.values(runtime.findResources('AWS::Lambda::Permission'))
      .filter((p) => p.Properties.Principal === 'iot.amazonaws.com')
      .map((p) => flat(p.Properties.SourceArn))
      .filter((arn) => arn.includes('provisioningtemplate'));
    expect(sources).toEqual([
      'arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:provisioningtemplate/fleetkit-test-factory',
    ]);
  });

  it('provisions with a role only IoT of this account assumes, and no AWS-managed policy', () => {
    const template = Object.values(runtime.findResources('AWS::IoT::ProvisioningTemplate'))[0];
    const roleId = template?.Properties.ProvisioningRoleArn['Fn::GetAtt'][0];
    const role = runtime.findResources('AWS::IAM::Role')[roleId];
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role?.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { Service: 'iot.amazonaws.com' },
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      },
    ]);
  });

  it('renders the claim policy from the definition the local broker enforces, within IoT size', () => {
    // Assess
    const policies = Object.values(runtime.findResources('AWS::IoT::Policy'));
    const claim = policies.find((p) => p.Properties.PolicyName === 'fleetkit-test-factory-claim');
    const statements = claim?.Properties.PolicyDocument.Statement as Array<{
      Action: string[];
      Resource: unknown[];
    }>;
    expect(statements.map((s) => [s.Action, s.Resource.map(flat)])).toEqual([
      [['iot:Connect'], ['arn:<AWS::Partition>:iot:*:*:client/claim-*']],
      [
        ['iot:Publish'],
        [
          'arn:<AWS::Partition>:iot:*:*:topic/$aws/certificates/create-from-csr/json',
          'arn:<AWS::Partition>:iot:*:*:topic/$aws/provisioning-templates/fleetkit-test-factory/provision/json',
        ],
      ],
      [['iot:Subscribe'], expect.arrayContaining([expect.stringMatching(/topicfilter\/\$aws\//)])],
      [['iot:Receive'], expect.arrayContaining([expect.stringMatching(/topic\/\$aws\//)])],
    ]);
    expect(devicePolicySize(claimPermissions('fleetkit-test-factory'))).toBeLessThan(IOT_POLICY_MAX_CHARS);
  });

  it('is clean under cdk-nag AwsSolutions', () => {
    const report = new AwsSolutionsChecks(app).validateScope(fleetkit.runtime);
    const findings = report.violations.flatMap((v) =>
      v.violatingResources
        .filter((r) => r.constructPath?.includes('Provisioning'))
        .map((r) => `${v.ruleName} at ${r.constructPath}`),
    );
    expect(findings).toEqual([]);
  });
});
