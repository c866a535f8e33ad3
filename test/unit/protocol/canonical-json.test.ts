import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalJson } from '../../../lib/protocol/canonical-json.ts';

describe('canonicalJson (RFC 8785)', () => {
  it('serializes the example of §3.2.2: literals, numbers as ECMAScript prints them, minimal string escapes', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], ' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts property names by UTF-16 code units (§3.2.3 example), recursively', () => {
    const input = JSON.parse(
      '{"\\u20ac": 1, "\\r": 2, "\\ufb33": 3, "1": 4, "\\ud83d\\ude00": 5, "\\u0080": 6, "\\u00f6": 7, "n": {"b": 1, "a": 2}}',
    );
    // Read the order off the text: a parsed object would list the integer-like key '1' first.
    const keys = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) =>
      JSON.parse(`"${m[1]}"`),
    );
    expect(keys).toEqual(['\r', '1', 'n', 'a', 'b', '\u0080', 'ö', '€', '😀', '\ufb33']);
    expect(canonicalJson(input)).toContain('"n":{"a":2,"b":1}');
  });

  it('is the same for the same value whatever the key order, and leaves out undefined members', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: true, c: 'x' }], z: undefined })).toBe(
      canonicalJson({ a: [1, { c: 'x', d: true }], b: 1 }),
    );
  });

  it.each([
    ['NaN', { n: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['undefined in an array', [1, undefined]],
  ])('refuses what JSON cannot carry: %s', (_name, value) => {
    expect(() => canonicalJson(value as never)).toThrow(CanonicalJsonError);
  });
});
