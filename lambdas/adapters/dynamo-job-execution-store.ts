import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidTokenError } from '../domain/errors.ts';
import type { JobExecution } from '../domain/jobs/execution.ts';
import { retryDecision, timeoutDueAt } from '../domain/jobs/service.ts';
import type { Page } from '../ports.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';

/** Index of executions by rollout, sharded (see `lib/topology.ts`). */
export const BY_ROLLOUT_INDEX = 'byRollout';
/**
 * Sparse index of a rollout's executions that need the scheduler: a timer running (in-progress or step
 * timeout) or a retry to come, by when it is due.
 */
export const DUE_INDEX = 'due';
export const EXECUTION_SHARDS = 16;

function shardOf(thingName: string): number {
  let h = 2166136261;
  for (let i = 0; i < thingName.length; i++) h = Math.imul(h ^ thingName.charCodeAt(i), 16777619);
  return (h >>> 0) % EXECUTION_SHARDS;
}

/** The stored item: the execution plus the keys of the two indexes. */
function toItem(execution: JobExecution): Record<string, unknown> {
  const shard = `${execution.jobId}#${shardOf(execution.thingName)}`;
  const due = dueAt(execution);
  return {
    ...execution,
    rolloutShard: shard,
    ...(due === undefined ? {} : { dueShard: shard, dueAt: due }),
  };
}

/** When the scheduler must next look at an execution: its timer, or its next retry. */
function dueAt(execution: JobExecution): number | undefined {
  const timer = timeoutDueAt(execution);
  if (timer !== undefined) return timer;
  const retry = retryDecision(execution, execution.retries, 0);
  return retry.kind === 'waiting' || retry.kind === 'due' ? retry.dueAt : undefined;
}

function fromItem(item: Record<string, unknown>): JobExecution {
  const { rolloutShard: _r, dueShard: _s, dueAt: _d, ...execution } = item;
  return execution as unknown as JobExecution;
}

/**
 * Job executions on DynamoDB, one item per (thing, job), written with a condition on the version read:
 * the execution's `versionNumber` is its compare-and-set key, so a device update and a scheduler timeout
 * racing each other cannot both win.
 */
export class DynamoJobExecutionStore {
  constructor(
    private readonly props: { readonly client: DynamoDBDocumentClient; readonly tableName: string },
  ) {}

