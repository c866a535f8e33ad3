import type { Access, Topology } from '../topology/model.ts';
import { topicMatchesGrant, topicPublishGrants } from '../topology/topic-grants.ts';
import { type AccessKey, functionAccessKey } from './credentials.ts';

/**
 * Who signed a request to a local endpoint: the operator (the CLI, tests, curl — the account's
 * administrator, as the deploying user is in AWS) or one of the topology's functions, which may do
 * what its role may do in AWS and nothing else.
 */
export type Principal =
  | {
      readonly kind: 'operator';
      /** The profile of `<dataDir>/credentials` it signs with (`default`, `release-approver`, ...). */
      readonly name: string;
    }
  | {
      readonly kind: 'function';
      readonly name: string;
      readonly uses: Readonly<Partial<Record<string, Access>>>;
      /** Topic patterns it may publish to (`iot:Publish` resources). */
      readonly publishes: readonly string[];
    };

/** The key pairs the local endpoints accept, and whose they are. */
export interface LocalPrincipals {
  readonly operator: AccessKey;
  /** The key pair of function `name` (the env its SDK clients sign with). */
  functionKey(name: string): AccessKey;
  /** The principal an access key id belongs to, with its secret; undefined for an unknown key. */
  lookup(accessKeyId: string): { readonly key: AccessKey; readonly principal: Principal } | undefined;
  /** Every function's access key id (s3rver must know them to accept presigned URLs). */
  readonly keys: readonly AccessKey[];
  /** May `principal` publish to `topic` through the IoT data plane? */
  mayPublish(principal: Principal, topic: string): boolean;
}

/**
 * The operator and one principal per topology function, each with its own key pair. `others` are more
 * operators (the other profiles of the credentials file): people, each with their own key, so a release
 * approval can tell the approver from the uploader.
 */
export function localPrincipals(
  operator: AccessKey,
  topology: Topology,
  others: ReadonlyMap<string, AccessKey> = new Map(),
): LocalPrincipals {
  const byId = new Map<string, { key: AccessKey; principal: Principal }>();
  byId.set(operator.accessKeyId, { key: operator, principal: { kind: 'operator', name: 'default' } });
  for (const [name, key] of others) {
    if (name !== 'default') byId.set(key.accessKeyId, { key, principal: { kind: 'operator', name } });
  }
  const byName = new Map<string, AccessKey>();
  const allPublishes = new Set<string>();
  for (const [name, spec] of Object.entries(topology.functions)) {
    const key = functionAccessKey(operator, name);
    const publishes = topicPublishGrants(topology, spec.uses);
    for (const grant of publishes) allPublishes.add(grant);
    byName.set(name, key);
    byId.set(key.accessKeyId, {
      key,
      principal: { kind: 'function', name, uses: spec.uses ?? {}, publishes },
    });
  }
  return {
    operator,
    keys: [
      operator,
      ...[...others.entries()].filter(([n]) => n !== 'default').map(([, k]) => k),
      ...byName.values(),
    ],
    functionKey(name) {
      const key = byName.get(name);
      if (key === undefined) throw new Error(`no function '${name}' in the topology`);
      return key;
    },
    lookup: (accessKeyId) => byId.get(accessKeyId),
    mayPublish(principal, topic) {
      // The operator may publish where some deployed role may: IoT data Publish is how the platform
      // talks to devices, and the device topics stay the devices' own.
      const grants = principal.kind === 'operator' ? [...allPublishes] : principal.publishes;
      return grants.some((grant) => topicMatchesGrant(topic, grant));
    },
  };
}

/** The KMS actions the topology can grant: `write` is `kms:Sign`, `read` is `kms:GetPublicKey`. */
const KMS_GRANTS: Readonly<Record<string, 'read' | 'write'>> = { Sign: 'write', GetPublicKey: 'read' };

/**
 * May `principal` call KMS `operation` on the signing key named `keyName` in the topology? A function
 * may do what `lib/constructs/resource-access.ts` grants its role (Sign with write, GetPublicKey with
 * read, nothing else); the operator may do anything, as the key's administrator.
 */
export function mayUseKey(principal: Principal, operation: string, keyName: string): boolean {
  if (principal.kind === 'operator') return true;
  const needs = KMS_GRANTS[operation];
  const access = principal.uses[keyName];
  return needs !== undefined && access !== undefined && (access === 'readWrite' || access === needs);
}
