import { createHash } from 'node:crypto';
import * as z from 'zod';

/**
 * A Merkle tree over thing names, as Certificate Transparency defines it (RFC 9162 §2.1): one signed
 * root stands for a whole list of devices, and each device gets a short proof that its own name is in
 * it. A rollback authorization names "the devices it may go to" this way: one KMS signature per batch
 * whatever its size, a proof of ⌈log₂ n⌉ hashes per device (20 for a million), and no device can use
 * another device's authorization, since its own name is the leaf it must prove.
 *
 * Hashes: leaf = SHA-256(0x00 ‖ name), node = SHA-256(0x01 ‖ left ‖ right) — the prefixes keep a leaf
 * from passing for a node (RFC 9162 §2.1.1, second-preimage resistance).
 */

/** An inclusion proof: the leaf's index and the audit path, lowest level first, as hex. */
export const inclusionProof = z.strictObject({
  index: z.number().int().min(0),
  path: z.array(z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits')).max(64),
});
export type InclusionProof = z.output<typeof inclusionProof>;

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};
const LEAF = Uint8Array.of(0);
const NODE = Uint8Array.of(1);

/** The leaf hash of a thing name. */
export function leafHash(name: string): Buffer {
  return sha256(LEAF, Buffer.from(name, 'utf8'));
}

const nodeHash = (left: Uint8Array, right: Uint8Array) => sha256(NODE, left, right);

/** The largest power of two smaller than n (n > 1): where RFC 9162 §2.1.1 splits a tree. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function rootOf(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 1) return leaves[0] as Buffer;
  const k = split(leaves.length);
  return nodeHash(rootOf(leaves.slice(0, k)), rootOf(leaves.slice(k)));
}

function pathOf(index: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...pathOf(index, leaves.slice(0, k)), rootOf(leaves.slice(k))]
    : [...pathOf(index - k, leaves.slice(k)), rootOf(leaves.slice(0, k))];
}

/** A tree over `names` in the given order: its root and each name's proof. */
export interface MerkleTree {
  readonly root: string;
  readonly count: number;
  proof(index: number): InclusionProof;
}

/**
 * Builds the tree over `names` (at least one), in the order given.
 *
 * @throws RangeError for an empty list
 */
export function merkleTree(names: readonly string[]): MerkleTree {
  if (names.length === 0) throw new RangeError('a Merkle tree needs at least one leaf');
  const leaves = names.map(leafHash);
  return {
    root: rootOf(leaves).toString('hex'),
    count: leaves.length,
    proof: (index) => ({ index, path: pathOf(index, leaves).map((h) => h.toString('hex')) }),
  };
}

/**
 * True when `proof` shows `name` is leaf `proof.index` of a tree of `count` leaves with root `root`
 * (RFC 9162 §2.1.3.2, verifying an inclusion proof).
 */
export function verifyInclusion(name: string, proof: InclusionProof, count: number, root: string): boolean {
  if (proof.index >= count) return false;
  let fn = proof.index;
  let sn = count - 1;
  let r = leafHash(name);
  for (const hex of proof.path) {
    if (sn === 0) return false;
    const p = Buffer.from(hex, 'hex');
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 && r.toString('hex') === root;
}
