/**
 * Shares of a fleet in exact arithmetic. `Math.ceil(count * percent / 100)` rounds twice in binary
 * floating point before it rounds up: 1.1 % of 100,000 is 110000.00000000001 / 100 and comes out as
 * 1,101 devices, not 1,100. A percentage is what an operator wrote in decimal, so it is read back as
 * that decimal (the shortest text that round-trips the double) and the share is computed with integers.
 */

/** A non-negative decimal number as the exact fraction `numerator / 10^scale`. */
export interface DecimalFraction {
  readonly numerator: bigint;
  readonly scale: number;
}

const DECIMAL = /^(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/;

/**
 * The decimal an operator wrote, from the double it was parsed into: `1.1` → 11 / 10¹, `1e-7` → 1 / 10⁷.
 * JavaScript prints a double as the shortest decimal that parses back to it (ECMA-262
 * Number::toString), so this is exactly the number in the request body.
 */
export function decimalFraction(value: number): DecimalFraction {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`expected a finite number >= 0, got ${value}`);
  const match = DECIMAL.exec(String(value));
  if (match === null) throw new RangeError(`cannot read ${value} as a decimal`);
  const [, whole = '', fraction = '', exponent = '0'] = match;
  const shift = Number(exponent) - fraction.length;
  const digits = BigInt(whole + fraction);
  return shift >= 0
    ? { numerator: digits * 10n ** BigInt(shift), scale: 0 }
    : { numerator: digits, scale: -shift };
}

/**
 * `percent` % of `count`, rounded up or down, exactly. `count` is a whole number of devices.
 *
 * @param rounding `ceil` for wave ends (a 1 % wave of a small fleet still has a device), `floor` for the
 *   control cohort (it never takes the only device of a tiny rollout)
 */
export function shareOf(count: number, percent: number, rounding: 'ceil' | 'floor'): number {
  if (!Number.isSafeInteger(count) || count < 0)
    throw new RangeError(`expected a device count, got ${count}`);
  const { numerator, scale } = decimalFraction(percent);
  const product = BigInt(count) * numerator;
  const divisor = 100n * 10n ** BigInt(scale);
  const quotient = product / divisor;
  return Number(rounding === 'ceil' && quotient * divisor !== product ? quotient + 1n : quotient);
}
