import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { CommandExecutionStatus } from '../../lib/protocol/commands.ts';
import {
  awaitsDevice,
  awaitsDispatch,
  type CommandExecution,
  dueAtOf,
} from '../domain/commands/execution.ts';
import { shardOf } from '../domain/shard.ts';
import type { Page } from '../ports.ts';
import { batchGet, batchPut } from './dynamo-batch.ts';
import { putVersioned } from './dynamo-versioned-put.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';

/** Sparse index: executions waiting for their device (held, or sent and unanswered), by device. */
export const AWAITING_INDEX = 'awaiting';
/** Sparse index, sharded: a fleet command's executions not yet tried — its send queue. */
export const QUEUE_INDEX = 'queue';
/** Sparse index, sharded: executions with a deadline (expiry while held, timeout once sent), by when. */
export const DUE_INDEX = 'due';
/** Shards of the queue and due indexes, so a fleet command is not one hot index partition. */
export const COMMAND_SHARDS = 16;

const INDEX_ATTRIBUTES = ['awaitingDevice', 'queueShard', 'dueShard', 'dueAt', 'ttl'] as const;

/**
 * The execution's own attributes as stored: those at their default are left out (no parameters, no
 * ignored answers, no delivery; the last send when it is the first), so that what a fleet command writes
 * for each device at once — a request sent once — is no bigger than it needs to be.
 */
function storedAttributes(execution: CommandExecution): Record<string, unknown> {
  const { parameters, ignoredAnswers, deliveries, lastSentAt, ...rest } = execution;
  return {
    ...rest,
    ...(Object.keys(parameters).length === 0 ? {} : { parameters }),
    ...(ignoredAnswers === 0 ? {} : { ignoredAnswers }),
    ...(deliveries === 0 ? {} : { deliveries }),
    ...(lastSentAt === undefined || lastSentAt === execution.sentAt ? {} : { lastSentAt }),
  };
}

/** The execution an item holds: its index keys dropped, the defaults {@link storedAttributes} left out put back. */
function fromItem(item: Record<string, unknown>): CommandExecution {
  const execution: Record<string, unknown> = { parameters: {}, ignoredAnswers: 0, deliveries: 0, ...item };
  for (const attribute of INDEX_ATTRIBUTES) delete execution[attribute];
  if (execution.lastSentAt === undefined && execution.sentAt !== undefined)
    execution.lastSentAt = execution.sentAt;
  return execution as unknown as CommandExecution;
}

export interface DynamoCommandStoreProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long an execution is kept after it expires (DynamoDB TTL). */
  readonly retentionMs: number;
}

/**
 * Command executions on DynamoDB: one item per (device, execution), replaced whole on each change with a
 * condition on the version read, so a device's answer and the sweeper's timeout racing each other cannot
 * both win. The item carries the keys of its sparse indexes, derived from the execution each time it is
 * written: an execution leaves an index by being written without the key. The indexes hold keys only;
 * what a query finds is read whole by key (a consistent read: the current version, not a lagging copy).
 */
export class DynamoCommandStore {
  constructor(private readonly props: DynamoCommandStoreProps) {}

  private toItem(execution: CommandExecution): Record<string, unknown> {
    const shard = shardOf(execution.deviceId, COMMAND_SHARDS);
    const due = dueAtOf(execution);
    return {
      ...storedAttributes(execution),
      ...(awaitsDevice(execution) ? { awaitingDevice: execution.deviceId } : {}),
      ...(awaitsDispatch(execution) ? { queueShard: `${execution.batchId}#${shard}` } : {}),
      ...(due === undefined ? {} : { dueShard: `due#${shard}`, dueAt: due }),
      ttl: Math.ceil((execution.expiresAt + this.props.retentionMs) / 1000),
    };
  }

