import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey } from '../../../../lib/local/streams/murmur2.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('murmur2', () => {
  // Kafka's own test vectors: clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java (testMurmur2).
  it.each<[string, number]>([
    ['21', -973932308],
    ['foobar', -790332482],
    ['a-little-bit-long-string', -985981536],
    ['a-little-bit-longer-string', -1486304829],
    ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
    ['abc', 479470107],
  ])('hashes %j as Kafka does', (input, expected) => {
    expect(murmur2(utf8(input))).toBe(expected);
  });
});

describe('partitionForKey', () => {
  it('maps a negative hash with the sign bit cleared, not Math.abs (Kafka toPositive)', () => {
    // -973932308 & 0x7fffffff = 1173551340; Math.abs would give 973932308, another partition mod 7.
    expect(partitionForKey('21', 7)).toBe(1173551340 % 7);
    expect(partitionForKey('21', 7)).not.toBe(973932308 % 7);
  });

  it('keeps every key in range and one key in one partition', () => {
    const keys = Array.from({ length: 200 }, (_, i) => `sim-${i}`);
    for (const key of keys) {
      const partition = partitionForKey(key, 6);
      expect(partition).toBeGreaterThanOrEqual(0);
      expect(partition).toBeLessThan(6);
      expect(partitionForKey(key, 6)).toBe(partition);
    }
    expect(new Set(keys.map((key) => partitionForKey(key, 6))).size).toBe(6);
  });
});
