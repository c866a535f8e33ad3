import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { leafHash, merkleTree, verifyInclusion } from '../../../lib/protocol/merkle.ts';

const names = (n: number) => Array.from({ length: n }, (_, i) => `sim-${String(i).padStart(4, '0')}`);
const node = (l: Buffer, r: Buffer) => createHash('sha256').update(Buffer.of(1)).update(l).update(r).digest();

describe('merkleTree / verifyInclusion (RFC 9162 §2.1)', () => {
  it('hashes leaves with 0x00 and nodes with 0x01, splitting at the largest power of two below n', () => {
    // Three leaves: MTH = node(node(l0, l1), l2).
    const [a, b, c] = names(3).map(leafHash) as [Buffer, Buffer, Buffer];
    expect(merkleTree(names(3)).root).toBe(node(node(a, b), c).toString('hex'));
    expect(merkleTree(['only']).root).toBe(leafHash('only').toString('hex'));
  });

  it.each([1, 2, 3, 5, 8, 13, 100])('proves every one of %i leaves, and no other name', (n) => {
    const list = names(n);
    const tree = merkleTree(list);
    list.forEach((name, i) => {
      const proof = tree.proof(i);
      expect(proof.path.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
      expect(verifyInclusion(name, proof, n, tree.root)).toBe(true);
      // Another device's proof does not prove this name, nor this proof another name.
      expect(verifyInclusion('intruder', proof, n, tree.root)).toBe(false);
      if (n > 1) expect(verifyInclusion(list[(i + 1) % n] as string, proof, n, tree.root)).toBe(false);
    });
  });

  it('refuses a proof against another tree size, a tampered path or an index past the end', () => {
    const tree = merkleTree(names(6));
    const proof = tree.proof(4);
    expect(verifyInclusion('sim-0004', proof, 7, tree.root)).toBe(false);
    expect(verifyInclusion('sim-0004', { ...proof, path: [...proof.path].reverse() }, 6, tree.root)).toBe(
      false,
    );
    expect(verifyInclusion('sim-0004', { ...proof, index: 6 }, 6, tree.root)).toBe(false);
    expect(
      verifyInclusion('sim-0004', { ...proof, path: [...proof.path, 'a'.repeat(64)] }, 6, tree.root),
    ).toBe(false);
  });
});
