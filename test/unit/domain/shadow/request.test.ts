import { describe, expect, it } from 'vitest';
import {
  AWS_SHADOW_LIMITS,
  type PlainRequest,
  type ShadowLimits,
  type UpdateRequest,
} from '../../../../lambdas/domain/shadow/document.ts';
import { SHADOW_MESSAGES } from '../../../../lambdas/domain/shadow/errors.ts';
import { type JsonObject, type JsonValue, jsonByteLength } from '../../../../lambdas/domain/shadow/json.ts';
import {
  nestingDepth,
  parsePlainRequest,
  parseUpdateRequest,
} from '../../../../lambdas/domain/shadow/request.ts';
import { type Outcome, outcomeOf } from './support.ts';

type Payload = string | Uint8Array;

const json = (value: unknown): string => JSON.stringify(value);
const update = (state: JsonValue, extra: JsonObject = {}): string => json({ state, ...extra });

/** `{k1: {k2: … {kn: leaf}}}` */
function nest(keys: readonly string[], leaf: JsonValue): JsonValue {
  return keys.reduceRight<JsonValue>((inner, key) => ({ [key]: inner }), leaf);
}

/** Rule 17's examples, with the section object itself as level 1. */
const depth6 = nest(['a', 'b', 'c', 'd', 'e', 'f'], 1); // desired(1) a(2) … e(6), f is a leaf
const depth7 = nest(['a', 'b', 'c', 'd', 'e', 'f', 'g'], 1); // f(7) holds a leaf: one level too many
const arrays6 = nest(['a', 'b', 'c', 'd'], [[1]]); // d's array is level 5, the inner array level 6
const arrays7 = nest(['a', 'b', 'c', 'd'], [[[1]]]);
const depth9 = nest(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], 1);

/**
 * A `state` whose compact JSON (`{"desired":{"k":"xxx…"}}`, the unit rule 18 and GG measure: desired +
 * reported as UTF-8 JSON, no metadata) is exactly `bytes` long, padded with `char`.
 */
function stateOfBytes(bytes: number, char = 'x'): JsonObject {
  const overhead = jsonByteLength({ desired: { k: '' } });
  const charBytes = Buffer.byteLength(char, 'utf8');
  const state = { desired: { k: char.repeat(Math.floor((bytes - overhead) / charBytes)) } };
  if (jsonByteLength(state) !== bytes) throw new Error(`cannot pad to ${bytes} bytes with '${char}'`);
  return state;
}

/** 800 `"kNNN": null` deletions: about 9 KB of request, nothing stored by it. */
const manyDeletions: JsonObject = Object.fromEntries(
  Array.from({ length: 800 }, (_, i) => [`k${String(i).padStart(3, '0')}`, null]),
);

const raised: ShadowLimits = { maxStateBytes: 30_720, maxDepth: 8, maxClientTokenBytes: 64 };

const euro64 = `${'€'.repeat(21)}x`; // 21 × 3 + 1 = 64 bytes
const euro66 = '€'.repeat(22); // 22 characters, 66 bytes