  /**
   * The executions an index query found, read by key, in the index's order; any since deleted are gone.
   * The index may lag its table, so an execution may no longer be what the index says it is.
   */
  private async read(keys: readonly Record<string, unknown>[] | undefined): Promise<CommandExecution[]> {
    if (keys === undefined || keys.length === 0) return [];
    const keyOf = (item: Record<string, unknown>) => `${item.deviceId}\u0000${item.executionId}`;
    const items = await batchGet(
      this.props.client,
      this.props.tableName,
      keys.map(({ deviceId, executionId }) => ({ deviceId, executionId })),
    );
    const found = new Map(items.map((item) => [keyOf(item), fromItem(item)]));
    return keys.flatMap((key) => found.get(keyOf(key)) ?? []);
  }

  async get(deviceId: string, executionId: string): Promise<CommandExecution | undefined> {
    const result = await this.props.client.send(
      new GetCommand({
        TableName: this.props.tableName,
        Key: { deviceId, executionId },
        ConsistentRead: true,
      }),
    );
    return result.Item === undefined ? undefined : fromItem(result.Item);
  }

  /**
   * Stores `next` if the stored execution is still at `expectedVersion` (undefined: none stored yet).
   * @returns `conflict` when another writer got there first
   */
  async save(next: CommandExecution, expectedVersion: number | undefined): Promise<'saved' | 'conflict'> {
    return putVersioned(
      this.props.client,
      this.props.tableName,
      this.toItem(next),
      'deviceId',
      expectedVersion,
    );
  }

  /**
   * Writes new executions in batches (a fleet command's). Unconditional: their ids are new, and a retry
   * of a create that timed out writes the same items again.
   */
  createMany(executions: readonly CommandExecution[]): Promise<void> {
    return batchPut(
      this.props.client,
      this.props.tableName,
      executions.map((execution) => this.toItem(execution)),
    );
  }

  /** A device's executions, newest first (ids sort by creation time), optionally of one status. */
  async listForDevice(
    deviceId: string,
    query: { readonly status?: CommandExecutionStatus; readonly limit: number; readonly nextToken?: string },
  ): Promise<Page<CommandExecution>> {
    const start =
      query.nextToken === undefined
        ? undefined
        : decodePageToken(query.nextToken, ['deviceId', 'executionId']);
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        KeyConditionExpression: 'deviceId = :d',
        ScanIndexForward: false,
        Limit: query.limit,
        ...(query.status === undefined
          ? { ExpressionAttributeValues: { ':d': deviceId } }
          : {
              FilterExpression: '#status = :status',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':d': deviceId, ':status': query.status },
            }),
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    const items = (result.Items ?? []).map(fromItem);
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, nextToken: encodePageToken(result.LastEvaluatedKey) };
  }

  /** What waits for a device (held, or sent and unanswered), oldest first. */
  async awaiting(deviceId: string, limit = 50): Promise<CommandExecution[]> {
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        IndexName: AWAITING_INDEX,
        KeyConditionExpression: 'awaitingDevice = :d',
        ExpressionAttributeValues: { ':d': deviceId },
        Limit: limit,
      }),
    );
    return (await this.read(result.Items)).filter(awaitsDevice);
  }

  /**
   * Up to `limit` entries of one shard of a fleet command's send queue, read whole. The index may lag:
   * one sent since may be among them, which the caller skips (`awaitsDispatch`); a page shorter than
   * `limit` still means the shard's queue was found empty beyond it.
   */
  async queued(batchId: string, shard: number, limit: number): Promise<CommandExecution[]> {
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        IndexName: QUEUE_INDEX,
        KeyConditionExpression: 'queueShard = :s',
        ExpressionAttributeValues: { ':s': `${batchId}#${shard}` },
        Limit: limit,
      }),
    );
    return this.read(result.Items);
  }

  /** Executions whose deadline has come, soonest first, from one shard of the due index. */
  async due(shard: number, now: number, limit: number): Promise<CommandExecution[]> {
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        IndexName: DUE_INDEX,
        KeyConditionExpression: 'dueShard = :s AND dueAt <= :now',
        ExpressionAttributeValues: { ':s': `due#${shard}`, ':now': now },
        Limit: limit,
      }),
    );
    // Due as it stands now: one sent since it was held is due at its timeout, not at its expiry.
    return (await this.read(result.Items)).filter((execution) => (dueAtOf(execution) ?? now + 1) <= now);
  }
}
