import { SIGNATURE_ALGORITHM, SIGNING_KEY_SPEC } from '../../lib/protocol/firmware.ts';
import type { SignedKeySet } from '../../lib/protocol/jobs.ts';
import type { KeyPurpose } from '../../lib/protocol/manifest.ts';
import type { DynamoKeySetStore } from '../adapters/dynamo-key-set-store.ts';
import { type CurrentKey, nextKeySet } from '../domain/firmware/key-set.ts';
import type { Signer } from '../domain/firmware/ports.ts';
import type { Logger } from '../shared/logger.ts';
import { signStatement } from './statement-signer.ts';

/** A key the service signs with, as `GET /firmware/keys` lists it. */
export interface PublishedKey {
  readonly keyId: string;
  readonly keySpec: typeof SIGNING_KEY_SPEC;
  readonly signingAlgorithm: typeof SIGNATURE_ALGORITHM;
  readonly publicKeyPem: string;
  readonly purposes: readonly KeyPurpose[];
}

export interface KeySetServiceDeps {
  readonly store: Pick<DynamoKeySetStore, 'get' | 'put'>;
  /** The signer of each purpose (KMS keys by alias); `keyset` signs the set itself. */
  readonly signers: Readonly<Record<KeyPurpose, Signer>>;
  readonly log: Logger;
  readonly now: () => number;
}

const pemToBase64 = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');

/**
 * The key set devices trust (issue 12): built from the public keys of the purpose keys, signed by the
 * `keyset` key, numbered, stored; every job document carries it, and a device adopts a newer set its
 * current `keyset` key signed (a key-rollover document) before it checks anything else.
 */
export class KeySetService {
  constructor(private readonly deps: KeySetServiceDeps) {}

  /** The keys signed with now, one per purpose, with their public keys. */
  async published(): Promise<PublishedKey[]> {
    const entries = Object.entries(this.deps.signers) as Array<[KeyPurpose, Signer]>;
    const keys = await Promise.all(
      entries.map(async ([purpose, signer]) => ({ purpose, ...(await signer.publicKey()) })),
    );
    return keys.map((k) => ({
      keyId: k.keyId,
      keySpec: SIGNING_KEY_SPEC,
      signingAlgorithm: SIGNATURE_ALGORITHM,
      publicKeyPem: k.pem,
      purposes: [k.purpose],
    }));
  }

  /** The stored set; on first use, version 1 is issued (provisioning needs one). */
  async current(): Promise<SignedKeySet> {
    return (await this.deps.store.get()) ?? (await this.rollover()).keySet;
  }

  /**
   * Issues the next version when the keys changed (an alias moved to a new key) or some are retired.
   * Concurrent rollovers: the one that stores first wins, the other answers what was stored.
   */
  async rollover(retire: readonly string[] = []): Promise<{ keySet: SignedKeySet; changed: boolean }> {
    const stored = await this.deps.store.get();
    const current: CurrentKey[] = (await this.published()).map((k) => ({
      purpose: k.purposes[0] as KeyPurpose,
      keyid: k.keyId,
      publicKey: pemToBase64(k.publicKeyPem),
    }));
    const next = nextKeySet(stored?.manifest, current, retire, this.deps.now());
    if (next === undefined && stored !== undefined) return { keySet: stored, changed: false };
    if (next === undefined) throw new Error('no key set to issue');
    const signed = await signStatement(this.deps.signers.keyset, next);
    if ((await this.deps.store.put(signed, stored?.manifest.version)) === 'conflict') {
      const winner = await this.deps.store.get();
      if (winner === undefined) throw new Error('the key set changed meanwhile and is gone');
      return { keySet: winner, changed: false };
    }
    this.deps.log.info('key set issued', {
      version: next.version,
      keys: next.keys.map((k) => k.keyid),
      retired: retire,
    });
    return { keySet: signed, changed: true };
  }
}
