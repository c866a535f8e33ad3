import type { KeyPurpose, KeySetManifest, TrustedKey } from '../../../lib/protocol/manifest.ts';

/**
 * The key set devices trust (issue 12), as a pure step from the last one: which keys, for what, and
 * when a new version is due. Signing it (the `keyset` key) and storing it are the service's part.
 *
 * A key whose alias moved to a new key stays in the set until an operator retires it: images signed
 * with it are still installable, and devices learn the new key before any manifest needs it.
 */

/** The root key changed: the new set must be signed by the key devices trust now, which is not automated. */
export class RootRotationError extends Error {
  override readonly name = 'RootRotationError';
}

/** An operator asked to retire a key the service signs with now. */
export class RetireCurrentKeyError extends Error {
  override readonly name = 'RetireCurrentKeyError';
}

/** One key the service signs with now, for its purpose. */
export interface CurrentKey {
  readonly purpose: KeyPurpose;
  readonly keyid: string;
  /** SPKI DER, base64. */
  readonly publicKey: string;
}

const sameKeys = (a: readonly TrustedKey[], b: readonly TrustedKey[]) =>
  a.length === b.length &&
  a.every((k, i) => {
    const o = b[i];
    return (
      o !== undefined &&
      o.keyid === k.keyid &&
      o.publicKey === k.publicKey &&
      o.purposes.join() === k.purposes.join()
    );
  });

/**
 * The next key set: the keys signed with now, plus the earlier set's keys not retired, in a stable order.
 *
 * @returns undefined when nothing changed (no new version is issued)
 * @throws RootRotationError when the `keyset` key is not the one the earlier set names
 * @throws RetireCurrentKeyError when `retire` names a key signed with now
 */
export function nextKeySet(
  previous: KeySetManifest | undefined,
  current: readonly CurrentKey[],
  retire: readonly string[],
  nowMs: number,
): KeySetManifest | undefined {
  const live = new Set(current.map((k) => k.keyid));
  const retiring = retire.find((id) => live.has(id));
  if (retiring !== undefined) {
    throw new RetireCurrentKeyError(
      `key ${retiring} signs now; move its alias to a new key before retiring it`,
    );
  }
  const root = current.find((k) => k.purpose === 'keyset');
  const previousRoots = previous?.keys.filter((k) => k.purposes.includes('keyset')).map((k) => k.keyid) ?? [];
  if (previous !== undefined && root !== undefined && !previousRoots.includes(root.keyid)) {
    throw new RootRotationError(
      `the key-set key is now ${root.keyid}, devices trust ${previousRoots.join(', ')}: a rollover to a new root must be signed by the old one`,
    );
  }
  const byId = new Map<string, TrustedKey>();
  for (const key of previous?.keys ?? []) if (!retire.includes(key.keyid)) byId.set(key.keyid, key);
  for (const key of current) {
    const purposes = new Set([...(byId.get(key.keyid)?.purposes ?? []), key.purpose]);
    byId.set(key.keyid, { keyid: key.keyid, purposes: [...purposes].sort(), publicKey: key.publicKey });
  }
  const keys = [...byId.values()].sort((a, b) => (a.keyid < b.keyid ? -1 : a.keyid > b.keyid ? 1 : 0));
  if (previous !== undefined && sameKeys(keys, previous.keys)) return undefined;
  return {
    purpose: 'keyset',
    version: (previous?.version ?? 0) + 1,
    keys,
    issuedAt: Math.floor(nowMs / 1000),
  };
}
