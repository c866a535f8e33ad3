/*
 * Checks the rollout schemas share (rollouts.ts, rollout-targets.ts, rollout-controls.ts); internal to
 * them, not part of the protocol's exports.
 */

/** At most `digits` digits after the decimal point, as AWS IoT limits some doubles. */
export function decimals(digits: number) {
  const scale = 10 ** digits;
  return (value: number) => Math.abs(value * scale - Math.round(value * scale)) < 1e-6;
}

/** How many of `keys` the object sets: for "exactly one of" and "at least one of" rules. */
export function countDefined(object: object, keys: readonly string[]): number {
  return keys.filter((key) => (object as Record<string, unknown>)[key] !== undefined).length;
}
