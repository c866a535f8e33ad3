import { Aws } from 'aws-cdk-lib';
import { PolicyStatement, type Role } from 'aws-cdk-lib/aws-iam';
import {
  accessExtras,
  accessLevel,
  accessParts,
  TABLE_ACTIONS,
  TABLE_EXTRA_ACTIONS,
} from '../topology/access.ts';
import type { Access, Resource } from '../topology/model.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import { SIGN_MESSAGE_TYPE, SIGNING_ALGORITHM } from './signing-key.ts';
import { grantThingsAccess, thingsAccessStatements } from './things-access.ts';

/** A topology resource as the runtime sees it: by physical name and ARN, never by CloudFormation export. */
export interface ResourceRef {
  /** The topology's name for it, e.g. `registry`. */
  readonly name: string;
  readonly resource: Resource;
  /** Table or bucket name; a signing key's alias name. */
  readonly physicalName: string;
  readonly arn: string;
}

/**
 * What each access allows, written out rather than taken from CDK's `grantReadData` / `grantRead`
 * because those add Scan, DeleteItem, `index/*`, `s3:GetObject*`, `s3:GetBucket*`, `s3:List*` and
 * `s3:Abort*`: more than a handler needs, and each a cdk-nag finding to explain. Table actions come
 * from the topology (`TABLE_ACTIONS`, `TABLE_EXTRA_ACTIONS`), so a local check can use the same list.
 */
/** Publishing as the platform: IoT Core's data plane Publish checks `iot:Publish` on the topic. */
const TOPIC_ACTIONS = ['iot:Publish'] as const;
const OBJECT_ACTIONS = {
  read: ['s3:GetObject', 's3:GetObjectVersion'],
  // Delete: a writer must be able to take back what it wrote (a refused firmware upload, say); in a
  // versioned bucket that leaves a delete marker, not a loss.
  write: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
} as const;

/**
 * Every KMS key of the account and region: a signing key is granted by its alias (ABAC, `kms:ResourceAliases`,
 * https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html), since its key id is
 * generated and the runtime stack names data resources without CloudFormation exports.
 */
const KEYS_OF_ACCOUNT = `arn:${Aws.PARTITION}:kms:${Aws.REGION}:${Aws.ACCOUNT_ID}:key/*`;

/** The IAM statements `access` to `ref` needs: the table and its named indexes, or the bucket's objects. */
export function resourceAccessStatements(ref: ResourceRef, access: Access): PolicyStatement[] {
  const { resource, arn } = ref;
  if (resource.kind === 'things') return thingsAccessStatements(access);
  if (resource.kind === 'table') {
    const statements = accessParts(access).map((part) => {
      // Reads may Query an index; writes always go through the table.
      const indexes = part === 'read' ? (resource.indexes ?? []).map((i) => `${arn}/index/${i.name}`) : [];
      return new PolicyStatement({ actions: [...TABLE_ACTIONS[part]], resources: [arn, ...indexes] });
    });
    // Scans, deletes and batch writes go through the table only.
    const extras = accessExtras(access).map((extra) => TABLE_EXTRA_ACTIONS[extra]);
    if (extras.length > 0) statements.push(new PolicyStatement({ actions: extras, resources: [arn] }));
    return statements;
  }
  if (resource.kind === 'topics') {
    // The ARN already is the filter's pattern (`topic/fleet/things/*/shadow/*`, see topicIamPattern).
    return [new PolicyStatement({ actions: [...TOPIC_ACTIONS], resources: [arn] })];
  }
  if (resource.kind === 'stream') {
    // Consuming is granted with the trigger (KafkaConsumer); producing needs the topic's write actions.
    if (accessLevel(access) === 'read') return [];
    return [
      new PolicyStatement({
        actions: ['kafka-cluster:DescribeTopic', 'kafka-cluster:WriteData'],
        resources: [arn],
      }),
    ];
  }
  if (resource.kind === 'signingKey') {
    // `write` signs, and only digests with ECDSA_SHA_256; `read` gets the public key.
    const onlyThisKey = { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ref.physicalName } };
    return accessParts(access).map((part) =>
      part === 'write'
        ? new PolicyStatement({
            actions: ['kms:Sign'],
            resources: [KEYS_OF_ACCOUNT],
            conditions: {
              ...onlyThisKey,
              StringEquals: {
                'kms:SigningAlgorithm': SIGNING_ALGORITHM,
                'kms:MessageType': SIGN_MESSAGE_TYPE,
              },
            },
          })
        : new PolicyStatement({
            actions: ['kms:GetPublicKey'],
            resources: [KEYS_OF_ACCOUNT],
            conditions: onlyThisKey,
          }),
    );
  }
  const statements = accessParts(access).map(
    (part) => new PolicyStatement({ actions: [...OBJECT_ACTIONS[part]], resources: [`${arn}/*`] }),
  );
  if (accessLevel(access) !== 'write')
    statements.push(new PolicyStatement({ actions: ['s3:ListBucket'], resources: [arn] }));
  return statements;
}

/**
 * Grants `role` exactly `access` to `ref`. A bucket grant names the bucket's objects as `<bucket>/*`
 * (object keys are data), and that one finding is acknowledged on the role's policy.
 */
export function grantResourceAccess(role: Role, ref: ResourceRef, access: Access): void {
  if (ref.resource.kind === 'things') {
    grantThingsAccess(role, access);
    return;
  }
  for (const statement of resourceAccessStatements(ref, access)) role.addToPrincipalPolicy(statement);
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (ref.resource.kind === 'topics' && policy !== undefined) {
    acknowledgeWildcardResource(
      policy,
      ref.arn,
      `Topics of '${ref.name}' are named per thing (and shadow or job) at run time; the statement ` +
        `allows only iot:Publish, only on topics matching '${ref.resource.filter}'.`,
    );
  }
  if (ref.resource.kind === 'signingKey' && policy !== undefined) {
    acknowledgeWildcardResource(
      policy,
      KEYS_OF_ACCOUNT,
      `A KMS key id is generated at creation; the statement names the key by its alias instead ` +
        `(kms:ResourceAliases = ${ref.physicalName}) and allows only kms:Sign of ECDSA_SHA_256 digests ` +
        'or kms:GetPublicKey, as the topology declares.',
    );
  }
  if (ref.resource.kind === 'bucket' && policy !== undefined) {
    acknowledgeWildcardResource(
      policy,
      `${ref.arn}/*`,
      `Objects of bucket '${ref.name}' are named by data (versions, device ids); the statement covers ` +
        `only this bucket's objects and only the ${accessLevel(access)} object actions the topology declares.`,
    );
  }
}