describe('parseUpdateRequest refuses', () => {
  it.each<[string, Payload, ShadowLimits, Outcome]>([
    [
      'a payload that is not UTF-8 (Latin-1 é), 415 with the exact message (rule 7)',
      Buffer.from('{"state":{"reported":{"name":"café"}}}', 'latin1'),
      AWS_SHADOW_LIMITS,
      { code: 415, message: 'Unsupported documented encoding; supported encoding is UTF-8' },
    ],
    [
      'a UTF-16LE payload with its byte-order mark (rule 7)',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"state":{}}', 'utf16le')]),
      AWS_SHADOW_LIMITS,
      { code: 415, message: 'Unsupported documented encoding; supported encoding is UTF-8' },
    ],
    [
      'invalid JSON (rule 8)',
      '{"state":{"desired":{"a":1}}',
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid JSON' },
    ],
    ['an empty body (Q7)', '', AWS_SHADOW_LIMITS, { code: 400, message: 'Invalid JSON' }],
    [
      'an empty byte payload (Q7)',
      new Uint8Array(0),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid JSON' },
    ],
    [
      'a body without state (rule 9)',
      json({ desired: { a: 1 } }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Missing required node: state' },
    ],
    [
      'state spelled with a capital (keys are case sensitive, rule 9)',
      json({ State: { desired: { a: 1 } } }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Missing required node: state' },
    ],
    [
      'state as a string (rule 9)',
      update('on'),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'State node must be an object' },
    ],
    [
      'state as a number (rule 9)',
      update(1),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'State node must be an object' },
    ],
    [
      'state as an array (rule 9)',
      update([{ desired: { a: 1 } }]),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'State node must be an object' },
    ],
    [
      'state as true (rule 9)',
      update(true),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'State node must be an object' },
    ],
    [
      'desired as a string (rule 9)',
      update({ desired: 'red' }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Desired node must be an object' },
    ],
    [
      'desired as an array (rule 9)',
      update({ desired: ['red'] }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Desired node must be an object' },
    ],
    [
      'desired as false (rule 9)',
      update({ desired: false }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Desired node must be an object' },
    ],
    [
      'reported as a number (rule 9)',
      update({ reported: 3 }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Reported node must be an object' },
    ],
    [
      'reported as an array (rule 9)',
      update({ reported: [] }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Reported node must be an object' },
    ],
    [
      'delta inside state, named in single quotes (rule 9)',
      update({ desired: { a: 1 }, delta: { a: 1 } }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: "State contains an invalid node: 'delta'" },
    ],
    [
      'metadata inside state, named in single quotes (rule 9)',
      update({ metadata: { desired: {} } }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: "State contains an invalid node: 'metadata'" },
    ],
    [
      'foo inside state, named in single quotes (rule 9)',
      update({ foo: 1 }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: "State contains an invalid node: 'foo'" },
    ],
    [
      'null inside an array in desired (rule 14, Q7)',
      update({ desired: { colors: [null, 'RED', 'GREEN'] } }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid JSON' },
    ],
    [
      'null inside a nested array in reported (rule 14, Q7)',
      update({
        reported: {
          grid: [
            [1, 2],
            [3, null],
          ],
        },
      }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid JSON' },
    ],
    [
      'null inside an array deep in objects (rule 14, Q7)',
      update({ desired: { a: { b: { list: [1, null] } } } }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid JSON' },
    ],
    [
      'null inside an object inside an array (rule 14, Q7: arrays are replaced whole, a null there means nothing)',
      update({ reported: { sensors: [{ id: 1, offset: null }] } }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid JSON' },
    ],
    [
      'a clientToken of 22 × € (22 characters but 66 bytes, rule 15)',
      update({}, { clientToken: euro66 }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid clientToken' },
    ],
    [
      'a clientToken of 65 ASCII characters (rule 15)',
      update({}, { clientToken: 'a'.repeat(65) }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid clientToken' },
    ],
    [
      'a numeric clientToken (Q7)',
      update({}, { clientToken: 42 }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid clientToken' },
    ],
    [
      'an empty clientToken (Q7)',
      update({}, { clientToken: '' }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid clientToken' },
    ],
    [
      'a fractional version (rule 16, Q7)',
      update({}, { version: 1.5 }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid version' },
    ],
    [
      'a negative version (rule 16, Q7)',
      update({}, { version: -1 }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid version' },
    ],
    [
      'a version as a string (rule 16, Q7)',
      update({}, { version: '3' }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid version' },
    ],
    [
      'a null version (rule 16)',
      update({}, { version: null }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'Invalid version' },
    ],
    [
      "rule 17's first refused desired: a leaf at level 7",
      update({ desired: depth7 }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'JSON contains too many levels of nesting; maximum is 6' },
    ],
    [
      'the same depth in reported (rule 17)',
      update({ reported: depth7 }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'JSON contains too many levels of nesting; maximum is 6' },
    ],
    [
      'arrays counting as levels: [[[1]]] under four keys (rule 17)',
      update({ desired: arrays7 }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'JSON contains too many levels of nesting; maximum is 6' },
    ],
    [
      'an empty object at level 7 (Q1: empty containers count)',
      update({ desired: nest(['a', 'b', 'c', 'd', 'e', 'f'], {}) }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'JSON contains too many levels of nesting; maximum is 6' },
    ],
    [
      'an empty array at level 7 (Q1: empty containers count)',
      update({ reported: nest(['a', 'b', 'c', 'd', 'e', 'f'], []) }),
      AWS_SHADOW_LIMITS,
      { code: 400, message: 'JSON contains too many levels of nesting; maximum is 6' },
    ],
    [
      'nine levels with maxDepth raised to 8, naming the configured maximum',
      update({ desired: depth9 }),
      raised,
      { code: 400, message: 'JSON contains too many levels of nesting; maximum is 8' },
    ],
    [
      'a state one byte over maxStateBytes (rule 18)',
      update(stateOfBytes(8193)),
      AWS_SHADOW_LIMITS,
      { code: 413, message: 'The payload exceeds the maximum size allowed' },
    ],
    [
      'a state over the limit in bytes though under it in characters: 2 730 × € (rule 18)',
      update(stateOfBytes(8210, '€')),
      AWS_SHADOW_LIMITS,
      { code: 413, message: 'The payload exceeds the maximum size allowed' },
    ],
    [
      'a state over a raised limit',
      update(stateOfBytes(30_721)),
      raised,
      { code: 413, message: 'The payload exceeds the maximum size allowed' },
    ],
  ])('%s', (_rule, payload, limits, expected) => {
    const act = () => parseUpdateRequest(payload, limits);

    const outcome = outcomeOf(act);

    expect(outcome).toStrictEqual(expected);
  });
});

describe('parseUpdateRequest accepts', () => {
  it.each<[string, Payload, ShadowLimits, UpdateRequest]>([
    [
      'a desired update, as a string',
      update({ desired: { color: 'red' } }),
      AWS_SHADOW_LIMITS,
      { state: { desired: { color: 'red' } } },
    ],
    [
      'a reported update, as UTF-8 bytes with multi-byte characters',
      Buffer.from(update({ reported: { name: 'café €' } }), 'utf8'),
      AWS_SHADOW_LIMITS,
      { state: { reported: { name: 'café €' } } },
    ],
    ['state: null, which empties the shadow (rule 10)', update(null), AWS_SHADOW_LIMITS, { state: null }],
    ['state: {}, which changes nothing (rule 11)', update({}), AWS_SHADOW_LIMITS, { state: {} }],
    ['desired: {} (rule 11)', update({ desired: {} }), AWS_SHADOW_LIMITS, { state: { desired: {} } }],
    [
      'desired: null, which removes the section (rule 12)',
      update({ desired: null }),
      AWS_SHADOW_LIMITS,
      { state: { desired: null } },
    ],
    [
      'reported: null next to a desired update (rule 12)',
      update({ desired: { a: 1 }, reported: null }),
      AWS_SHADOW_LIMITS,
      { state: { desired: { a: 1 }, reported: null } },
    ],
    [
      'key: null at any depth, kept for the merge (rule 13)',
      update({ desired: { a: null, b: { c: null } } }),
      AWS_SHADOW_LIMITS,
      { state: { desired: { a: null, b: { c: null } } } },
    ],
    [
      'keys outside state other than clientToken and version, ignored (rule 9)',
      update(
        { reported: { a: 1 } },
        { metadata: { reported: {} }, timestamp: 1, desired: { b: 2 }, foo: 'x' },
      ),
      AWS_SHADOW_LIMITS,
      { state: { reported: { a: 1 } } },
    ],
    [
      'clientToken and version next to state (rule 9)',
      update({ desired: { a: 1 } }, { clientToken: 'token-1', version: 7 }),
      AWS_SHADOW_LIMITS,
      { state: { desired: { a: 1 } }, clientToken: 'token-1', version: 7 },
    ],
    ['version 0 (Q6)', update({}, { version: 0 }), AWS_SHADOW_LIMITS, { state: {}, version: 0 }],
    [
      'a clientToken of exactly 64 bytes in multi-byte characters (rule 15)',
      update({}, { clientToken: euro64 }),
      AWS_SHADOW_LIMITS,
      { state: {}, clientToken: euro64 },
    ],
    [
      'a clientToken of 64 ASCII characters (rule 15)',
      update({}, { clientToken: 'a'.repeat(64) }),
      AWS_SHADOW_LIMITS,
      { state: {}, clientToken: 'a'.repeat(64) },
    ],
    [
      "rule 17's deepest accepted desired: a leaf under level 6",
      update({ desired: depth6 }),
      AWS_SHADOW_LIMITS,
      { state: { desired: depth6 as JsonObject } },
    ],
    [
      'the same depth in reported (rule 17)',
      update({ reported: depth6 }),
      AWS_SHADOW_LIMITS,
      { state: { reported: depth6 as JsonObject } },
    ],
    [
      'the deepest desired and the deepest reported together: each section counts alone (rule 17)',
      update({ desired: depth6, reported: depth6 }),
      AWS_SHADOW_LIMITS,
      { state: { desired: depth6 as JsonObject, reported: depth6 as JsonObject } },
    ],
    [
      "AWS's own 5-level example, five: {} (rule 17, Q1)",
      update({ desired: { one: { two: { three: { four: { five: {} } } } } } }),
      AWS_SHADOW_LIMITS,
      { state: { desired: { one: { two: { three: { four: { five: {} } } } } } } },
    ],
    [
      'arrays at the limit: [[1]] under four keys (rule 17)',
      update({ desired: arrays6 }),
      AWS_SHADOW_LIMITS,
      { state: { desired: arrays6 as JsonObject } },
    ],
    [
      'one level past AWS with maxDepth raised to 8',
      update({ desired: depth7 }),
      raised,
      { state: { desired: depth7 as JsonObject } },
    ],
    [
      'a state of exactly maxStateBytes (rule 18)',
      update(stateOfBytes(8192)),
      AWS_SHADOW_LIMITS,
      { state: stateOfBytes(8192) },
    ],
    [
      'a state over 8 KB with maxStateBytes raised (rule 46)',
      update(stateOfBytes(8193)),
      raised,
      { state: stateOfBytes(8193) },
    ],
    [
      'a request over 8 KB made only of deletions: the limit applies to the merged state, not the request (rule 18)',
      update({ desired: manyDeletions }),
      AWS_SHADOW_LIMITS,
      { state: { desired: manyDeletions } },
    ],
  ])('%s', (_rule, payload, limits, expected) => {
    const act = () => parseUpdateRequest(payload, limits);

    const parsed = act();

    expect(parsed).toStrictEqual(expected);
  });
});

/**
 * Rules 7–18 are listed in the order GG checks them, which the spec recommends ("Order of checks …
 * the order below is the one GG uses and the one we recommend"). With two faults, the earlier rule wins.
 */
describe('parseUpdateRequest checks in the order of spec §2', () => {
  it.each<[string, Payload, Outcome]>([
    [
      'encoding (7) before JSON (8)',
      Buffer.from([0x7b, 0xff, 0x7b]),
      { code: 415, message: SHADOW_MESSAGES.unsupportedEncoding },
    ],
    [
      'missing state (9) before a bad clientToken (15)',
      json({ clientToken: 5 }),
      { code: 400, message: SHADOW_MESSAGES.missingState },
    ],
    [
      'state not an object (9) before a bad clientToken (15)',
      update('on', { clientToken: '' }),
      { code: 400, message: SHADOW_MESSAGES.stateNotObject },
    ],
    [
      'state not an object (9) before a bad version (16)',
      update(1, { version: 'x' }),
      { code: 400, message: SHADOW_MESSAGES.stateNotObject },
    ],
    [
      'desired not an object (9) before a bad clientToken (15)',
      update({ desired: 1 }, { clientToken: 7 }),
      { code: 400, message: SHADOW_MESSAGES.desiredNotObject },
    ],
    [
      'desired not an object before an invalid node (the order of the bullets of rule 9)',
      update({ desired: 1, delta: {} }),
      { code: 400, message: SHADOW_MESSAGES.desiredNotObject },
    ],
    [
      'null in an array (14) before a bad clientToken (15)',
      update({ desired: { a: [null] } }, { clientToken: '' }),
      { code: 400, message: SHADOW_MESSAGES.invalidJson },
    ],
    [
      'null in an array (14) before too many levels (17)',
      update({ desired: nest(['a', 'b', 'c', 'd', 'e'], [[null]]) }),
      { code: 400, message: SHADOW_MESSAGES.invalidJson },
    ],
    [
      'clientToken (15) before version (16)',
      update({}, { clientToken: '', version: -1 }),
      { code: 400, message: SHADOW_MESSAGES.invalidClientToken },
    ],
    [
      'version (16) before nesting (17)',
      update({ desired: depth7 }, { version: 'x' }),
      { code: 400, message: SHADOW_MESSAGES.invalidVersion },
    ],
    [
      'nesting (17) before size (18)',
      update({ desired: { big: 'x'.repeat(9000), deep: depth7 } }),
      { code: 400, message: SHADOW_MESSAGES.tooDeep(6) },
    ],
  ])('%s', (_order, payload, expected) => {
    const act = () => parseUpdateRequest(payload, AWS_SHADOW_LIMITS);

    const outcome = outcomeOf(act);

    expect(outcome).toStrictEqual(expected);
  });
});

describe('parsePlainRequest (get and delete, rule 19)', () => {
  it.each<[string, Payload, PlainRequest]>([
    ['an empty string', '', {}],
    ['an empty byte payload', new Uint8Array(0), {}],
    ['{}', '{}', {}],
    ['a clientToken, echoed later', json({ clientToken: 'x' }), { clientToken: 'x' }],
    ['a clientToken of exactly 64 bytes', json({ clientToken: euro64 }), { clientToken: euro64 }],
    ['a version, for delete', json({ version: 3 }), { version: 3 }],
    [
      'unknown keys, ignored',
      json({ clientToken: 'x', state: { desired: {} }, foo: 1 }),
      { clientToken: 'x' },
    ],
    ['invalid JSON: any payload is accepted, nothing to echo (rule 19)', '{"clientToken":', {}],
    ['a JSON array: not an object, nothing to echo (rule 19)', '[1]', {}],
    ['a JSON string (rule 19)', '"x"', {}],
    ['JSON null (rule 19)', 'null', {}],
    ['bytes that are not UTF-8: content ignored (rule 19)', Buffer.from([0xff, 0xfe, 0x00]), {}],
  ])('accepts %s', (_case, payload, expected) => {
    const act = () => parsePlainRequest(payload, AWS_SHADOW_LIMITS);

    const parsed = act();

    expect(parsed).toStrictEqual(expected);
  });

  it.each<[string, Payload, Outcome]>([
    [
      'a clientToken of 22 × € (66 bytes, rule 15)',
      json({ clientToken: euro66 }),
      { code: 400, message: 'Invalid clientToken' },
    ],
    ['a numeric clientToken (Q7)', json({ clientToken: 1 }), { code: 400, message: 'Invalid clientToken' }],
    ['an empty clientToken (Q7)', json({ clientToken: '' }), { code: 400, message: 'Invalid clientToken' }],
    ['a negative version (Q7)', json({ version: -2 }), { code: 400, message: 'Invalid version' }],
  ])('refuses %s', (_case, payload, expected) => {
    const act = () => parsePlainRequest(payload, AWS_SHADOW_LIMITS);

    const outcome = outcomeOf(act);

    expect(outcome).toStrictEqual(expected);
  });
});

describe('nestingDepth (objects and arrays count, leaves do not; Q1)', () => {
  it.each<[string, unknown, number]>([
    ['a scalar', 1, 0],
    ['null', null, 0],
    ['an empty object', {}, 1],
    ['an empty array', [], 1],
    ['an object of scalars', { a: 1, b: 'x' }, 1],
    ['an array in an array', [[1]], 2],
    ['the deepest branch wins', { a: 1, b: { c: [{ d: 1 }] }, e: {} }, 4],
    ["rule 17's deepest accepted desired", depth6, 6],
  ])('%s', (_case, node, expected) => {
    const act = () => nestingDepth(node);

    const depth = act();

    expect(depth).toBe(expected);
  });
});
