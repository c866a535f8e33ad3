import { type RolloutRequest, rolloutArtifact } from '../../lib/protocol/rollouts.ts';
import type { DynamoRolloutPlanningStore, PlanEntry } from '../adapters/dynamo-rollout-planning-store.ts';
import { redrawCohort } from '../domain/rollout/cohort.ts';
import {
  bucketOf,
  bucketRange,
  cohortOfKey,
  controlCountOf,
  locateRank,
  type PlanningParams,
  type PlanTally,
  pilotInEffect,
  waveEnds,
} from '../domain/rollout/planning.ts';
import type { Logger } from '../shared/logger.ts';
import type { RolloutItem } from './rollout-item.ts';

/** A cut plan: what the rollout record takes. */
export interface CutPlan {
  readonly ok: true;
  /** Planned devices per wave, the control wave last. */
  readonly waveSizes: readonly number[];
  readonly controlWave?: number;
  /** The position of each wave's last device (control wave excluded). */
  readonly waveEnds: readonly string[];
  /** The pilot was in effect: its devices may have been offered already. */
  readonly pilot: boolean;
  readonly selection: RolloutItem['selection'];
}

/** Planning found nothing to roll out: the refusal `POST /rollouts` gave when it planned at once. */
export interface PlanRefusal {
  readonly ok: false;
  readonly code: 'NoEligibleDevices' | 'NoControlCohort';
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly selection: RolloutItem['selection'];
}

export interface CutDeps {
  readonly planning: Pick<
    DynamoRolloutPlanningStore,
    'dropPilots' | 'lowestHeld' | 'moveToControl' | 'waveEntries' | 'controlWaveEntries'
  >;
  readonly log: Logger;
}

const cohortKeyOf = (position: string) => position.slice(0, 14);

/**
 * Cuts the plan once every segment of the registry was read, as `planRollout` would cut it from the
 * whole fleet (see `planning.ts`): draws the control cohort from the control candidates in draw order,
 * moves it into the control wave, and finds each wave's last position by rank: the counts per cohort
 * bucket give the bucket, one Query of that bucket the device. Every step is idempotent or recomputed
 * from what is stored, so a cut that dies midway is simply run again; the record is written after.
 *
 * @param total the sum of every segment's tally
 */
export async function cutPlan(
  deps: CutDeps,
  rolloutId: string,
  request: RolloutRequest,
  params: PlanningParams,
  total: PlanTally,
): Promise<CutPlan | PlanRefusal> {
  const n = total.eligible;
  const artifact = rolloutArtifact(request);
  const k = controlCountOf(params, n);
  const selection = { targeted: total.targeted, eligible: n, control: k, skipped: total.skipped };
  if (n === 0)
    return {
      ok: false,
      code: 'NoEligibleDevices',
      message: `no device is eligible for ${artifact.purpose} ${artifact.version}: ${total.targeted} targeted, none fit (see skipped)`,
      details: { targeted: total.targeted, skipped: total.skipped },
      selection,
    };
  // With no device held back the gate has nothing to compare with: it would never judge, and the
  // rollout would wait for it forever after its first wave.
  if (request.healthGate !== undefined && k === 0)
    return {
      ok: false,
      code: 'NoControlCohort',
      message: `controlPercentage ${request.healthGate.controlPercentage} % of ${n} eligible devices holds back none: the health gate could never compare; target more devices, raise controlPercentage, or drop the gate`,
      details: { eligible: n, controlPercentage: request.healthGate.controlPercentage },
      selection,
    };
  const pilot = pilotInEffect(request, params, n);
  // Without a pilot its devices were never offered; their copies among the waves are all they are.
  if (!pilot) await deps.planning.dropPilots(rolloutId);
  const control = k === 0 ? [] : await drawControl(deps, rolloutId, params, k, pilot);
  await deps.planning.moveToControl(rolloutId, control);

  const kept = [...total.open];
  for (const member of control) {
    const bucket = bucketOf(params, cohortOfKey(cohortKeyOf(member.position)));
    kept[bucket] = (kept[bucket] ?? 0) - 1;
  }
  const buckets = new Map<number, Promise<PlanEntry[]>>();
  const bucketEntries = (bucket: number) => {
    let entries = buckets.get(bucket);
    if (entries === undefined) {
      const { from, to } = bucketRange(params, bucket);
      entries = deps.planning.waveEntries(rolloutId, from, to);
      buckets.set(bucket, entries);
    }
    return entries;
  };
  let pilotRank = 0;
  if (pilot && total.lastPilot !== undefined) {
    const last = total.lastPilot;
    const bucket = bucketOf(params, cohortOfKey(cohortKeyOf(last)));
    const before = kept.slice(0, bucket).reduce((sum, x) => sum + x, 0);
    pilotRank = before + (await bucketEntries(bucket)).filter((e) => e.position <= last).length;
  }
  const ends = waveEnds(request, n - k, pilotRank);
  const positions: string[] = [];
  for (const end of ends) {
    const { bucket, before } = locateRank(kept, end);
    const entries = await bucketEntries(bucket);
    if (entries.length !== kept[bucket])
      deps.log.warn('a cohort bucket of the plan holds another number of devices than counted', {
        rolloutId,
        bucket,
        counted: kept[bucket],
        stored: entries.length,
      });
    const entry = entries[Math.min(entries.length, end - before) - 1];
    if (entry === undefined) throw new Error(`bucket ${bucket} of rollout ${rolloutId}'s plan is empty`);
    positions.push(entry.position);
  }
  const sizes = ends.map((end, i) => end - (ends[i - 1] ?? 0));
  return {
    ok: true,
    waveSizes: k > 0 ? [...sizes, k] : sizes,
    ...(k > 0 ? { controlWave: sizes.length } : {}),
    waveEnds: positions,
    pilot,
    selection,
  };
}

/**
 * The control cohort: the `k` lowest control candidates in draw order. Should the candidates be fewer
 * than `k` (a draw astonishingly far from its expectation, or a tiny fleet), every eligible device is
 * re-drawn from its stored cohort key and the `k` lowest taken, pilot devices excluded when the pilot is
 * in effect: the same rule, read the long way.
 */
async function drawControl(
  deps: CutDeps,
  rolloutId: string,
  params: PlanningParams,
  k: number,
  pilot: boolean,
): Promise<PlanEntry[]> {
  const held = await deps.planning.lowestHeld(rolloutId, k);
  if (held.length >= k || params.controlKey === undefined) return held;
  const key = params.controlKey;
  const all = [
    ...(await deps.planning.waveEntries(rolloutId, '00000000000000', '1fffffffffffff')),
    // Drawn by an earlier run of this cut that died before it was recorded.
    ...(await deps.planning.controlWaveEntries(rolloutId)),
  ].filter((entry) => !(pilot && entry.pilot === true));
  const redraw = (entry: PlanEntry) => redrawCohort(cohortOfKey(cohortKeyOf(entry.position)), key);
  return all
    .map((entry) => ({ entry, key: redraw(entry) }))
    .sort((a, b) => a.key - b.key || (a.entry.thingName < b.entry.thingName ? -1 : 1))
    .slice(0, k)
    .map(({ entry }) => entry);
}
