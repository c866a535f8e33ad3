import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { type ArtifactPurpose, rolloutArtifact } from '../../lib/protocol/rollouts.ts';
import type { OwedCheck } from '../domain/rollout/rollback.ts';
import type { Page } from '../ports.ts';
import { ACTIVE_ROLLOUT_STATUSES, type RolloutItem } from '../services/rollout-item.ts';
import { batchDelete, batchPut } from './dynamo-batch.ts';
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
          FilterExpression:
            '#s IN (:a, :b, :c) OR attribute_exists(pendingWork) OR attribute_exists(rollbackWatch)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: Object.fromEntries(
            ACTIVE_ROLLOUT_STATUSES.map((status, i) => [`:${'abc'[i]}`, status]),
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

  /** Removes every target of a rollout: what an earlier, interrupted create of the same id left. */
  async clearPlan(rolloutId: string): Promise<number> {
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
      const keys = page.Items ?? [];
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
   * Up to `limit` targets of waves 0..`lastWave` in plan order, after `cursor` (a target key).
   * @returns the targets and the key of the last one read (`undefined` at the end of the range)
   */
  async candidates(
    rolloutId: string,
    lastWave: number,
    limit: number,
    cursor?: string,
  ): Promise<{ targets: (RolloutTarget & { key: string })[]; last?: string }> {
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        KeyConditionExpression: 'rolloutId = :r AND targetKey BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':r': rolloutId,
          ':from': 't#',
          ':to': `t#${pad(lastWave, 4)}#~`,
        },
        Limit: limit,
        ConsistentRead: true,
        ...(cursor === undefined ? {} : { ExclusiveStartKey: { rolloutId, targetKey: cursor } }),
      }),
    );
    const targets = (result.Items ?? []).map((item) => ({
      key: String(item.targetKey),
      thingName: String(item.thingName),
      wave: Number(item.wave),
      index: Number(item.index),
      previousVersion: String(item.previousVersion),
    }));
    const last = result.LastEvaluatedKey?.targetKey;
    return last === undefined ? { targets } : { targets, last: String(last) };
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
