import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PlannedDevice } from '../domain/rollout/plan-page.ts';
import type { PlanTally } from '../domain/rollout/planning.ts';
import { batchDelete, batchPut } from './dynamo-batch.ts';

/**
 * What the rollout planner keeps in the plan table (`rolloutTargets`) while it reads the registry, beside
 * the targets the scheduler offers. Sort keys, by prefix:
 *
 * - `o1#<position>`: a pilot device, offered while planning (see `planning.ts`);
 * - `o2#<position>`: every eligible device (a pilot device's copy marked `inPilot`, a control candidate
 *   marked `held`), in cohort order: after the cut, the waves, whose ends the rollout records;
 * - `o3#<position>`: the control wave, after the cut;
 * - `r#<re-drawn cohort key>#<thing>`: control candidates, in the order the control cohort is drawn;
 * - `c#<thing>`: the control cohort (read by the health gate and rollbacks);
 * - `seg#<n>`: a registry segment's checkpoint; `lease`: who is planning, until when.
 *
 * The `o` prefixes sort together and in offering order, so one key range reads pilot, waves and control
 * wave in turn. No write needs more than one item to change at once: every target write is idempotent
 * (the same device is the same key), and checkpoints and the lease are single-item conditional writes.
 */
export const TARGET_PREFIXES = { pilot: 'o1#', waves: 'o2#', controlWave: 'o3#', held: 'r#' } as const;
const SEGMENT_PREFIX = 'seg#';
/** The sort key of the planning lease. */
export const LEASE_KEY = 'lease';

/** A device read back from the plan: where it is and what it runs. */
export interface PlanEntry {
  readonly thingName: string;
  readonly position: string;
  readonly previousVersion: string;
  /** A pilot device's copy among the waves. */
  readonly pilot?: boolean;
}

/** A registry segment's progress: how far the scan got, and what it counted up to there. */
export interface SegmentState {
  readonly segment: number;
  readonly totalSegments: number;
  /** Pages read and counted; checkpoints are conditional on it. */
  readonly pages: number;
  readonly done: boolean;
  /** The registry key to resume after. */
  readonly cursor?: Record<string, unknown>;
  readonly tally: PlanTally;
}

interface TableProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

const pad = (n: number) => String(n).padStart(4, '0');

/** The rollout planner's items in the plan table (see {@link TARGET_PREFIXES}). */
export class DynamoRolloutPlanningStore {
  constructor(private readonly props: TableProps) {}