  async forThing(thingName: string): Promise<JobExecution[]> {
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        KeyConditionExpression: 'thingName = :t',
        ExpressionAttributeValues: { ':t': thingName },
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? []).map(fromItem);
  }

  async get(thingName: string, jobId: string): Promise<JobExecution | undefined> {
    const result = await this.props.client.send(
      new GetCommand({ TableName: this.props.tableName, Key: { thingName, jobId }, ConsistentRead: true }),
    );
    return result.Item === undefined ? undefined : fromItem(result.Item);
  }

  /**
   * Stores `next` if the stored execution is still at `expectedVersion` (undefined: none stored yet).
   * @returns `conflict` when another writer got there first
   */
  async save(next: JobExecution, expectedVersion: number | undefined): Promise<'saved' | 'conflict'> {
    try {
      await this.props.client.send(
        new PutCommand({
          TableName: this.props.tableName,
          Item: toItem(next),
          ...(expectedVersion === undefined
            ? { ConditionExpression: 'attribute_not_exists(thingName)' }
            : {
                ConditionExpression: 'versionNumber = :v',
                ExpressionAttributeValues: { ':v': expectedVersion },
              }),
        }),
      );
      return 'saved';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
  }

  /** One shard of a rollout's executions, a page at a time (reconciler, rollback). */
  async byRollout(
    rolloutId: string,
    shard: number,
    limit: number,
    nextToken?: string,
  ): Promise<Page<JobExecution>> {
    const start =
      nextToken === undefined
        ? undefined
        : decodePageToken(nextToken, ['thingName', 'jobId', 'rolloutShard']);
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        IndexName: BY_ROLLOUT_INDEX,
        KeyConditionExpression: 'rolloutShard = :s',
        ExpressionAttributeValues: { ':s': `${rolloutId}#${shard}` },
        Limit: limit,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    const items = (result.Items ?? []).map(fromItem);
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, nextToken: encodePageToken(result.LastEvaluatedKey) };
  }

  /**
   * A rollout's executions that need the scheduler (a timer running, a retry to come), soonest first, at
   * most `limit` per shard. `more` says a shard had more than that.
   */
  async watched(rolloutId: string, limit: number): Promise<{ items: JobExecution[]; more: boolean }> {
    const pages = await Promise.all(
      Array.from({ length: EXECUTION_SHARDS }, (_, shard) =>
        this.props.client.send(
          new QueryCommand({
            TableName: this.props.tableName,
            IndexName: DUE_INDEX,
            KeyConditionExpression: 'dueShard = :s',
            ExpressionAttributeValues: { ':s': `${rolloutId}#${shard}` },
            Limit: limit,
          }),
        ),
      ),
    );
    return {
      items: pages.flatMap((page) => (page.Items ?? []).map(fromItem)),
      more: pages.some((page) => page.LastEvaluatedKey !== undefined),
    };
  }

  /**
   * A page of a job's executions, optionally of one status (AWS IoT's ListJobExecutionsForJob). The token
   * carries the shard and the position in it, so paging walks every shard in turn.
   */
  async listForJob(
    jobId: string,
    query: { readonly status?: string; readonly limit: number; readonly nextToken?: string },
  ): Promise<Page<JobExecution>> {
    let { shard, key } = decodeShardToken(query.nextToken);
    const items: JobExecution[] = [];
    // A rare status over a large rollout: return what 50 reads found, with a token, rather than read on.
    for (let reads = 0; shard < EXECUTION_SHARDS && items.length < query.limit && reads < 50; reads++) {
      const result = await this.props.client.send(
        new QueryCommand({
          TableName: this.props.tableName,
          IndexName: BY_ROLLOUT_INDEX,
          KeyConditionExpression: 'rolloutShard = :s',
          ...(query.status === undefined
            ? { ExpressionAttributeValues: { ':s': `${jobId}#${shard}` } }
            : {
                FilterExpression: '#status = :status',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':s': `${jobId}#${shard}`, ':status': query.status },
              }),
          Limit: query.limit - items.length,
          ...(key === undefined ? {} : { ExclusiveStartKey: key }),
        }),
      );
      items.push(...(result.Items ?? []).map(fromItem));
      key = result.LastEvaluatedKey as Record<string, string> | undefined;
      if (key === undefined) shard++;
    }
    return shard >= EXECUTION_SHARDS
      ? { items }
      : { items, nextToken: encodePageToken({ shard: String(shard), ...(key === undefined ? {} : key) }) };
  }

  /** Every execution of a rollout, a page per shard at a time (reconciler, rollback, cancel). */
  async *allOf(rolloutId: string, pageSize = 500): AsyncGenerator<readonly JobExecution[]> {
    for (let shard = 0; shard < EXECUTION_SHARDS; shard++) {
      let token: string | undefined;
      do {
        const page = await this.byRollout(rolloutId, shard, pageSize, token);
        if (page.items.length > 0) yield page.items;
        token = page.nextToken;
      } while (token !== undefined);
    }
  }
}

/** Where a listing continues: a shard of the index, and the position in it. */
function decodeShardToken(token: string | undefined): { shard: number; key?: Record<string, string> } {
  if (token === undefined) return { shard: 0 };
  const { shard, ...key } = decodePageToken(token, ['shard', 'thingName', 'jobId', 'rolloutShard']);
  const n = Number(shard);
  if (!Number.isInteger(n) || n < 0 || n >= EXECUTION_SHARDS)
    throw new InvalidTokenError('nextToken is not a token this API issued');
  return Object.keys(key).length === 0 ? { shard: n } : { shard: n, key };
}
