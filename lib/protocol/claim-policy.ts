import type { DevicePermission } from './device-policy.ts';
import {
  CLAIM_CLIENT_ID_PREFIX,
  CLAIM_PARAMETERS,
  DEVICE_CONFIGURATION_THING_TYPE,
  registerThingTopic,
} from './fleet-provisioning.ts';
import {
  CREATE_FROM_CSR_ACCEPTED_TOPIC,
  CREATE_FROM_CSR_REJECTED_TOPIC,
  CREATE_FROM_CSR_TOPIC,
} from './identity-topics.ts';

/**
 * What a claim certificate may do: the one definition the CDK app renders as the IoT policy attached to
 * claim certificates and the local broker enforces. Nothing but fleet provisioning: connect with a
 * `claim-` client id, ask CreateCertificateFromCsr and RegisterThing of fleetkit's template, and hear
 * their answers. No `$aws/certificates/create/json` (CreateKeysAndCertificate): a key the platform makes
 * would leave the platform, and fleetkit's devices make their own.
 *
 * @param templateName the stage's claim provisioning template
 */
export function claimPermissions(templateName: string): DevicePermission[] {
  const register = registerThingTopic(templateName);
  const answers = [
    CREATE_FROM_CSR_ACCEPTED_TOPIC,
    CREATE_FROM_CSR_REJECTED_TOPIC,
    `${register}/accepted`,
    `${register}/rejected`,
  ];
  return [
    { action: 'Connect', resources: [`${CLAIM_CLIENT_ID_PREFIX}*`] },
    { action: 'Publish', resources: [CREATE_FROM_CSR_TOPIC, register] },
    { action: 'Subscribe', resources: answers },
    { action: 'Receive', resources: answers },
  ];
}

/** A value in a provisioning template: literal, a parameter, or parts joined. */
export type TemplateValue =
  | string
  | { readonly Ref: string }
  | { readonly 'Fn::Join': [string, TemplateValue[]] };

/** The fleet provisioning template body (https://docs.aws.amazon.com/iot/latest/developerguide/provision-template.html#fleet-provision-template). */
export interface ProvisioningTemplateBody {
  readonly Parameters: Readonly<Record<string, { readonly Type: 'String'; readonly Default?: string }>>;
  readonly Resources: {
    readonly thing: {
      readonly Type: 'AWS::IoT::Thing';
      readonly OverrideSettings: { readonly ThingTypeName: 'FAIL' };
      readonly Properties: { readonly ThingName: TemplateValue; readonly ThingTypeName: TemplateValue };
    };
    readonly certificate: {
      readonly Type: 'AWS::IoT::Certificate';
      readonly Properties: { readonly CertificateId: TemplateValue; readonly Status: 'ACTIVE' };
    };
    readonly policy: {
      readonly Type: 'AWS::IoT::Policy';
      readonly Properties: { readonly PolicyName: string };
    };
  };
  readonly DeviceConfiguration: Readonly<Record<string, TemplateValue>>;
}

/** The parameter IoT fills with the id of the certificate RegisterThing's ownership token stands for. */
export const CERTIFICATE_ID_PARAMETER = 'AWS::IoT::Certificate::Id';

/**
 * fleetkit's claim template: the thing is named after the serial number and has the type the hook set
 * from the allow-list (a thing that exists with another type fails the request), the certificate becomes
 * ACTIVE with the device policy attached, and the device learns its thing type from the answer.
 *
 * @param devicePolicyName the stage's device policy (the same every provisioned certificate gets)
 */
export function claimProvisioningTemplate(devicePolicyName: string): ProvisioningTemplateBody {
  return {
    Parameters: {
      [CLAIM_PARAMETERS.serialNumber]: { Type: 'String' },
      [CLAIM_PARAMETERS.deviceType]: { Type: 'String' },
      [CERTIFICATE_ID_PARAMETER]: { Type: 'String' },
    },
    Resources: {
      thing: {
        Type: 'AWS::IoT::Thing',
        OverrideSettings: { ThingTypeName: 'FAIL' },
        Properties: {
          ThingName: { Ref: CLAIM_PARAMETERS.serialNumber },
          ThingTypeName: { Ref: CLAIM_PARAMETERS.deviceType },
        },
      },
      certificate: {
        Type: 'AWS::IoT::Certificate',
        Properties: { CertificateId: { Ref: CERTIFICATE_ID_PARAMETER }, Status: 'ACTIVE' },
      },
      policy: { Type: 'AWS::IoT::Policy', Properties: { PolicyName: devicePolicyName } },
    },
    DeviceConfiguration: { [DEVICE_CONFIGURATION_THING_TYPE]: { Ref: CLAIM_PARAMETERS.deviceType } },
  };
}
