import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidTokenError } from '../domain/errors.ts';
import type { ShadowRecord } from '../domain/shadow/document.ts';
import type { HistoryEntry } from '../domain/shadow/history.ts';
import type { ShadowId } from '../domain/shadow/operations.ts';
import type { ClientTokenEntry, Page, PendingShadow, ShadowStore, StoredShadow } from '../ports.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';
import { decodeShardedToken, encodeShardedToken } from './sharded-token.ts';

/** Sort key of the classic shadow: `#` cannot occur in a shadow name (AWS allows [$a-zA-Z0-9:_-]), so it never collides. */
export const CLASSIC_SHADOW_KEY = '#classic';
/** Name of the sparse index over shadows whose delta is not empty. */
export const PENDING_INDEX = 'pending';
/** Partitions the pending index is spread over, so one popular shadow name is not one hot partition. */
export const PENDING_SHARDS = 16;

export interface DynamoShadowStoreProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
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
  /**
   * The recent request ids as JSON text, oldest first, like the history: one string attribute instead of
   * a list of maps, which DynamoDB's wire format (and each SDK and server) would handle attribute by
   * attribute on every read and write. Items written before hold the list; both are read.
   */
  tokens?: string | ClientTokenEntry[];
  /** The history entries as JSON text, oldest first. */
  history?: string;
  pendingPk?: string;
  pendingSk?: string;
}

/**
 * Shadows on DynamoDB: one item per (thing, shadow) holding the document, the recent request ids and
 * the history, written only with a condition on the revision read — one conditional write per change,
 * so concurrent writers never overwrite each other and the history is exactly the changes made.
 */
export class DynamoShadowStore implements ShadowStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(props: DynamoShadowStoreProps) {
    this.client = props.client;
    this.tableName = props.tableName;
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
      recentTokens:
        typeof item.tokens === 'string'
          ? (JSON.parse(item.tokens) as ClientTokenEntry[])
          : (item.tokens ?? []),
      history: item.history === undefined ? [] : (JSON.parse(item.history) as HistoryEntry[]),
    };
  }

  async save(
    id: ShadowId,
    next: StoredShadow & { readonly pending: boolean },
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
      ...(next.recentTokens.length === 0 ? {} : { tokens: JSON.stringify(next.recentTokens) }),
      ...(next.history.length === 0 ? {} : { history: JSON.stringify(next.history) }),
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

  /**
   * One Query over the thing's partition. Deleted shadows (kept for their version) are filtered out, so a
   * page may hold fewer than `limit` names while a `nextToken` still follows.
   */
  async listNamedShadows(thingName: string, limit: number, nextToken?: string): Promise<Page<string>> {
    const startKey =
      nextToken === undefined ? undefined : decodePageToken(nextToken, ['thingName', 'shadowName']);
    if (startKey !== undefined && startKey.thingName !== thingName) {
      throw new InvalidTokenError('nextToken belongs to another thing; repeat the query that returned it');
    }
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        // '#' sorts before every character a shadow name may hold, so `>` skips exactly the classic shadow.
        KeyConditionExpression: 'thingName = :thing AND shadowName > :classic',
        FilterExpression: '#exists = :yes',
        ExpressionAttributeNames: { '#exists': 'exists' },
        ExpressionAttributeValues: { ':thing': thingName, ':yes': true, ':classic': CLASSIC_SHADOW_KEY },
        ProjectionExpression: 'thingName, shadowName',
        Limit: limit,
        ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
      }),
    );
    const items = (result.Items ?? []).map((item) => item.shadowName as string);
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, nextToken: encodePageToken(result.LastEvaluatedKey) };
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
