/**
 * Golomb–Rice coding of non-negative integers, as FLAC codes its residuals (FLAC format, "RESIDUAL_CODING_
 * METHOD_PARTITIONED_RICE"): a value `v` with parameter `k` is `⌊v / 2^k⌋` one-bits, a zero-bit, then the
 * low `k` bits of `v`. For the roughly geometric residuals of a predicted time series it comes within a
 * fraction of a bit of their entropy, with a code table of one number per column.
 *
 * Values go up to 2^53 − 1, so all arithmetic here is on doubles with powers of two, never 32-bit shifts.
 */

const POW2: readonly number[] = Array.from({ length: 54 }, (_, i) => 2 ** i);

/** Largest Rice parameter: k low bits of a value below 2^53. */
export const MAX_RICE_K = 52;

/** Marks a column whose residuals are all zero: it takes no bits at all. */
export const ALL_ZERO_K = -1;

/** Maps signed to unsigned so small magnitudes of either sign stay small: 0, −1, 1, −2 → 0, 1, 2, 3. */
export const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1);
/** Inverse of {@link zigzag}. */
export const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2);

/** The cheapest Rice parameter for `values` and its cost in bits; {@link ALL_ZERO_K} and 0 bits when all are zero. */
export function bestRiceParameter(values: readonly number[]): { k: number; bits: number } {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  if (max === 0) return { k: ALL_ZERO_K, bits: 0 };
  let best = { k: 0, bits: Number.POSITIVE_INFINITY };
  for (let k = 0; k <= MAX_RICE_K; k++) {
    const divisor = POW2[k] as number;
    let bits = values.length * (k + 1);
    for (const v of values) bits += Math.floor(v / divisor);
    if (bits < best.bits) best = { k, bits };
    // Beyond the largest value's width, a bigger k only adds bits.
    if (divisor > max) break;
  }
  return best;
}

/** Appends bits, most significant first, into bytes. */
export class BitWriter {
  private readonly bytes: number[] = [];
  private current = 0;
  private used = 0;

  private bit(b: number): void {
    this.current = (this.current << 1) | b;
    if (++this.used === 8) {
      this.bytes.push(this.current);
      this.current = 0;
      this.used = 0;
    }
  }

  /** The low `count` bits of `value` (below 2^53), most significant first. */
  bits(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) this.bit(Math.floor(value / (POW2[i] as number)) % 2);
  }

  /** `value` Rice-coded with parameter `k`. */
  rice(value: number, k: number): void {
    const divisor = POW2[k] as number;
    for (let q = Math.floor(value / divisor); q > 0; q--) this.bit(1);
    this.bit(0);
    this.bits(value % divisor, k);
  }

  /** The bytes written, the last one padded with zero bits. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.bytes.length + (this.used === 0 ? 0 : 1));
    out.set(this.bytes);
    if (this.used !== 0) out[this.bytes.length] = (this.current << (8 - this.used)) & 0xff;
    return out;
  }
}

/** Thrown by {@link BitReader} when the bits run out or a value cannot be exact; the codec words the reason. */
export class BitStreamError extends Error {
  override readonly name = 'BitStreamError';
}

/**
 * Reads what {@link BitWriter} wrote. A byte at a time rather than a bit at a time: the stream
 * processor decodes every reading of every batch through it.
 */
export class BitReader {
  private position = 0;
  private readonly length: number;

  constructor(private readonly bytes: Uint8Array) {
    this.length = bytes.length * 8;
  }

  /** Bits not read yet. */
  get remaining(): number {
    return this.length - this.position;
  }

  bits(count: number): number {
    if (count === 0) return 0;
    let position = this.position;
    if (position + count > this.length) throw new BitStreamError('bit stream ends inside a value');
    if (count <= 24) {
      // The common case (headers, Rice remainders): one 32-bit load, since offset + count < 32.
      const at = position >>> 3;
      const bytes = this.bytes;
      const word =
        ((bytes[at] as number) << 24) |
        ((bytes[at + 1] ?? 0) << 16) |
        ((bytes[at + 2] ?? 0) << 8) |
        (bytes[at + 3] ?? 0);
      this.position = position + count;
      return (word << (position & 7)) >>> (32 - count);
    }
    let value = 0;
    let left = count;
    while (left > 0) {
      const available = 8 - (position & 7);
      const take = Math.min(available, left);
      const chunk = ((this.bytes[position >>> 3] as number) >>> (available - take)) & ((1 << take) - 1);
      // Multiply rather than shift: values go past 32 bits.
      value = value * (1 << take) + chunk;
      position += take;
      left -= take;
    }
    this.position = position;
    return value;
  }

  rice(k: number): number {
    // The unary part: count the one-bits up to the first zero, a byte at a time.
    let q = 0;
    let position = this.position;
    for (;;) {
      if (position >= this.length) throw new BitStreamError('bit stream ends inside a value');
      const offset = position & 7;
      const inverted = ~((this.bytes[position >>> 3] as number) << offset) & 0xff;
      const ones = Math.clz32(inverted) - 24;
      if (ones < 8 - offset) {
        q += ones;
        position += ones + 1;
        break;
      }
      q += 8 - offset;
      position += 8 - offset;
    }
    this.position = position;
    const value = q * (POW2[k] as number) + this.bits(k);
    if (!Number.isSafeInteger(value)) throw new BitStreamError('a residual exceeds 2^53');
    return value;
  }

  /** Whether every bit left (the padding of the last byte) is zero. */
  restIsZero(): boolean {
    while (this.position < this.length) if (this.bits(1) !== 0) return false;
    return true;
  }
}
