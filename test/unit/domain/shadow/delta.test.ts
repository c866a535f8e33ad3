import { describe, expect, it } from 'vitest';
import { computeDelta, deltaMetadata } from '../../../../lambdas/domain/shadow/delta.ts';
import type { MetadataObject } from '../../../../lambdas/domain/shadow/document.ts';
import type { JsonObject } from '../../../../lambdas/domain/shadow/json.ts';
import { deepFreeze } from './support.ts';

describe('computeDelta, one row per part of rule 37', () => {
  it.each<[string, JsonObject | undefined, JsonObject | undefined, JsonObject | undefined]>([
    ['a key missing in reported is in the delta', { color: 'red' }, { power: 'on' }, { color: 'red' }],
    [
      'no reported section at all: the whole desired is the delta',
      { color: 'red', n: 1 },
      undefined,
      { color: 'red', n: 1 },
    ],
    [
      'equal scalars are omitted, and an empty delta is no delta',
      { color: 'red' },
      { color: 'red' },
      undefined,
    ],
    ['a different scalar gives the desired value', { color: 'red' }, { color: 'green' }, { color: 'red' }],
    [
      'a number differs from the same digits as a string (type mismatch)',
      { level: 1 },
      { level: '1' },
      { level: 1 },
    ],
    ['false in desired, missing in reported: falsy values count', { on: false }, {}, { on: false }],
    ['0 equal to 0 is omitted', { level: 0 }, { level: 0 }, undefined],
    [
      'an object against a scalar gives the whole desired object (type mismatch)',
      { mode: { fan: 'high', heat: 'low' } },
      { mode: 'off' },
      { mode: { fan: 'high', heat: 'low' } },
    ],
    [
      'a scalar against an object gives the scalar',
      { mode: 'off' },
      { mode: { fan: 'high' } },
      { mode: 'off' },
    ],
    ['an array against an object gives the array', { mode: [1] }, { mode: { 0: 1 } }, { mode: [1] }],
    [
      "nested objects keep the full path down to each differing leaf (AWS's lights.color.g example)",
      { lights: { color: { r: 255, g: 255, b: 255 } } },
      { lights: { color: { r: 255, g: 0, b: 255 } } },
      { lights: { color: { g: 255 } } },
    ],
    [
      'nested keys only in reported are ignored',
      { lights: { color: { r: 255 } } },
      { lights: { color: { r: 255, g: 0 }, on: true } },
      undefined,
    ],
    [
      'object key order does not matter',
      { a: { x: 1, y: [1, { p: 1, q: 2 }] } },
      { a: { y: [1, { q: 2, p: 1 }], x: 1 } },
      undefined,
    ],
    [
      'arrays are compared whole: one element differs → the whole desired array',
      { colors: ['RED', 'GREEN', 'BLUE'] },
      { colors: ['RED', 'GREEN', 'WHITE'] },
      { colors: ['RED', 'GREEN', 'BLUE'] },
    ],
    [
      'arrays are compared whole: same elements in another order differ',
      { colors: ['RED', 'GREEN'] },
      { colors: ['GREEN', 'RED'] },
      { colors: ['RED', 'GREEN'] },
    ],
    [
      'arrays are compared whole: a shorter reported array differs',
      { colors: ['RED', 'GREEN'] },
      { colors: ['RED'] },
      { colors: ['RED', 'GREEN'] },
    ],
    ['equal arrays are omitted', { rgb: [255, 255, 0] }, { rgb: [255, 255, 0] }, undefined],
    ['a key only in reported is never in the delta', {}, { engine: 'ON' }, undefined],
    [
      "AWS's flat example: color differs, state is missing, engine is only reported",
      { color: 'RED', state: 'STOP' },
      { color: 'GREEN', engine: 'ON' },
      { color: 'RED', state: 'STOP' },
    ],
    ['an empty desired section gives no delta', {}, { a: 1 }, undefined],
    ['no desired section gives no delta', undefined, { a: 1 }, undefined],
    ['no sections at all give no delta', undefined, undefined, undefined],
    ['Q13: {} desired, key missing in reported → {}', { options: {} }, {}, { options: {} }],
    ['Q13: {} desired, {} reported → nothing', { options: {} }, { options: {} }, undefined],
    [
      'Q13: {} desired, reported has keys under it → nothing',
      { options: {} },
      { options: { a: 1 } },
      undefined,
    ],
  ])('%s', (_rule, desired, reported, expected) => {
    deepFreeze(desired);
    deepFreeze(reported);

    const delta = computeDelta(desired, reported);

    expect(delta).toStrictEqual(expected);
  });
});

describe('deltaMetadata: the desired metadata of exactly the delta leaves, same nesting (rule 39)', () => {
  const t1 = { timestamp: 1591141596 };
  const t0 = { timestamp: 1591140517 };

  it.each<[string, JsonObject, MetadataObject | undefined, MetadataObject]>([
    ['flat: only the keys in the delta', { color: 'RED' }, { color: t1, welcome: t0 }, { color: t1 }],
    [
      'nested: the path down to the differing leaf, not its siblings',
      { lights: { color: { g: 255 } } },
      { lights: { color: { r: t0, g: t1, b: t0 }, on: t0 } },
      { lights: { color: { g: t1 } } },
    ],
    [
      'an array: its whole per-element metadata',
      { ColorRGB: [255, 255, 0] },
      { ColorRGB: [t1, t1, t1], ID: t0 },
      { ColorRGB: [t1, t1, t1] },
    ],
    [
      'an object in the delta whole (type mismatch): all its leaves',
      { mode: { fan: 'high', heat: 'low' } },
      { mode: { fan: t1, heat: t0 }, other: t0 },
      { mode: { fan: t1, heat: t0 } },
    ],
    [
      'a state key named timestamp',
      { timestamp: 7, clock: { timestamp: 6 } },
      { timestamp: { timestamp: t1.timestamp }, clock: { timestamp: { timestamp: t0.timestamp }, zone: t0 } },
      { timestamp: { timestamp: t1.timestamp }, clock: { timestamp: { timestamp: t0.timestamp } } },
    ],
    ['Q13: an empty object', { options: {} }, { options: {}, a: t0 }, { options: {} }],
    ['no desired metadata', { color: 'RED' }, undefined, {}],
  ])('%s', (_case, delta, desiredMetadata, expected) => {
    deepFreeze(delta);
    deepFreeze(desiredMetadata);

    const metadata = deltaMetadata(delta, desiredMetadata);

    expect(metadata).toStrictEqual(expected);
  });
});
