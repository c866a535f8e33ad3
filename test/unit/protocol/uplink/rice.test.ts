import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../../edge/src/sensors/random.ts';
import {
  ALL_ZERO_K,
  BitReader,
  BitStreamError,
  BitWriter,
  bestRiceParameter,
  unzigzag,
  zigzag,
} from '../../../../lib/protocol/uplink/rice.ts';

describe('zigzag', () => {
  it.each<[number, number]>([
    [0, 0],
    [-1, 1],
    [1, 2],
    [-2, 3],
    [2, 4],
    [2 ** 51, 2 ** 52],
    [-(2 ** 51), 2 ** 52 - 1],
  ])('maps %d to %d and back', (signed, unsigned) => {
    expect(zigzag(signed)).toBe(unsigned);
    expect(unzigzag(unsigned)).toBe(signed);
  });
});

describe('Rice coding', () => {
  it.each<[string, number[], number, number]>([
    ['all zero: no bits at all', [0, 0, 0], ALL_ZERO_K, 0],
    ['zeros and ones: k 0, one or two bits each', [0, 1, 0, 0], 0, 5],
    ['values around 20: k 4', [18, 22, 19, 25], 4, 24],
  ])('picks the cheapest parameter for %s', (_name, values, k, bits) => {
    expect(bestRiceParameter(values)).toEqual({ k, bits });
  });

  it('writes and reads back random values with random parameters, up to 2^53 - 1', () => {
    // Prepare
    const random = seededRandom('rice');
    const items = Array.from({ length: 2_000 }, () => {
      const k = Math.floor(random() * 53);
      const quotient = Math.floor(random() * 4);
      const value = Math.min(Number.MAX_SAFE_INTEGER, quotient * 2 ** k + Math.floor(random() * 2 ** k));
      return { k, value };
    });
    items.push({ k: 52, value: Number.MAX_SAFE_INTEGER });
    const writer = new BitWriter();

    // Act
    for (const { k, value } of items) writer.rice(value, k);
    const reader = new BitReader(writer.finish());
    const read = items.map(({ k }) => reader.rice(k));

    // Assess
    expect(read).toEqual(items.map((i) => i.value));
    expect(reader.remaining).toBeLessThan(8);
    expect(reader.restIsZero()).toBe(true);
  });

  it('costs exactly what bestRiceParameter says', () => {
    // Prepare
    const values = Array.from({ length: 100 }, (_, i) => (i * 37) % 50);
    const { k, bits } = bestRiceParameter(values);
    const writer = new BitWriter();

    // Act
    for (const v of values) writer.rice(v, k);

    // Assess
    expect(writer.finish().length).toBe(Math.ceil(bits / 8));
  });

  it('refuses to read past the end, and a unary run that makes a value beyond 2^53', () => {
    expect(() => new BitReader(new Uint8Array([0xff])).rice(0)).toThrow(BitStreamError);
    // Quotient 2 (bits 110) and 52 one-bits: 2 × 2^52 + 2^52 − 1 is past 2^53.
    const tooBig = new Uint8Array([0b11011111, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect(() => new BitReader(tooBig).rice(52)).toThrow(/exceeds 2\^53/);
  });
});
