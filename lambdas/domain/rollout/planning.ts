import type { RolloutRequest } from '../../../lib/protocol/rollouts.ts';
import { redrawCohort, saltKey } from './cohort.ts';
import { controlSalt } from './control.ts';
import { waveSizes } from './plan.ts';
import { shareOf } from './share.ts';
import { type FirmwareImage, SKIP_REASONS, type SkipReason } from './targets.ts';

/**
 * Planning a rollout page by page, while the registry is still being read, so the first wave can be
 * offered before the plan is finished — and the plan still comes out exactly as `planRollout` makes it
 * from the whole fleet at once.
 *
 * The exact plan needs two numbers only a full read gives: the eligible count n (wave ends are
 * ⌈n_kept × size %⌉, the control cohort is ⌊n × control %⌋) and the order of every device. Two facts let
 * a part of wave 0 go early anyway:
 *
 * - Wave 0 is a prefix of the cohort order, and cohorts are uniform: its last device lies near cohort
 *   `percentage × sizes[0]`. A device whose cohort is below half of that (the **pilot bound**) is in wave
 *   0 unless the fleet is astonishingly lopsided; and if it were, wave 0 stretches to take it in (below),
 *   so it is in wave 0 by definition, never by luck.
 * - The control cohort is the ⌊n × c⌋ devices with the lowest cohort re-drawn under the rollout's salt.
 *   That threshold lies near c; a device re-drawn above `2c + 0.02` (the **hold bound**) is not in it
 *   unless, again, the draw is astonishing; and the draw excludes pilot devices by definition.
 *
 * So an eligible device is a **pilot** device when its cohort is below the pilot bound and its re-drawn
 * cohort is not below the hold bound; it is **held** when its re-drawn cohort is below the hold bound (a
 * control candidate, never offered before the plan is cut). The pilot is **in effect** when wave 0 of
 * the exact plan has at least {@link MIN_PILOT_WAVE} devices (and a gated rollout has a control cohort):
 * a fact about n that grows with n, so once the devices read so far prove it, it holds for the whole
 * fleet, and pilot devices may be offered from then on. The exact plan is then defined as:
 *
 * 1. the control cohort is drawn from the eligible devices that are not pilot devices (⌊n × c⌋ of them,
 *    lowest re-drawn cohort first);
 * 2. wave 0 ends at ⌈n_kept × sizes[0] %⌉ or at the last pilot device in cohort order, whichever is
 *    later; later waves end at their exact cumulative shares (never before wave 0's end).
 *
 * With the margins above, (1) and (2) choose the same devices as the rule without a pilot except with
 * vanishing probability (the pilot holds on average half of wave 0, at least 50 devices; wave 0 would
 * have to be less than half as full as expected), and when they do not, the plan stays safe: no offered
 * device is ever drawn for the control cohort, the control cohort has exactly ⌊n × c⌋ devices, and every
 * wave but the first has its exact share. With fewer than {@link MIN_PILOT_WAVE} devices in wave 0 there
 * is no pilot and the plan is the rule without one, exactly: small rollouts are planned in milliseconds
 * anyway. An exponential ramp sizes its first wave by a count, not a share of n, so it has no pilot.
 */

/** A rollout's planning, as its record keeps it. Times are epoch seconds. */
export interface PlanningRecord {
  readonly startedAt: number;
  /** Who may install the image (the firmware's and the request's rules), fixed when the rollout was accepted. */
  readonly image: FirmwareImage;
  /** When pilot devices began to be offered. */
  readonly pilotFrom?: number;
  /** When the plan was cut (or planning stopped). */
  readonly finishedAt?: number;
  /** Why planning ended without a plan (the refusal `POST /rollouts` gave before planning was asynchronous). */
  readonly error?: {
    readonly code: 'NoEligibleDevices' | 'NoControlCohort';
    readonly message: string;
    readonly details?: Readonly<Record<string, unknown>>;
  };
}

/** Where a plan made page by page keeps its targets (see the plan store): by cohort position. */
export interface TargetLayout {
  readonly layout: 'cohort';
  /** The position ({@link positionOf}) of each wave's last device, control wave excluded. */
  readonly waveEnds: readonly string[];
  /** Pilot devices were offered: their copies among the wave targets are not offered again. */
  readonly pilot: boolean;
}

