import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { type ArtifactPurpose, rolloutArtifact } from '../../lib/protocol/rollouts.ts';
import { isPlanning } from '../domain/rollout/record.ts';
import type { OwedCheck } from '../domain/rollout/rollback.ts';
import type { Page } from '../ports.ts';
import { ACTIVE_ROLLOUT_STATUSES, type RolloutItem } from '../services/rollout-item.ts';
import { batchDelete, batchPut } from './dynamo-batch.ts';
import { TARGET_PREFIXES } from './dynamo-rollout-planning-store.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';

/** A planned device not yet notified: where it is in the plan, and what it runs. */
export interface RolloutTarget {
  readonly thingName: string;
  readonly wave: number;
  /** Its place in the wave's order. */
  readonly index: number;
  readonly previousVersion: string;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Sort key of a wave target: wave, then place, so a Query reads the plan in order. */
export function targetKey(wave: number, index: number): string {
  return `t#${pad(wave, 4)}#${pad(index, 8)}`;
}

type PlanLayoutOf = Pick<RolloutItem, 'status' | 'targets' | 'controlWave' | 'planning'>;

/** The sort keys (inclusive) holding the targets of waves 0..`lastWave` in a rollout's layout. */
function candidateRange(rollout: PlanLayoutOf, lastWave: number): { from: string; to: string } {
  const layout = rollout.targets;
  if (isPlanning(rollout)) return { from: TARGET_PREFIXES.pilot, to: `${TARGET_PREFIXES.pilot}~` };
  if (layout === undefined) return { from: 't#', to: `t#${pad(lastWave, 4)}#~` };
  const end = layout.waveEnds[lastWave];
  return {
    from: TARGET_PREFIXES.pilot,
    to: end === undefined ? `${TARGET_PREFIXES.controlWave}~` : `${TARGET_PREFIXES.waves}${end}`,
  };
}

/** The wave of a target of the cohort layout, from its key: pilot 0, waves by their ends, then control. */
function waveOfKey(rollout: PlanLayoutOf, key: string): number {
  if (key.startsWith(TARGET_PREFIXES.pilot)) return 0;
  const ends = rollout.targets?.waveEnds ?? [];
  if (key.startsWith(TARGET_PREFIXES.waves)) {
    const position = key.slice(TARGET_PREFIXES.waves.length);
    const wave = ends.findIndex((end) => position <= end);
    if (wave >= 0) return wave;
  }
  return rollout.controlWave ?? ends.length;
}

/** Sort key of a control-cohort member. */
const controlKey = (thingName: string) => `c#${thingName}`;

/** Sort key of a device owed a check after a rollback (it may run the image without having said so). */
const owedKey = (thingName: string) => `w#${thingName}`;

interface TableProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/**
 * Rollouts on DynamoDB, one item each, written conditionally on its `revision`, so an operator's pause
 * and a scheduler tick cannot both win.
 */
export class DynamoRolloutStore {
  constructor(private readonly props: TableProps) {}

  async get(rolloutId: string): Promise<RolloutItem | undefined> {
    const result = await this.props.client.send(
      new GetCommand({ TableName: this.props.tableName, Key: { rolloutId }, ConsistentRead: true }),
    );
    return result.Item as RolloutItem | undefined;
  }

  /** Stores a new rollout; `exists` when the id is taken. */
  async create(item: RolloutItem): Promise<'created' | 'exists'> {
    try {
      await this.props.client.send(
        new PutCommand({
          TableName: this.props.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(rolloutId)',
        }),
      );
      return 'created';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'exists';
      throw error;
    }
  }

