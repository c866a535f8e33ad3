import { describe, expect, it } from 'vitest';
import {
  type CurrentKey,
  nextKeySet,
  RetireCurrentKeyError,
  RootRotationError,
} from '../../../../lambdas/domain/firmware/key-set.ts';

const NOW = Date.UTC(2030, 0, 1);
const key = (purpose: CurrentKey['purpose'], id: string): CurrentKey => ({
  purpose,
  keyid: id,
  publicKey: `pk-${id}`,
});
const first = [
  key('firmware', 'fw-1'),
  key('model', 'md-1'),
  key('rollback', 'rb-1'),
  key('keyset', 'root-1'),
];

describe('nextKeySet', () => {
  it('issues version 1 with every purpose key, sorted by id', () => {
    const set = nextKeySet(undefined, first, [], NOW);
    expect(set).toMatchObject({ purpose: 'keyset', version: 1, issuedAt: NOW / 1000 });
    expect(set?.keys.map((k) => [k.keyid, k.purposes])).toEqual([
      ['fw-1', ['firmware']],
      ['md-1', ['model']],
      ['rb-1', ['rollback']],
      ['root-1', ['keyset']],
    ]);
  });

  it('issues nothing when nothing changed', () => {
    const v1 = nextKeySet(undefined, first, [], NOW);
    expect(nextKeySet(v1, first, [], NOW + 1000)).toBeUndefined();
  });

  it('keeps a rotated-out key until it is retired, then drops it', () => {
    const v1 = nextKeySet(undefined, first, [], NOW);
    const rotated = [key('firmware', 'fw-2'), ...first.slice(1)];
    const v2 = nextKeySet(v1, rotated, [], NOW);
    const v3 = nextKeySet(v2, rotated, ['fw-1'], NOW);
    expect(v2?.version).toBe(2);
    expect(v2?.keys.map((k) => k.keyid)).toContain('fw-1');
    expect(v3?.version).toBe(3);
    expect(v3?.keys.map((k) => k.keyid)).not.toContain('fw-1');
  });

  it('refuses to retire a key signed with now, and a root it cannot chain to', () => {
    const v1 = nextKeySet(undefined, first, [], NOW);
    expect(() => nextKeySet(v1, first, ['fw-1'], NOW)).toThrow(RetireCurrentKeyError);
    expect(() => nextKeySet(v1, [...first.slice(0, 3), key('keyset', 'root-2')], [], NOW)).toThrow(
      RootRotationError,
    );
  });
});