/** Wave 0 must hold at least this many devices for a pilot: below it, the margins are not wide enough. */
export const MIN_PILOT_WAVE = 100;
/** The pilot bound is this share of wave 0's expected cohort span. */
export const PILOT_SHARE = 0.5;
/** Most cohort buckets a planning tally keeps (each a count of eligible devices). */
export const MAX_BUCKETS = 1024;

const TWO_53 = 2 ** 53;

/** What planning derives once from a rollout's request. */
export interface PlanningParams {
  /** `targets.percentage` / 100: eligible devices have cohorts below it. */
  readonly fraction: number;
  /** `healthGate.controlPercentage`, 0 without a gate. */
  readonly controlPercentage: number;
  /** Cohort below which a device not held is a pilot device; undefined: no pilot (exponential ramp). */
  readonly pilotBelow?: number;
  /** Re-drawn cohort below which a device is held for the control draw; 0 without a gate. */
  readonly holdBelow: number;
  /** `saltKey(controlSalt(rolloutId))`, when there is a gate. */
  readonly controlKey?: number;
  /** A bucket covers 2^bucketShift cohort units (cohort × 2^53). */
  readonly bucketShift: number;
  /** Buckets that can hold an eligible device. */
  readonly buckets: number;
}

/** The planning parameters of a request (its `rolloutId` set: it salts the control draw). */
export function planningParams(request: RolloutRequest): PlanningParams {
  const fraction = (request.targets.percentage ?? 100) / 100;
  const controlPercentage = request.healthGate?.controlPercentage ?? 0;
  const c = controlPercentage / 100;
  const waves = request.waves;
  const first = waves?.exponentialRate !== undefined ? undefined : (waves?.sizes?.[0] ?? 100) / 100;
  let bucketShift = 43;
  while (bucketShift > 0 && Math.ceil(fraction * 2 ** (53 - bucketShift + 1)) <= MAX_BUCKETS) bucketShift--;
  return {
    fraction,
    controlPercentage,
    ...(first === undefined ? {} : { pilotBelow: fraction * first * PILOT_SHARE }),
    holdBelow: c > 0 ? Math.min(1, 2 * c + 0.02) : 0,
    ...(c > 0 ? { controlKey: saltKey(controlSalt(request.rolloutId ?? '')) } : {}),
    bucketShift,
    buckets: Math.ceil(fraction * 2 ** (53 - bucketShift)),
  };
}

/** Where an eligible device goes while the plan is made. */
export interface Placement {
  readonly pilot: boolean;
  /** A control candidate: kept out of every offer until the plan is cut. */
  readonly held: boolean;
  /** Its cohort re-drawn under the rollout's control salt, when there is a gate. */
  readonly redraw?: number;
}

/** An eligible device's placement, from its cohort alone. */
export function placeOf(params: PlanningParams, cohort: number): Placement {
  const redraw = params.controlKey === undefined ? undefined : redrawCohort(cohort, params.controlKey);
  const held = redraw !== undefined && redraw < params.holdBelow;
  const pilot = !held && params.pilotBelow !== undefined && cohort < params.pilotBelow;
  return { pilot, held, ...(redraw === undefined ? {} : { redraw }) };
}

/** A cohort (or re-drawn cohort) in [0, 1) as 14 hex digits of its 53 bits: sorts as the number does. */
export function cohortKey(cohort: number): string {
  return (cohort * TWO_53).toString(16).padStart(14, '0');
}

/** The cohort a {@link cohortKey} was made from. */
export function cohortOfKey(key: string): number {
  return Number.parseInt(key, 16) / TWO_53;
}

/** A device's place in cohort order, as text that sorts the same way: cohort key, then thing name. */
export function positionOf(cohort: number, thingName: string): string {
  return `${cohortKey(cohort)}#${thingName}`;
}

/** The bucket of a cohort. */
export function bucketOf(params: PlanningParams, cohort: number): number {
  return Math.min(params.buckets - 1, Math.floor((cohort * TWO_53) / 2 ** params.bucketShift));
}

/** The first and last cohort key a bucket can hold. */
export function bucketRange(params: PlanningParams, bucket: number): { from: string; to: string } {
  const width = 2 ** params.bucketShift;
  const last = bucket === params.buckets - 1 ? TWO_53 - 1 : (bucket + 1) * width - 1;
  return {
    from: (bucket * width).toString(16).padStart(14, '0'),
    to: last.toString(16).padStart(14, '0'),
  };
}

