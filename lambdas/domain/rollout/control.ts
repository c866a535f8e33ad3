import { cohortOf } from './cohort.ts';
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
 * Draws `count` of `eligible` for the control cohort: those whose hash under `salt` is lowest, the thing
 * name breaking (astronomically rare) ties, so the draw does not depend on input order.
 *
 * @returns one byte per eligible device, 1 for a member of the control cohort
 */
export function drawControl(eligible: readonly EligibleDevice[], count: number, salt: string): Uint8Array {
  const n = eligible.length;
  const member = new Uint8Array(n);
  if (count <= 0) return member;
  if (count >= n) return member.fill(1);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = cohortOf((eligible[i] as EligibleDevice).device.thingName, salt);
  // The count-th lowest hash, by the engine's native numeric sort of a typed array.
  const threshold = keys.slice().sort()[count - 1] as number;
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