  /**
   * Takes (or renews) the planning lease of a rollout: only one planner reads its registry at a time.
   * @returns false when another owner holds an unexpired lease
   */
  async acquire(rolloutId: string, owner: string, nowMs: number, untilMs: number): Promise<boolean> {
    try {
      await this.props.client.send(
        new PutCommand({
          TableName: this.props.tableName,
          Item: { rolloutId, targetKey: LEASE_KEY, owner, until: untilMs },
          ConditionExpression: 'attribute_not_exists(#until) OR #until < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#until': 'until', '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': nowMs, ':owner': owner },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Gives the lease up (if still ours), so a resume need not wait for it to expire. */
  async release(rolloutId: string, owner: string): Promise<void> {
    try {
      await this.props.client.send(
        new UpdateCommand({
          TableName: this.props.tableName,
          Key: { rolloutId, targetKey: LEASE_KEY },
          UpdateExpression: 'SET #until = :zero',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#until': 'until', '#owner': 'owner' },
          ExpressionAttributeValues: { ':zero': 0, ':owner': owner },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Every segment's state, in segment order; without histograms (`withHistograms` false) for progress.
   */
  async segments(rolloutId: string, withHistograms = true): Promise<SegmentState[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.props.client.send(
        new QueryCommand({
          TableName: this.props.tableName,
          KeyConditionExpression: 'rolloutId = :r AND begins_with(targetKey, :s)',
          ExpressionAttributeValues: { ':r': rolloutId, ':s': SEGMENT_PREFIX },
          ConsistentRead: true,
          ...(withHistograms
            ? {}
            : {
                // Names, not words: SEGMENT is one of DynamoDB's reserved words.
                ProjectionExpression: [
                  '#segment',
                  '#total',
                  '#pages',
                  '#done',
                  ...['scanned', 'targeted', 'eligible', 'pilot', 'held', 'skipped'].map(
                    (f) => `#tally.${f}`,
                  ),
                ].join(', '),
                ExpressionAttributeNames: {
                  '#segment': 'segment',
                  '#total': 'totalSegments',
                  '#pages': 'pages',
                  '#done': 'done',
                  '#tally': 'tally',
                },
              }),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items.map((item) => {
      const tally = item.tally as PlanTally;
      return { ...(item as unknown as SegmentState), tally: { ...tally, open: tally.open ?? [] } };
    });
  }

  /** Creates the segments' states (those that do not exist yet), so their number is fixed once. */
  async createSegments(rolloutId: string, states: readonly SegmentState[]): Promise<void> {
    for (const state of states) {
      try {
        await this.props.client.send(
          new PutCommand({
            TableName: this.props.tableName,
            Item: { rolloutId, targetKey: `${SEGMENT_PREFIX}${pad(state.segment)}`, ...state },
            ConditionExpression: 'attribute_not_exists(targetKey)',
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  /**
   * Stores a segment's progress if nobody stored another since it was at `pages - 1`: a second planner
   * working the same segment (a lease taken over from one still running) cannot count a page twice.
   */
  async checkpoint(rolloutId: string, state: SegmentState): Promise<'saved' | 'conflict'> {
    try {
      await this.props.client.send(
        new PutCommand({
          TableName: this.props.tableName,
          Item: { rolloutId, targetKey: `${SEGMENT_PREFIX}${pad(state.segment)}`, ...state },
          ConditionExpression: '#pages = :before',
          ExpressionAttributeNames: { '#pages': 'pages' },
          ExpressionAttributeValues: { ':before': state.pages - 1 },
        }),
      );
      return 'saved';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
  }

  /** Writes a page's eligible devices: each into the waves, pilots and control candidates once more. */
  async putEligible(rolloutId: string, devices: readonly PlannedDevice[]): Promise<void> {
    const items: Record<string, unknown>[] = [];
    for (const d of devices) {
      const target = { rolloutId, thingName: d.thingName, previousVersion: d.previousVersion };
      items.push({
        ...target,
        targetKey: `${TARGET_PREFIXES.waves}${d.position}`,
        ...(d.pilot ? { inPilot: true } : {}),
        ...(d.heldKey === undefined ? {} : { held: true }),
      });
      if (d.pilot) items.push({ ...target, targetKey: `${TARGET_PREFIXES.pilot}${d.position}` });
      if (d.heldKey !== undefined)
        items.push({
          ...target,
          targetKey: `${TARGET_PREFIXES.held}${d.heldKey}#${d.thingName}`,
          position: d.position,
        });
    }
    await batchPut(this.props.client, this.props.tableName, items);
  }

  /** The first `limit` control candidates in draw order (lowest re-drawn cohort first). */
  async lowestHeld(rolloutId: string, limit: number): Promise<PlanEntry[]> {
    return (await this.range(rolloutId, TARGET_PREFIXES.held, `${TARGET_PREFIXES.held}~`, limit)).map(
      (item) => ({
        thingName: String(item.thingName),
        position: String(item.position),
        previousVersion: String(item.previousVersion),
      }),
    );
  }

  /** Devices of the waves (`o2#`) whose cohort keys lie from `from` to `to`, in order. */
  async waveEntries(rolloutId: string, from: string, to: string): Promise<PlanEntry[]> {
    const items = await this.range(
      rolloutId,
      `${TARGET_PREFIXES.waves}${from}`,
      `${TARGET_PREFIXES.waves}${to}~`,
    );
    return items.map((item) => entryOf(item, TARGET_PREFIXES.waves));
  }

  /** Every device of the control wave. */
  async controlWaveEntries(rolloutId: string): Promise<PlanEntry[]> {
    const items = await this.range(rolloutId, TARGET_PREFIXES.controlWave, `${TARGET_PREFIXES.controlWave}~`);
    return items.map((item) => entryOf(item, TARGET_PREFIXES.controlWave));
  }

  /**
   * Moves devices into the control cohort: each becomes a `c#` member and a control-wave target, and
   * leaves the waves. Idempotent, so a cut that died midway is simply run again.
   */
  async moveToControl(rolloutId: string, devices: readonly PlanEntry[]): Promise<void> {
    const items: Record<string, unknown>[] = [];
    for (const d of devices) {
      const target = { rolloutId, thingName: d.thingName, previousVersion: d.previousVersion };
      items.push({ ...target, targetKey: `c#${d.thingName}` });
      items.push({ ...target, targetKey: `${TARGET_PREFIXES.controlWave}${d.position}` });
    }
    await batchPut(this.props.client, this.props.tableName, items);
    await batchDelete(
      this.props.client,
      this.props.tableName,
      devices.map((d) => ({ rolloutId, targetKey: `${TARGET_PREFIXES.waves}${d.position}` })),
    );
  }

  /** Removes the pilot targets (a plan without a pilot: they were never offered; the waves hold them). */
  async dropPilots(rolloutId: string): Promise<number> {
    const keys = await this.range(
      rolloutId,
      TARGET_PREFIXES.pilot,
      `${TARGET_PREFIXES.pilot}~`,
      undefined,
      true,
    );
    await batchDelete(this.props.client, this.props.tableName, keys);
    return keys.length;
  }

  /** Items between two sort keys, in order, up to `limit` (all when undefined). */
  private async range(
    rolloutId: string,
    from: string,
    to: string,
    limit?: number,
    keysOnly = false,
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.props.client.send(
        new QueryCommand({
          TableName: this.props.tableName,
          KeyConditionExpression: 'rolloutId = :r AND targetKey BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':r': rolloutId, ':from': from, ':to': to },
          ConsistentRead: true,
          ...(keysOnly ? { ProjectionExpression: 'rolloutId, targetKey' } : {}),
          ...(limit === undefined ? {} : { Limit: limit - items.length }),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined && (limit === undefined || items.length < limit));
    return items;
  }
}

function entryOf(item: Record<string, unknown>, prefix: string): PlanEntry {
  return {
    thingName: String(item.thingName),
    position: String(item.targetKey).slice(prefix.length),
    previousVersion: String(item.previousVersion),
    ...(item.inPilot === true ? { pilot: true } : {}),
  };
}
