import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ShadowRecord } from '../domain/shadow/document.ts';
import type { ShadowId } from '../domain/shadow/operations.ts';
import type {
  ClientTokenEntry,
  Page,
  PendingShadow,
  ShadowStore,
  ShadowVersion,
  StoredShadow,
} from '../ports.ts';
import { decodeShardedToken, encodeShardedToken } from './sharded-token.ts';

/** Sort key of the classic shadow: `#` cannot occur in a shadow name (AWS allows [$a-zA-Z0-9:_-]), so it never collides. */
export const CLASSIC_SHADOW_KEY = '#classic';
/** Name of the sparse index over shadows whose delta is not empty. */
export const PENDING_INDEX = 'pending';
/** History entries are trimmed every this many versions, in one batch request. */
export const HISTORY_TRIM_BATCH = 10;
/** Partitions the pending index is spread over, so one popular shadow name is not one hot partition. */
export const PENDING_SHARDS = 16;

export interface DynamoShadowStoreProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly historyTableName: string;
  /** Days a history entry lives at most, whatever `keep` says (DynamoDB TTL). @default 90 */
  readonly historyTtlDays?: number;
}

function shadowKey(id: ShadowId): string {
  return id.shadowName ?? CLASSIC_SHADOW_KEY;
}

/** Which pending-index partition a thing falls in: a stable string hash of its name. */
export function pendingShard(thingName: string): number {
  let h = 2166136261;
  for (let i = 0; i < thingName.length; i++) h = Math.imul(h ^ thingName.charCodeAt(i), 16777619);
  return (h >>> 0) % PENDING_SHARDS;
}

interface ShadowItem {
  thingName: string;
  shadowName: string;
  revision: number;
  version: number;
  timestamp: number;
  exists: boolean;
  /** `{state, metadata}` as JSON text: kept verbatim, whatever the nesting or number precision. */
  document: string;
  tokens?: ClientTokenEntry[];
  pendingPk?: string;
  pendingSk?: string;
}

/**
 * Shadows on DynamoDB: one item per (thing, shadow), written only with a condition on the revision
 * read, so concurrent writers never overwrite each other; history in a second table keyed by version.
 */
export class DynamoShadowStore implements ShadowStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly historyTableName: string;
  private readonly historyTtlSeconds: number;

  constructor(props: DynamoShadowStoreProps) {
    this.client = props.client;
    this.tableName = props.tableName;
    this.historyTableName = props.historyTableName;
    this.historyTtlSeconds = (props.historyTtlDays ?? 90) * 86_400;
  }

  async load(id: ShadowId): Promise<StoredShadow | undefined> {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { thingName: id.thingName, shadowName: shadowKey(id) },
        ConsistentRead: true,
      }),
    );
    const item = result.Item as ShadowItem | undefined;
    if (item === undefined) return undefined;
    const { state, metadata } = JSON.parse(item.document) as Pick<ShadowRecord, 'state' | 'metadata'>;
    return {
      record: { state, metadata, version: item.version, timestamp: item.timestamp, exists: item.exists },
      revision: item.revision,
      recentTokens: item.tokens ?? [],
    };
  }

  async save(
    id: ShadowId,
    next: {
      record: ShadowRecord;
      revision: number;
      recentTokens: readonly ClientTokenEntry[];
      pending: boolean;
    },
    expectedRevision: number | undefined,
  ): Promise<'saved' | 'conflict'> {
    const { record } = next;
    const item: ShadowItem = {
      thingName: id.thingName,
      shadowName: shadowKey(id),
      revision: next.revision,
      version: record.version,
      timestamp: record.timestamp,
      exists: record.exists,
      document: JSON.stringify({ state: record.state, metadata: record.metadata }),
      ...(next.recentTokens.length === 0 ? {} : { tokens: [...next.recentTokens] }),
      ...(next.pending
        ? { pendingPk: `${shadowKey(id)}#${pendingShard(id.thingName)}`, pendingSk: id.thingName }
        : {}),
    };
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ...(expectedRevision === undefined
            ? { ConditionExpression: 'attribute_not_exists(thingName)' }
            : {
                ConditionExpression: '#revision = :expected',
                ExpressionAttributeNames: { '#revision': 'revision' },
                ExpressionAttributeValues: { ':expected': expectedRevision },
              }),
        }),
      );
      return 'saved';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
  }

  async recordHistory(id: ShadowId, record: ShadowRecord, keep: number): Promise<void> {
    const shadowId = `${id.thingName}#${shadowKey(id)}`;
    await this.client.send(
      new PutCommand({
        TableName: this.historyTableName,
        Item: {
          shadowId,
          version: record.version,
          timestamp: record.timestamp,
          exists: record.exists,
          document: JSON.stringify({ state: record.state, metadata: record.metadata }),
          expiresAt: record.timestamp + this.historyTtlSeconds,
        },
      }),
    );
    // Trimmed in batches, one request per HISTORY_TRIM_BATCH versions instead of one per write; reads ask
    // for the newest `keep`, so the few extra entries in between are never seen.
    if (record.version % HISTORY_TRIM_BATCH !== 0) return;
    const newestToForget = record.version - keep;
    const forget: number[] = [];
    for (let v = Math.max(1, newestToForget - HISTORY_TRIM_BATCH + 1); v <= newestToForget; v++)
      forget.push(v);
    if (forget.length === 0) return;
    await this.client.send(
      new BatchWriteCommand({
        RequestItems: {
          [this.historyTableName]: forget.map((version) => ({
            DeleteRequest: { Key: { shadowId, version } },
          })),
        },
      }),
    );
  }

  async history(id: ShadowId, limit: number): Promise<readonly ShadowVersion[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.historyTableName,
        KeyConditionExpression: 'shadowId = :id',
        ExpressionAttributeValues: { ':id': `${id.thingName}#${shadowKey(id)}` },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => {
      const { state, metadata } = JSON.parse(item.document as string) as Pick<
        ShadowRecord,
        'state' | 'metadata'
      >;
      return {
        version: item.version as number,
        timestamp: item.timestamp as number,
        exists: item.exists as boolean,
        state,
        metadata,
      };
    });
  }

  /** Walks the index shard by shard; the token says which shard and where in it to continue. */
  async listPending(
    shadowName: string | undefined,
    limit: number,
    nextToken?: string,
  ): Promise<Page<PendingShadow>> {
    const key = shadowName ?? CLASSIC_SHADOW_KEY;
    let position = nextToken === undefined ? { shard: 0 } : decodeShardedToken(nextToken, PENDING_SHARDS);
    const items: PendingShadow[] = [];
    while (items.length < limit) {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: PENDING_INDEX,
          KeyConditionExpression: 'pendingPk = :pk',
          ExpressionAttributeValues: { ':pk': `${key}#${position.shard}` },
          Limit: limit - items.length,
          ...(position.key === undefined ? {} : { ExclusiveStartKey: position.key }),
        }),
      );
      for (const item of (result.Items ?? []) as ShadowItem[]) {
        items.push({
          thingName: item.thingName,
          ...(item.shadowName === CLASSIC_SHADOW_KEY ? {} : { shadowName: item.shadowName }),
          version: item.version,
          timestamp: item.timestamp,
        });
      }
      if (result.LastEvaluatedKey !== undefined) {
        position = { shard: position.shard, key: result.LastEvaluatedKey as Record<string, string> };
      } else if (position.shard + 1 < PENDING_SHARDS) {
        position = { shard: position.shard + 1 };
      } else {
        return { items };
      }
    }
    return { items, nextToken: encodeShardedToken(position) };
  }
}
