import { Aws } from 'aws-cdk-lib';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import { accessParts } from '../topology/access.ts';
import type { Access } from '../topology/model.ts';
import { acknowledgeWildcardResource } from './nag.ts';

/**
 * IAM for a `things` resource: AWS IoT's registry calls of provisioning, rotation and revocation, each
 * on the resource type IoT authorizes it by
 * (https://docs.aws.amazon.com/iot/latest/developerguide/security_iam_service-with-iam.html).
 * Things and certificates are named at run time (thing names by operators, certificate ids by IoT),
 * so those ARNs end in `*`; CreateCertificateFromCsr has no resource-level permission at all.
 */

const iotArn = (resource: string) => `arn:${Aws.PARTITION}:iot:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;

/** The ARN patterns a `things` grant names, by what they stand for. */
export const THINGS_ARNS = {
  thing: iotArn('thing/*'),
  thingType: iotArn('thingtype/*'),
  cert: iotArn('cert/*'),
  any: '*',
} as const;

const GRANTS: Readonly<Record<'read' | 'write', ReadonlyArray<[keyof typeof THINGS_ARNS, string[]]>>> = {
  read: [
    ['thing', ['iot:DescribeThing', 'iot:ListThingPrincipals']],
    ['thingType', ['iot:DescribeThingType']],
    ['cert', ['iot:DescribeCertificate', 'iot:ListPrincipalThings', 'iot:ListAttachedPolicies']],
  ],
  write: [
    ['thing', ['iot:CreateThing', 'iot:AttachThingPrincipal', 'iot:DetachThingPrincipal']],
    [
      'cert',
      [
        'iot:UpdateCertificate',
        'iot:DeleteCertificate',
        'iot:AttachPolicy',
        'iot:DetachPolicy',
        'iot:AttachThingPrincipal',
        'iot:DetachThingPrincipal',
      ],
    ],
    ['any', ['iot:CreateCertificateFromCsr']],
  ],
};

const WHY: Readonly<Record<keyof typeof THINGS_ARNS, string>> = {
  thing:
    'Thing names are chosen when a device is provisioned, at run time; the statement allows only the registry calls of device identity.',
  thingType:
    'Thing types are looked up to check a provisioning request; the statement allows DescribeThingType only.',
  cert: 'Certificate ids are assigned by IoT when a certificate is made; the statement allows only the certificate calls of provisioning, rotation and revocation.',
  any: 'iot:CreateCertificateFromCsr has no resource-level permissions (IoT IAM reference); the statement allows that action only.',
};

/** The statements `access` to the IoT registry needs. */
export function thingsAccessStatements(access: Access): PolicyStatement[] {
  return accessParts(access).flatMap((part) =>
    GRANTS[part].map(([arn, actions]) => new PolicyStatement({ actions, resources: [THINGS_ARNS[arn]] })),
  );
}

/** Grants `role` exactly `access` to the IoT registry, and acknowledges each wildcard with its reason. */
export function grantThingsAccess(role: Role, access: Access): void {
  for (const statement of thingsAccessStatements(access)) role.addToPrincipalPolicy(statement);
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (policy === undefined) return;
  const used = new Set(accessParts(access).flatMap((part) => GRANTS[part].map(([arn]) => arn)));
  for (const arn of used) acknowledgeWildcardResource(policy, THINGS_ARNS[arn], WHY[arn]);
}
