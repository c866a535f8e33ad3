import { redrawCohort, saltKey } from './cohort.ts';
import type { EligibleDevice } from './targets.ts';

/**
 * The control cohort of a rollout with a health gate: eligible devices held back on their current
 * firmware while the gate compares them with the updated ones, then updated last, as the rollout's final
 * wave, once the gate has passed.
 *
 * It is drawn per rollout, with the rollout's id in the salt. Drawn with the fleet-wide cohort salt (the
 * last N % of the wave order) it would be the same devices in every rollout: always the last to get a
 * fix, and always the yardstick, so one odd device would skew every gate. Wave order keeps the
 * fleet-wide salt (known canaries, see `cohort.ts`); the control cohort is a fresh, independent sample
 * of the same eligible devices each time.
 */

/** The salt of a rollout's control draw. The `v1` marks the hash, as in `DEFAULT_COHORT_SALT`. */
export function controlSalt(rolloutId: string): string {
  return `fleetkit-control-v1/${rolloutId}`;
}

const byName = (eligible: readonly EligibleDevice[]) => (a: number, b: number) => {
  const p = (eligible[a] as EligibleDevice).device.thingName;
  const q = (eligible[b] as EligibleDevice).device.thingName;
  return p < q ? -1 : p > q ? 1 : 0;
};

/**
 * The `count`-th lowest of `keys` (1-based). Hashes are uniform on [0, 1), so the lowest lie below about
 * count / n: only the keys under a bound with room to spare are sorted (natively, as a typed array),
 * the bound doubling in the rare case it holds too few. A twentieth of a million keys sorts in a few
 * milliseconds where the whole million took 200.
 */
function lowest(keys: Float64Array, count: number): number {
  const n = keys.length;
  let bound = (count / n) * 1.1 + 16 / n;
  for (;;) {
    let under = 0;
    for (let i = 0; i < n; i++) if ((keys[i] as number) < bound) under++;
    if (under >= count || bound >= 1) {
      const candidates = new Float64Array(under);
      let at = 0;
      for (let i = 0; i < n; i++) if ((keys[i] as number) < bound) candidates[at++] = keys[i] as number;
      return candidates.sort()[count - 1] as number;
    }
    bound = Math.min(1, bound * 2);
  }
}

/**
 * Draws `count` of `eligible` for the control cohort: those whose cohort, re-drawn under `salt`
 * ({@link redrawCohort}), is lowest, the thing name breaking (astronomically rare) ties, so the draw
 * does not depend on input order.
 *
 * @returns one byte per eligible device, 1 for a member of the control cohort
 */
export function drawControl(eligible: readonly EligibleDevice[], count: number, salt: string): Uint8Array {
  const n = eligible.length;
  const member = new Uint8Array(n);
  if (count <= 0) return member;
  if (count >= n) return member.fill(1);
  const key = saltKey(salt);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = redrawCohort((eligible[i] as EligibleDevice).cohort, key);
  const threshold = lowest(keys, count);
  let taken = 0;
  const ties: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = keys[i] as number;
    if (key < threshold) {
      member[i] = 1;
      taken++;
    } else if (key === threshold) ties.push(i);
  }
  for (const i of ties.sort(byName(eligible)).slice(0, count - taken)) member[i] = 1;
  return member;
}