  /** Stores `item` at `revision + 1` if the stored one is still at `item.revision`. */
  async save(item: RolloutItem): Promise<RolloutItem | 'conflict'> {
    const next = { ...item, revision: item.revision + 1 };
    try {
      await this.props.client.send(
        new PutCommand({
          TableName: this.props.tableName,
          Item: next,
          ConditionExpression: 'revision = :r',
          ExpressionAttributeValues: { ':r': item.revision },
        }),
      );
      return next;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
  }

  /** A page of rollouts (a Scan: a deployment has tens or hundreds of rollouts, not millions). */
  async list(limit: number, nextToken?: string): Promise<Page<RolloutItem>> {
    const start = nextToken === undefined ? undefined : decodePageToken(nextToken, ['rolloutId']);
    const result = await this.props.client.send(
      new ScanCommand({
        TableName: this.props.tableName,
        Limit: limit,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    const items = (result.Items ?? []) as RolloutItem[];
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, nextToken: encodePageToken(result.LastEvaluatedKey) };
  }

  /** Rollouts the scheduler visits: active ones, finished ones with work left, rolled-back ones still watched. */
  async active(): Promise<RolloutItem[]> {
    const out: RolloutItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const result = await this.props.client.send(
        new ScanCommand({
          TableName: this.props.tableName,
          FilterExpression: `#s IN (${ACTIVE_ROLLOUT_STATUSES.map((_, i) => `:s${i}`).join(', ')}) OR attribute_exists(pendingWork) OR attribute_exists(rollbackWatch)`,
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: Object.fromEntries(
            ACTIVE_ROLLOUT_STATUSES.map((status, i) => [`:s${i}`, status]),
          ),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      out.push(...((result.Items ?? []) as RolloutItem[]));
      start = result.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  /**
   * Whether a rollout that is not finished installs `version` of `purpose` (the registry refuses to
   * withdraw it).
   */
  async isInUse(version: string, purpose: ArtifactPurpose = 'firmware'): Promise<boolean> {
    return (await this.active()).some((item) => {
      const artifact = rolloutArtifact(item.request);
      return (
        artifact.purpose === purpose &&
        artifact.version === version &&
        (ACTIVE_ROLLOUT_STATUSES as readonly string[]).includes(item.status)
      );
    });
  }
}

/**
 * Rollout plans on DynamoDB: one item per planned device not yet notified, keyed in wave order, one per
 * control-cohort member, and after a rollback one per device still owed a check. A wave target is deleted
 * once its execution is queued: what is left is exactly what the scheduler still has to offer.
 */
export class DynamoRolloutPlanStore {
  constructor(private readonly props: TableProps) {}

  /**
   * Removes every target of a rollout: what an earlier, interrupted create of the same id left.
   * @param keep sort keys to leave (the planner's lease)
   */
  async clearPlan(rolloutId: string, keep: readonly string[] = []): Promise<number> {
    let removed = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.props.client.send(
        new QueryCommand({
          TableName: this.props.tableName,
          KeyConditionExpression: 'rolloutId = :r',
          ExpressionAttributeValues: { ':r': rolloutId },
          ProjectionExpression: 'rolloutId, targetKey',
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      const keys = (page.Items ?? []).filter((key) => !keep.includes(String(key.targetKey)));
      await batchDelete(this.props.client, this.props.tableName, keys);
      removed += keys.length;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return removed;
  }

  /** Writes a plan: wave targets in order, and the control cohort. */
  async putPlan(
    rolloutId: string,
    targets: readonly RolloutTarget[],
    control: readonly { thingName: string; version: string }[],
  ): Promise<void> {
    await batchPut(this.props.client, this.props.tableName, [
      ...targets.map((t) => ({ rolloutId, targetKey: targetKey(t.wave, t.index), ...t })),
      ...control.map((c) => ({
        rolloutId,
        targetKey: controlKey(c.thingName),
        thingName: c.thingName,
        previousVersion: c.version,
      })),
    ]);
  }

  /**
   * Up to `limit` targets of waves 0..`lastWave` in plan order, after `cursor` (a target key): while the
   * rollout is planning, its pilot devices (all of wave 0); once its plan is cut by the planner, pilot
   * devices not yet offered, then the waves (up to `lastWave`'s last position), then the control wave;
   * for a plan of the first layout, the `t#` targets. A pilot device's copy among the waves is skipped
   * (it was offered as a pilot device); a page is filled past the copies it skipped.
   *
   * @returns the targets and the key of the last item read (`undefined` at the end of the range)
   */
  async candidates(
    rollout: Pick<RolloutItem, 'rolloutId' | 'status' | 'targets' | 'controlWave' | 'planning'>,
    lastWave: number,
    limit: number,
    cursor?: string,
  ): Promise<{ targets: (RolloutTarget & { key: string })[]; last?: string }> {
    const { rolloutId, targets: layout } = rollout;
    const range = candidateRange(rollout, lastWave);
    const skipPilotCopies = layout?.pilot === true && !isPlanning(rollout);
    const targets: (RolloutTarget & { key: string })[] = [];
    let start = cursor;
    // DynamoDB applies Limit before the filter: a page that read pilot copies is filled from the next
    // items, else the copies left of wave 0 (up to half of it) would cost the first minute of wave 1
    // that much of its rate.
    do {
      const result = await this.props.client.send(
        new QueryCommand({
          TableName: this.props.tableName,
          KeyConditionExpression: 'rolloutId = :r AND targetKey BETWEEN :from AND :to',
          ...(skipPilotCopies ? { FilterExpression: 'attribute_not_exists(inPilot)' } : {}),
          ExpressionAttributeValues: { ':r': rolloutId, ':from': range.from, ':to': range.to },
          Limit: limit - targets.length,
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: { rolloutId, targetKey: start } }),
        }),
      );
      for (const item of result.Items ?? []) {
        const key = String(item.targetKey);
        targets.push({
          key,
          thingName: String(item.thingName),
          wave: layout === undefined && !isPlanning(rollout) ? Number(item.wave) : waveOfKey(rollout, key),
          index: Number(item.index ?? 0),
          previousVersion: String(item.previousVersion),
        });
      }
      const last = result.LastEvaluatedKey?.targetKey;
      start = last === undefined ? undefined : String(last);
    } while (skipPilotCopies && start !== undefined && targets.length < limit);
    return start === undefined ? { targets } : { targets, last: start };
  }

  /** A page of the control cohort. */
  async control(
    rolloutId: string,
    limit: number,
  ): Promise<readonly { thingName: string; previousVersion: string }[]> {
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        KeyConditionExpression: 'rolloutId = :r AND begins_with(targetKey, :c)',
        ExpressionAttributeValues: { ':r': rolloutId, ':c': 'c#' },
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => ({
      thingName: String(item.thingName),
      previousVersion: String(item.previousVersion),
    }));
  }

  /** Records devices owed a check after a rollback (idempotent: the same device is the same item). */
  async putOwed(rolloutId: string, owed: readonly OwedCheck[]): Promise<void> {
    await batchPut(
      this.props.client,
      this.props.tableName,
      owed.map((o) => ({
        rolloutId,
        targetKey: owedKey(o.thingName),
        thingName: o.thingName,
        previousVersion: o.previousVersion,
      })),
    );
  }

  /**
   * Up to `limit` devices owed a check, by name, after `cursor` (a thing name).
   * @returns the devices and the name of the last one read (`undefined` at the end of the list)
   */
  async owed(
    rolloutId: string,
    limit: number,
    cursor?: string,
  ): Promise<{ owed: OwedCheck[]; last?: string }> {
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        KeyConditionExpression: 'rolloutId = :r AND begins_with(targetKey, :w)',
        ExpressionAttributeValues: { ':r': rolloutId, ':w': 'w#' },
        Limit: limit,
        ConsistentRead: true,
        ...(cursor === undefined ? {} : { ExclusiveStartKey: { rolloutId, targetKey: owedKey(cursor) } }),
      }),
    );
    const owed = (result.Items ?? []).map((item) => ({
      thingName: String(item.thingName),
      previousVersion: String(item.previousVersion),
    }));
    const last = result.LastEvaluatedKey === undefined ? undefined : owed.at(-1)?.thingName;
    return last === undefined ? { owed } : { owed, last };
  }

  /** Crosses devices off the list of those owed a check. */
  async removeOwed(rolloutId: string, thingNames: readonly string[]): Promise<void> {
    await batchDelete(
      this.props.client,
      this.props.tableName,
      thingNames.map((thingName) => ({ rolloutId, targetKey: owedKey(thingName) })),
    );
  }

  /** Removes targets whose executions were queued. */
  async removeTargets(rolloutId: string, keys: readonly string[]): Promise<void> {
    await batchDelete(
      this.props.client,
      this.props.tableName,
      keys.map((targetKey) => ({ rolloutId, targetKey })),
    );
  }
}