/** ⌊n × c⌋: the control cohort of n eligible devices. */
export function controlCountOf(params: PlanningParams, eligible: number): number {
  return shareOf(eligible, params.controlPercentage, 'floor');
}

/** Wave 0's size in the plan without a pilot, for `eligible` devices. */
export function firstWaveOf(request: RolloutRequest, params: PlanningParams, eligible: number): number {
  return waveSizes(request.waves, eligible - controlCountOf(params, eligible))[0] ?? 0;
}

/**
 * Whether the pilot is in effect for a fleet of at least `eligible` eligible devices: there is a pilot
 * bound, wave 0 holds at least {@link MIN_PILOT_WAVE} devices, and a gated rollout has a control cohort.
 * Both counts only grow with `eligible`, so what holds for the devices read so far holds for the fleet.
 */
export function pilotInEffect(request: RolloutRequest, params: PlanningParams, eligible: number): boolean {
  if (params.pilotBelow === undefined) return false;
  if (params.controlPercentage > 0 && controlCountOf(params, eligible) < 1) return false;
  return firstWaveOf(request, params, eligible) >= MIN_PILOT_WAVE;
}

/**
 * Where each wave ends, as a count of kept devices (eligible minus control) in cohort order.
 *
 * @param pilotRank how many kept devices come up to and including the last pilot device (0: no pilot);
 *   wave 0 ends there at the earliest
 */
export function waveEnds(request: RolloutRequest, kept: number, pilotRank: number): number[] {
  const ends: number[] = [];
  let natural = 0;
  let done = 0;
  for (const size of waveSizes(request.waves, kept)) {
    natural += size;
    const end = Math.min(kept, Math.max(natural, done, ends.length === 0 ? pilotRank : 0));
    if (end > done) ends.push(end);
    done = end;
  }
  return ends;
}

/** What planning counted over a part of the registry. */
export interface PlanTally {
  /** Registry items read. */
  readonly scanned: number;
  readonly targeted: number;
  readonly eligible: number;
  readonly skipped: Readonly<Record<SkipReason, number>>;
  /** Pilot devices found (each also among `open`). */
  readonly pilot: number;
  /** Control candidates found. */
  readonly held: number;
  /** The greatest pilot {@link positionOf}, if any. */
  readonly lastPilot?: string;
  /** Eligible devices per cohort bucket (pilot devices included). */
  readonly open: readonly number[];
}

/** A tally of nothing. */
export function emptyTally(params: PlanningParams): PlanTally {
  return {
    scanned: 0,
    targeted: 0,
    eligible: 0,
    skipped: Object.fromEntries(SKIP_REASONS.map((r) => [r, 0])) as Record<SkipReason, number>,
    pilot: 0,
    held: 0,
    open: new Array<number>(params.buckets).fill(0),
  };
}

/** Two tallies as one (counts add, histograms add bucket by bucket, the later last pilot). */
export function sumTallies(a: PlanTally, b: PlanTally): PlanTally {
  const skipped = { ...a.skipped };
  for (const reason of SKIP_REASONS) skipped[reason] += b.skipped[reason];
  const open = a.open.map((n, i) => n + (b.open[i] ?? 0));
  const lastPilot =
    a.lastPilot === undefined || (b.lastPilot !== undefined && b.lastPilot > a.lastPilot)
      ? b.lastPilot
      : a.lastPilot;
  return {
    scanned: a.scanned + b.scanned,
    targeted: a.targeted + b.targeted,
    eligible: a.eligible + b.eligible,
    skipped,
    pilot: a.pilot + b.pilot,
    held: a.held + b.held,
    ...(lastPilot === undefined ? {} : { lastPilot }),
    open,
  };
}

/**
 * The bucket holding the `rank`-th device (1-based) of a histogram, and how many devices come before
 * that bucket. `counts` per bucket, in cohort order; `rank` at most their sum.
 */
export function locateRank(counts: readonly number[], rank: number): { bucket: number; before: number } {
  let before = 0;
  for (let bucket = 0; bucket < counts.length; bucket++) {
    const n = counts[bucket] ?? 0;
    if (before + n >= rank) return { bucket, before };
    before += n;
  }
  throw new RangeError(`rank ${rank} is beyond the ${before} devices counted`);
}
