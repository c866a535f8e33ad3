import type { RolloutWaves } from '../../../lib/protocol/rollouts.ts';
import { MAX_RATE_PER_MINUTE } from './rate.ts';
import { shareOf } from './share.ts';

/**
 * How many devices each wave gets, out of `count` (control cohort already removed).
 *
 * - `sizes` are cumulative percentages: wave i ends at ⌈count × sizes[i] / 100⌉, in exact arithmetic
 *   ({@link shareOf}), so a 1 % first wave of a small fleet still has a device. Waves that come out
 *   empty are dropped.
 * - `exponentialRate` makes one wave per rate step, as AWS IoT's rollout ramps: each step offers
 *   `rateIncreaseCriteria`'s count of things (after which the rate grows), until the rate would reach
 *   `maximumPerMinute` (or 1000); everything left is the last wave, at the full rate.
 * - Neither: one wave.
 */
export function waveSizes(waves: RolloutWaves | undefined, count: number): number[] {
  if (count <= 0) return [];
  if (waves?.sizes !== undefined) {
    const sizes: number[] = [];
    let done = 0;
    for (const percent of waves.sizes) {
      const end = Math.min(count, shareOf(count, percent, 'ceil'));
      if (end > done) sizes.push(end - done);
      done = Math.max(done, end);
    }
    return sizes;
  }
  const exponential = waves?.exponentialRate;
  if (exponential === undefined) return [count];
  const { numberOfNotifiedThings, numberOfSucceededThings } = exponential.rateIncreaseCriteria;
  const step = numberOfNotifiedThings ?? numberOfSucceededThings ?? count;
  const cap = waves?.maximumPerMinute ?? MAX_RATE_PER_MINUTE;
  const sizes: number[] = [];
  let remaining = count;
  for (
    let k = 0;
    remaining > 0 && exponential.baseRatePerMinute * exponential.incrementFactor ** k < cap;
    k++
  ) {
    const size = Math.min(step, remaining);
    sizes.push(size);
    remaining -= size;
  }
  if (remaining > 0) sizes.push(remaining);
  return sizes;
}
