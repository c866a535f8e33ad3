import { describe, expect, it } from 'vitest';
import type { Metadata, MetadataObject } from '../../../../lambdas/domain/shadow/document.ts';
import type { JsonObject, JsonValue } from '../../../../lambdas/domain/shadow/json.ts';
import {
  isLeafMetadata,
  mergeSection,
  metadataFor,
  requestMetadata,
} from '../../../../lambdas/domain/shadow/merge.ts';
import { asObject, deepFreeze, listJsonFiles, readJson } from './support.ts';

/** One merge rule: a section before, the patch written at `timestamp`, the section after. */
interface MergeCase {
  readonly rule: string;
  readonly timestamp: number;
  readonly current: JsonObject | undefined;
  readonly currentMetadata: MetadataObject | undefined;
  readonly patch: JsonObject;
  readonly state: JsonObject;
  readonly metadata: MetadataObject;
}

const casesDir = new URL('../../../fixtures/shadow/cases/merge/', import.meta.url);

function mergeCase(name: string): MergeCase {
  const raw = asObject(readJson(new URL(name, casesDir)), name);
  const timestamp = raw.timestamp;
  if (typeof raw.rule !== 'string' || typeof timestamp !== 'number')
    throw new Error(`${name}: rule/timestamp`);
  return {
    rule: raw.rule,
    timestamp,
    current: raw.current === undefined ? undefined : asObject(raw.current, `${name} current`),
    currentMetadata:
      raw.currentMetadata === undefined
        ? undefined
        : (asObject(raw.currentMetadata, `${name} currentMetadata`) as unknown as MetadataObject),
    patch: asObject(raw.patch, `${name} patch`),
    state: asObject(raw.state, `${name} state`),
    metadata: asObject(raw.metadata, `${name} metadata`) as unknown as MetadataObject,
  };
}

/** Every fixture, by name; a fixture added to the directory becomes a row without touching this file. */
const cases: [string, MergeCase][] = listJsonFiles(casesDir).map((name) => [name, mergeCase(name)]);

describe('mergeSection, one row per merge rule (fixtures in test/fixtures/shadow/cases/merge)', () => {
  it('has the fixture of every rule the table is meant to cover', () => {
    const names = cases.map(([name]) => name);

    expect(names).toEqual(
      expect.arrayContaining([
        'add-key.json',
        'replace-scalar.json',
        'null-deletes-key.json',
        'null-for-absent-key.json',
        'nested-merge-keeps-siblings.json',
        'object-replaces-scalar.json',
        'scalar-replaces-object.json',
        'array-replaces-array.json',
        'array-metadata-per-element.json',
        'array-of-objects-metadata.json',
        'key-named-timestamp.json',
      ]),
    );
  });

  it.each(cases)('%s', (_name, merge) => {
    // Frozen inputs: a merge that writes into them throws instead of passing.
    const current = deepFreeze(structuredClone(merge.current));
    const currentMetadata = deepFreeze(structuredClone(merge.currentMetadata));
    const patch = deepFreeze(structuredClone(merge.patch));

    const result = mergeSection(current, currentMetadata, patch, merge.timestamp);

    expect(result, merge.rule).toStrictEqual({ state: merge.state, metadata: merge.metadata });
  });

  it.each(cases)('%s leaves its inputs as they were and returns new objects', (_name, merge) => {
    const current = structuredClone(merge.current);
    const currentMetadata = structuredClone(merge.currentMetadata);
    const patch = structuredClone(merge.patch);

    const result = mergeSection(current, currentMetadata, patch, merge.timestamp);

    expect({ current, currentMetadata, patch }).toStrictEqual({
      current: merge.current,
      currentMetadata: merge.currentMetadata,
      patch: merge.patch,
    });
    expect(result.state).not.toBe(current);
    expect(result.metadata).not.toBe(currentMetadata);
  });
});

describe('metadataFor (rules 31–32)', () => {
  it.each<[string, JsonValue, Metadata]>([
    ['a string', 'red', { timestamp: 9 }],
    ['a number', 0, { timestamp: 9 }],
    ['false', false, { timestamp: 9 }],
    ['an array, one entry per element', [1, 2], [{ timestamp: 9 }, { timestamp: 9 }]],
    ['an empty array', [], []],
    ['an object, key by key', { a: 1, b: { c: 'x' } }, { a: { timestamp: 9 }, b: { c: { timestamp: 9 } } }],
    ['an object with a null, which stores nothing', { a: 1, b: null }, { a: { timestamp: 9 } }],
    ['an empty object (Q13)', {}, {}],
    ['an array of objects and arrays', [{ a: 1 }, [2]], [{ a: { timestamp: 9 } }, [{ timestamp: 9 }]]],
  ])('%s', (_case, value, expected) => {
    const act = () => metadataFor(value, 9);

    const metadata = act();

    expect(metadata).toStrictEqual(expected);
  });
});

describe('requestMetadata: what /update/accepted reports for a section (rule 42)', () => {
  it.each<[string, JsonObject, MetadataObject]>([
    ['scalars', { a: 1, b: 'x' }, { a: { timestamp: 9 }, b: { timestamp: 9 } }],
    ['a null, still timestamped', { a: null }, { a: { timestamp: 9 } }],
    [
      'a nested null, still timestamped',
      { a: { b: null, c: 1 } },
      { a: { b: { timestamp: 9 }, c: { timestamp: 9 } } },
    ],
    ['an array, per element', { a: ['x', 'y'] }, { a: [{ timestamp: 9 }, { timestamp: 9 }] }],
    ['an empty object', { a: {} }, { a: {} }],
    ['an empty patch', {}, {}],
  ])('%s', (_case, patch, expected) => {
    const act = () => requestMetadata(patch, 9);

    const metadata = act();

    expect(metadata).toStrictEqual(expected);
  });
});

describe('isLeafMetadata', () => {
  it.each<[string, Metadata | undefined, boolean]>([
    ['{timestamp: number}', { timestamp: 5 }, true],
    ['the metadata of a state key named timestamp', { timestamp: { timestamp: 5 } }, false],
    ['an object of leaves', { a: { timestamp: 5 } }, false],
    ['an empty object', {}, false],
    ['an array', [{ timestamp: 5 }], false],
    ['undefined', undefined, false],
  ])('%s → %s', (_case, metadata, expected) => {
    const act = () => isLeafMetadata(metadata);

    const leaf = act();

    expect(leaf).toBe(expected);
  });
});
