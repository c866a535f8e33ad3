import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccountRootPrincipal,
  AnyPrincipal,
  Effect,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import { Alias, Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** The one signing algorithm fleetkit keys sign with, and the only message type functions send. */
export const SIGNING_ALGORITHM = 'ECDSA_SHA_256';
export const SIGN_MESSAGE_TYPE = 'DIGEST';

/**
 * Key administration for the account (so the key can never become unmanageable), without any
 * cryptographic operation: CDK's default administrator actions, written out.
 */
const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

/** Properties of a {@link SigningKey}. */
export interface SigningKeyProps {
  /** `alias/<name>`: what functions pass as `KeyId` and what IAM grants are conditioned on. */
  readonly aliasName: string;
  readonly description: string;
  /**
   * ARNs of the roles that may sign with the key (issue 12: only the signer role signs). The key policy
   * allows `kms:Sign` to them alone and denies it to every other principal of the account, administrators
   * included. Roles are named by ARN, not referenced: they live in another stack and may not exist yet
   * (a key policy naming a missing principal is refused, `aws:PrincipalArn` in a condition is not).
   */
  readonly signerRoleArns: readonly string[];
  /**
   * Devices trust the key's public key for as long as they run firmware it signed, so the key outlives
   * its stack by default.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days between scheduling deletion and deletion (7-30).
   * @default 30
   */
  readonly pendingWindowDays?: number;
}

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;

/**
 * An asymmetric KMS key that signs SHA-256 digests with ECDSA P-256 (`ECC_NIST_P256`, `SIGN_VERIFY`),
 * behind an alias.
 *
 * The key policy gives the account administration of the key, and `kms:Sign` (of `ECDSA_SHA_256` over a
 * `DIGEST`) only to the signer roles, denying it to every other principal: a role with `kms:Sign` on `*`
 * cannot sign with it. Functions still need `kms:Sign` or `kms:GetPublicKey` in their roles (see
 * `resource-access.ts`), on keys carrying this alias. The administrators can change the key policy
 * (`kms:PutKeyPolicy`): that is the key's last resort, and a CloudTrail event. KMS
 * rotates only symmetric keys automatically, so rotation is off: a new key means a new alias target and
 * devices trusting its public key first.
 */
export class SigningKey extends Construct {
  readonly key: Key;
  readonly alias: Alias;
  readonly aliasName: string;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    if (!ALIAS_NAME.test(props.aliasName) || props.aliasName.startsWith('alias/aws/')) {
      throw new Error(
        `aliasName must be alias/ followed by [a-zA-Z0-9/_-] and not in alias/aws/; got '${props.aliasName}'`,
      );
    }
    const days = props.pendingWindowDays ?? 30;
    if (!Number.isInteger(days) || days < 7 || days > 30) {
      throw new Error(`pendingWindowDays must be a whole number from 7 to 30; got ${days}`);
    }
    const account = new AccountRootPrincipal();
    this.key = new Key(this, 'Key', {
      description: props.description,
      keySpec: KeySpec.ECC_NIST_P256,
      keyUsage: KeyUsage.SIGN_VERIFY,
      // KMS has no automatic rotation for asymmetric keys (https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html).
      enableKeyRotation: false,
      pendingWindow: Duration.days(days),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      policy: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: 'KeyAdministration',
            principals: [account],
            actions: KEY_ADMIN_ACTIONS,
            resources: ['*'],
          }),
          ...(props.signerRoleArns.length === 0
            ? []
            : [
                new PolicyStatement({
                  sid: 'SignDigestsOnlyBySignerRoles',
                  principals: [account],
                  actions: ['kms:Sign'],
                  resources: ['*'],
                  conditions: {
                    StringEquals: {
                      'kms:SigningAlgorithm': SIGNING_ALGORITHM,
                      'kms:MessageType': SIGN_MESSAGE_TYPE,
                    },
                    ArnEquals: { 'aws:PrincipalArn': [...props.signerRoleArns] },
                  },
                }),
              ]),
          // An IAM policy with kms:Sign on * (an administrator's) cannot sign either: an explicit deny wins.
          new PolicyStatement({
            sid: 'DenySignToAnyoneElse',
            effect: Effect.DENY,
            principals: [new AnyPrincipal()],
            actions: ['kms:Sign'],
            resources: ['*'],
            ...(props.signerRoleArns.length === 0
              ? {}
              : { conditions: { ArnNotEquals: { 'aws:PrincipalArn': [...props.signerRoleArns] } } }),
          }),
        ],
      }),
    });
    this.alias = new Alias(this, 'Alias', { aliasName: props.aliasName, targetKey: this.key });
    this.aliasName = props.aliasName;
  }
}
