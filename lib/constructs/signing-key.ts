import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccountRootPrincipal, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
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
 * The key policy gives the account administration of the key and lets IAM policies grant `kms:Sign` only
 * for `ECDSA_SHA_256` over a `DIGEST`; it grants no principal anything directly. Functions get `kms:Sign`
 * or `kms:GetPublicKey` from their roles (see `resource-access.ts`), on keys carrying this alias. KMS
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
          new PolicyStatement({
            sid: 'SignDigestsThroughIamPolicies',
            principals: [account],
            actions: ['kms:Sign'],
            resources: ['*'],
            conditions: {
              StringEquals: {
                'kms:SigningAlgorithm': SIGNING_ALGORITHM,
                'kms:MessageType': SIGN_MESSAGE_TYPE,
              },
            },
          }),
        ],
      }),
    });
    this.alias = new Alias(this, 'Alias', { aliasName: props.aliasName, targetKey: this.key });
    this.aliasName = props.aliasName;
  }
}
