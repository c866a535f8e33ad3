import type { RolloutWaves } from '../../../lib/protocol/rollouts.ts';
import type { StatusCounts } from './counters.ts';
import { notifiedOf } from './counters.ts';

/**
 * The highest rate AWS IoT Jobs accepts for `maximumPerMinute`; an exponential rate with no maximum
 * stops growing here too.
 */
export const MAX_RATE_PER_MINUTE = 1000;

/**
 * How many executions may be queued per minute now (AWS IoT's JobExecutionsRolloutConfig,
 * https://docs.aws.amazon.com/iot/latest/developerguide/iot-jobs-rollout-config.html).
 *
 * With an exponential rate, the rate is `baseRatePerMinute × incrementFactor^k`, where k counts how many
 * times the rate-increase criterion was met: every `numberOfNotifiedThings` things notified (or
 * `numberOfSucceededThings` succeeded) so far. It never exceeds `maximumPerMinute` (or 1000). Without one,
 * the rate is `maximumPerMinute`, or unlimited (Infinity) when that is not set either.
 */
export function ratePerMinute(waves: RolloutWaves | undefined, counts: StatusCounts): number {
  const maximum = waves?.maximumPerMinute;
  const exponential = waves?.exponentialRate;
  if (exponential === undefined) return maximum ?? Number.POSITIVE_INFINITY;
  const { numberOfNotifiedThings, numberOfSucceededThings } = exponential.rateIncreaseCriteria;
  const steps =
    numberOfNotifiedThings !== undefined
      ? Math.floor(notifiedOf(counts) / numberOfNotifiedThings)
      : Math.floor(counts.SUCCEEDED / (numberOfSucceededThings ?? 1));
  const cap = maximum ?? MAX_RATE_PER_MINUTE;
  return Math.floor(Math.min(cap, exponential.baseRatePerMinute * exponential.incrementFactor ** steps));
}
