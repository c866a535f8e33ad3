import type { RolloutRequest, RolloutWaves } from '../../../lib/protocol/rollouts.ts';
import { epochSeconds } from '../jobs/execution.ts';
import { controlSalt, drawControl } from './control.ts';
import { MAX_RATE_PER_MINUTE } from './rate.ts';
import { shareOf } from './share.ts';
import type { EligibleDevice } from './targets.ts';
import { windowState } from './window.ts';

/** One wave: the things it offers the update to, in the order they are offered. */
export interface PlannedWave {
  readonly index: number;
  readonly things: readonly string[];
}

/** A rollout's plan. */
export interface RolloutPlan {
  readonly waves: readonly PlannedWave[];
  /** Held back on their current firmware for the health gate's comparison: the things of the control wave. */
  readonly control: readonly string[];
  /** The last wave, holding the control cohort, when there is one: opened once the health gate passed. */
  readonly controlWave?: number;
  /** `waves[i].things.length`, kept on the rollout record so the scheduler needs no thing lists for gates. */
  readonly waveSizes: readonly number[];
  /** Epoch seconds: now, or when the first maintenance window opens. */
  readonly startsAt: number;
  /** SCHEDULED while waiting for a window, IN_PROGRESS when queuing may start at once. */
  readonly status: 'SCHEDULED' | 'IN_PROGRESS';
}

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

/** Indices below this fit beside a 32-bit cohort prefix in a double's 53 exact bits. */
const PACKED_INDEX_LIMIT = 2 ** 21;
const TWO_32 = 2 ** 32;

/**
 * Indices of `eligible` ordered by cohort, then thing name.
 *
 * Up to two million devices, each cohort's top 32 bits and the device's index are packed into one exactly
 * representable double and sorted as a Float64Array, which the engine sorts natively, without calling a
 * comparator a few dozen million times (half the time of a comparator sort at a million devices). Devices
 * whose 32-bit prefixes collide (about a hundred pairs in a million) come out in input order, so those runs
 * are sorted again by full cohort and name: the result does not depend on input order. Larger fleets take
 * the comparator sort throughout.
 */
export function cohortOrder(eligible: readonly EligibleDevice[]): Uint32Array {
  const n = eligible.length;
  const byCohortThenName = (a: number, b: number) => {
    const x = eligible[a] as EligibleDevice;
    const y = eligible[b] as EligibleDevice;
    if (x.cohort !== y.cohort) return x.cohort - y.cohort;
    const p = x.device.thingName;
    const q = y.device.thingName;
    return p < q ? -1 : p > q ? 1 : 0;
  };
  const order = new Uint32Array(n);
  if (n >= PACKED_INDEX_LIMIT) {
    for (let i = 0; i < n; i++) order[i] = i;
    return order.sort(byCohortThenName);
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++)
    keys[i] = Math.floor((eligible[i] as EligibleDevice).cohort * TWO_32) * PACKED_INDEX_LIMIT + i;
  keys.sort();
  let runStart = 0;
  for (let i = 0; i <= n; i++) {
    const prefix = i < n ? Math.floor((keys[i] as number) / PACKED_INDEX_LIMIT) : -1;
    if (i > 0 && prefix !== Math.floor((keys[i - 1] as number) / PACKED_INDEX_LIMIT)) {
      if (i - runStart > 1) order.subarray(runStart, i).sort(byCohortThenName);
      runStart = i;
    }
    if (i < n) order[i] = (keys[i] as number) % PACKED_INDEX_LIMIT;
  }
  return order;
}

/**
 * Plans a rollout over the eligible devices (from `selectTargets`) at `nowMs`.
 *
 * Devices are ordered by cohort (thing name breaks the astronomically rare tie), so the same devices lead
 * every wave of every rollout with the same salt, whatever order the registry returned them in. When the
 * rollout has a health gate, `controlPercentage` of the devices (rounded down) is drawn for the control
 * cohort, afresh for each rollout ({@link drawControl}); the rest is split by {@link waveSizes}, in
 * cohort order. The control cohort is planned as one more wave after those, which the scheduler opens
 * only once the health gate has passed: the rollout ends with every eligible device updated.
 *
 * O(n log n), see {@link cohortOrder}.
 */
export function planRollout(
  request: RolloutRequest,
  eligible: readonly EligibleDevice[],
  nowMs: number,
): RolloutPlan {
  const n = eligible.length;
  const nameOf = (i: number) => (eligible[i] as EligibleDevice).device.thingName;
  const order = cohortOrder(eligible);
  const controlPercentage = request.healthGate?.controlPercentage ?? 0;
  // Floor: the control cohort never takes the only device of a tiny rollout.
  const controlCount = shareOf(n, controlPercentage, 'floor');
  const inControl = drawControl(eligible, controlCount, controlSalt(request.rolloutId ?? ''));
  // Indices first, names after: one pass writing two typed arrays, then the names read in order, is
  // half the time of writing names into two arrays in one pass at a million devices.
  const kept = new Uint32Array(n - controlCount);
  const held = new Uint32Array(controlCount);
  let k = 0;
  let c = 0;
  for (let j = 0; j < n; j++) {
    const i = order[j] as number;
    if (inControl[i] === 1) held[c++] = i;
    else kept[k++] = i;
  }
  const namesOf = (indices: Uint32Array) => {
    const names = new Array<string>(indices.length);
    for (let j = 0; j < indices.length; j++) names[j] = nameOf(indices[j] as number);
    return names;
  };
  const sizes = waveSizes(request.waves, kept.length);
  const waves: PlannedWave[] = [];
  let at = 0;
  sizes.forEach((size, index) => {
    waves.push({ index, things: namesOf(kept.subarray(at, at + size)) });
    at += size;
  });
  const control = namesOf(held);
  const controlWave = controlCount > 0 ? sizes.length : undefined;
  if (controlWave !== undefined) waves.push({ index: controlWave, things: control });
  const window = windowState(request.maintenanceWindows, nowMs);
  const now = epochSeconds(nowMs);
  return {
    waves,
    control,
    waveSizes: waves.map((wave) => wave.things.length),
    ...(controlWave === undefined ? {} : { controlWave }),
    startsAt: window.open ? now : (window.opensAt ?? now),
    status: window.open ? 'IN_PROGRESS' : 'SCHEDULED',
  };
}
