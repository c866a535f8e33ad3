import { Aws } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnProvisioningTemplate } from 'aws-cdk-lib/aws-iot';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { claimPermissions, claimProvisioningTemplate } from '../protocol/claim-policy.ts';
import { DevicePolicy } from './device-policy.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/**
 * The payload version of the pre-provisioning hook's event
 * (https://docs.aws.amazon.com/iot/latest/apireference/API_ProvisioningHook.html).
 */
export const HOOK_PAYLOAD_VERSION = '2020-04-01';

/** Properties of {@link ClaimProvisioning}. */
export interface ClaimProvisioningProps {
  /** `fleetkit-<stage>-<template>`: 1-36 of `[0-9A-Za-z_-]`. */
  readonly templateName: string;
  /** The IoT policy of the template's claim certificates. */
  readonly claimPolicyName: string;
  /** The device policy the template attaches to every certificate it provisions. */
  readonly devicePolicyName: string;
  /** The thing types the template may give a thing (the topology's device types). */
  readonly thingTypes: readonly string[];
  /** The pre-provisioning hook. */
  readonly hook: IFunction;
}

const iotArn = (resource: string) => `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;

/**
 * AWS IoT fleet provisioning by claim for one template
 * (https://docs.aws.amazon.com/iot/latest/developerguide/provision-wo-cert.html): the
 * `AWS::IoT::ProvisioningTemplate` with fleetkit's claim template body and the topology's hook function as
 * its pre-provisioning hook; the role IoT provisions with; the permission for IoT to invoke the hook, from
 * this template only; and the IoT policy an operator attaches to the template's claim certificates
 * (rendered from the one definition the local broker enforces: `lib/protocol/claim-policy.ts`).
 *
 * The role is written out instead of AWS's `AWSIoTThingsRegistration` (no AWS-managed policies here): the
 * registry calls the template's three resources need — the thing (named by the serial), the certificate
 * (activated, attached), the device policy (attached) — on things and certificates, whose names are made
 * at run time, and on the stage's thing types and device policy by name.
 */
export class ClaimProvisioning extends Construct {
  readonly template: CfnProvisioningTemplate;
  readonly role: Role;
  readonly claimPolicy: DevicePolicy;

  constructor(scope: Construct, id: string, props: ClaimProvisioningProps) {
    super(scope, id);
    if (!/^[0-9A-Za-z_-]{1,36}$/.test(props.templateName)) {
      throw new Error(`provisioning template names allow [0-9A-Za-z_-]{1,36}; got '${props.templateName}'`);
    }
    this.role = new Role(this, 'Role', {
      description: `IoT fleet provisioning with template ${props.templateName}: things, certificates, the device policy`,
      assumedBy: new ServicePrincipal('iot.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
    });
    const things = iotArn('thing/*');
    const certificates = iotArn('cert/*');
    this.role.addToPolicy(
      new PolicyStatement({
        actions: [
          'iot:CreateThing',
          'iot:DescribeThing',
          'iot:UpdateThing',
          'iot:ListThingPrincipals',
          'iot:AttachThingPrincipal',
        ],
        resources: [things],
      }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        actions: [
          'iot:DescribeCertificate',
          'iot:UpdateCertificate',
          'iot:ListPrincipalThings',
          'iot:ListAttachedPolicies',
          'iot:AttachThingPrincipal',
          'iot:AttachPolicy',
        ],
        resources: [certificates],
      }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['iot:GetPolicy', 'iot:AttachPolicy'],
        resources: [iotArn(`policy/${props.devicePolicyName}`)],
      }),
    );
    if (props.thingTypes.length > 0) {
      this.role.addToPolicy(
        new PolicyStatement({
          actions: ['iot:DescribeThingType'],
          resources: props.thingTypes.map((type) => iotArn(`thingtype/${type}`)),
        }),
      );
    }
    const policy = this.role.node.findChild('DefaultPolicy');
    acknowledgeWildcardResource(
      policy,
      things,
      'A provisioned thing is named by its serial number at run time; the statement allows only the registry calls of the template, and only IoT of this account assumes the role.',
    );
    acknowledgeWildcardResource(
      policy,
      certificates,
      'IoT assigns certificate ids when a device asks CreateCertificateFromCsr; the statement activates and attaches them only, and only IoT of this account assumes the role.',
    );

    const templateArn = iotArn(`provisioningtemplate/${props.templateName}`);
    // IoT may invoke the hook on behalf of this template only (confused deputy: source ARN and account).
    const permissionId = `IotProvisioning-${props.templateName}`;
    props.hook.addPermission(permissionId, {
      principal: new ServicePrincipal('iot.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: templateArn,
      sourceAccount: Aws.ACCOUNT_ID,
    });
    this.template = new CfnProvisioningTemplate(this, 'Template', {
      templateName: props.templateName,
      description: 'fleetkit provisioning by claim: admits serial numbers on the allow-list, once each',
      enabled: true,
      provisioningRoleArn: this.role.roleArn,
      templateBody: JSON.stringify(claimProvisioningTemplate(props.devicePolicyName)),
      preProvisioningHook: { targetArn: props.hook.functionArn, payloadVersion: HOOK_PAYLOAD_VERSION },
    });
    this.template.node.addDependency(this.role);
    // IoT checks that it may invoke the hook when the template is made.
    const permission = props.hook.permissionsNode.tryFindChild(permissionId);
    if (permission !== undefined) this.template.node.addDependency(permission);

    this.claimPolicy = new DevicePolicy(this, 'ClaimPolicy', {
      policyName: props.claimPolicyName,
      permissions: claimPermissions(props.templateName),
    });
  }
}
