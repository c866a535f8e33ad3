import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { InvalidTokenError } from '../domain/errors.ts';
import type {
  DeviceListQuery,
  DeviceRecord,
  DeviceRegistry,
  DeviceSighting,
  Page,
  SeenDeviceRecord,
  SightingResult,
} from '../ports.ts';
import { batchGet } from './dynamo-batch.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';

/** Name of the registry's index by device type (see `lib/topology.ts`). */
export const BY_TYPE_INDEX = 'byType';
/** Name of the registry's sparse index of online devices by last seen. */
export const ONLINE_INDEX = 'online';
/** Shards of the online index, so a large fleet is not one hot partition. */
export const ONLINE_SHARDS = 16;

/** The online-index shard of a device: a stable hash of its id. */
export function onlineShard(deviceId: string): string {
  let h = 2166136261;
  for (let i = 0; i < deviceId.length; i++) h = Math.imul(h ^ deviceId.charCodeAt(i), 16777619);
  return `online#${(h >>> 0) % ONLINE_SHARDS}`;
}

/** An item as the registry's record: the index bookkeeping stays inside the adapter. */
function toRecord(item: Record<string, unknown>): DeviceRecord {
  const { onlineShard: _shard, ...record } = item;
  return record as unknown as DeviceRecord;
}

export interface DynamoDeviceRegistryProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

const KEY_ATTRIBUTES = ['deviceId', 'deviceType'];

/** The device registry on DynamoDB: one item per device, keyed by `deviceId`. */
export class DynamoDeviceRegistry implements DeviceRegistry {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(props: DynamoDeviceRegistryProps) {
    this.client = props.client;
    this.tableName = props.tableName;
  }

  /**
   * One conditional UpdateItem: newer-wins on `lastSeen`, so a late, older message never overwrites; the
   * device goes (back) into the online index. The old image comes back with the write, so the new one is
   * known without a read.
   */
  async recordSighting(update: DeviceSighting): Promise<SightingResult> {
    const { deviceId, lastSeen, ...fields } = update;
    const shard = onlineShard(deviceId);
    const names: Record<string, string> = {
      '#lastSeen': 'lastSeen',
      '#firstSeen': 'firstSeen',
      '#online': 'online',
      '#onlineShard': 'onlineShard',
    };
    const values: Record<string, unknown> = { ':lastSeen': lastSeen, ':true': true, ':shard': shard };
    const sets = [
      '#lastSeen = :lastSeen',
      '#firstSeen = if_not_exists(#firstSeen, :lastSeen)',
      '#online = :true',
      '#onlineShard = :shard',
    ];
    const defined: Record<string, unknown> = {};
    const removed: string[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      if (value === null) {
        // null says the device no longer has it (a CoAP gateway back on loopback): the field goes.
        names[`#${field}`] = field;
        removed.push(field);
        continue;
      }
      defined[field] = value;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { deviceId },
          UpdateExpression: `SET ${sets.join(', ')}${removed.length === 0 ? '' : ` REMOVE ${removed.map((f) => `#${f}`).join(', ')}`}`,
          ConditionExpression: 'attribute_not_exists(#lastSeen) OR #lastSeen <= :lastSeen',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
        }),
      );
      const before = result.Attributes === undefined ? undefined : toRecord(result.Attributes);
      const kept: Record<string, unknown> = { ...before };
      for (const field of removed) delete kept[field];
      const after = {
        ...kept,
        ...defined,
        deviceId,
        lastSeen,
        firstSeen: before?.firstSeen ?? lastSeen,
        online: true,
      } as SeenDeviceRecord;
      return before === undefined ? { outcome: 'applied', after } : { outcome: 'applied', before, after };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { outcome: 'stale' };
      throw error;
    }
  }

  async silentDevices(shard: number, seenBefore: number, limit: number): Promise<readonly DeviceRecord[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: ONLINE_INDEX,
        KeyConditionExpression: 'onlineShard = :shard AND lastSeen < :before',
        ExpressionAttributeValues: { ':shard': `online#${shard}`, ':before': seenBefore },
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map(toRecord);
  }

  async markOffline(
    deviceId: string,
    lastSeen: number,
  ): Promise<{ before: DeviceRecord; after: DeviceRecord } | undefined> {
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { deviceId },
          UpdateExpression: 'SET #online = :false REMOVE #onlineShard',
          ConditionExpression: '#lastSeen = :lastSeen AND attribute_exists(#onlineShard)',
          ExpressionAttributeNames: {
            '#online': 'online',
            '#onlineShard': 'onlineShard',
            '#lastSeen': 'lastSeen',
          },
          ExpressionAttributeValues: { ':false': false, ':lastSeen': lastSeen },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const before = toRecord(result.Attributes ?? {});
      return { before, after: { ...before, online: false } };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async scan(limit: number, nextToken?: string): Promise<Page<DeviceRecord>> {
    const start = nextToken === undefined ? undefined : decodePageToken(nextToken, ['deviceId']);
    const result = await this.client.send(
      new ScanCommand({
        TableName: this.tableName,
        Limit: limit,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    const items = (result.Items ?? []).map(toRecord);
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, nextToken: encodePageToken(result.LastEvaluatedKey) };
  }

  /**
   * One page of one segment of a parallel scan (DynamoDB's `Segment` / `TotalSegments`: the segments
   * split the table's key space, so each item is in exactly one). `start` and `last` are the raw keys
   * to resume from, stored by the rollout planner in its checkpoints.
   *
   * @param limit most items per page; DynamoDB's 1 MB page when undefined
   */
  async scanSegment(
    segment: number,
    totalSegments: number,
    start?: Readonly<Record<string, unknown>>,
    limit?: number,
  ): Promise<{ items: DeviceRecord[]; last?: Record<string, unknown> }> {
    const result = await this.client.send(
      new ScanCommand({
        TableName: this.tableName,
        Segment: segment,
        TotalSegments: totalSegments,
        ...(limit === undefined ? {} : { Limit: limit }),
        ...(start === undefined ? {} : { ExclusiveStartKey: { ...start } }),
      }),
    );
    const items = (result.Items ?? []).map(toRecord);
    return result.LastEvaluatedKey === undefined ? { items } : { items, last: result.LastEvaluatedKey };
  }

  /**
   * Sets a device's thing groups (replaced) and attributes (merged, `null` removes), as provisioning
   * knows them. Two concurrent updates of one device's attributes: the later one wins as a whole map.
   *
   * @returns the updated record, or undefined when the device is not in the registry
   */
  async updateProvisioning(
    deviceId: string,
    update: {
      readonly groups?: readonly string[];
      readonly attributes?: Readonly<Record<string, string | null>>;
    },
  ): Promise<DeviceRecord | undefined> {
    const current = await this.get(deviceId);
    if (current === undefined) return undefined;
    const sets: string[] = [];
    const values: Record<string, unknown> = {};
    if (update.groups !== undefined) {
      sets.push('#groups = :groups');
      values[':groups'] = [...update.groups];
    }
    if (update.attributes !== undefined) {
      const merged: Record<string, string> = { ...current.attributes };
      for (const [name, value] of Object.entries(update.attributes)) {
        if (value === null) delete merged[name];
        else merged[name] = value;
      }
      sets.push('#attributes = :attributes');
      values[':attributes'] = merged;
    }
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { deviceId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_exists(deviceId)',
          ExpressionAttributeNames: {
            ...(update.groups === undefined ? {} : { '#groups': 'groups' }),
            ...(update.attributes === undefined ? {} : { '#attributes': 'attributes' }),
          },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return toRecord(result.Attributes ?? {});
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /** Several devices by id (batches of 100); the ones not registered are left out. */
  async getMany(deviceIds: readonly string[]): Promise<DeviceRecord[]> {
    const items = await batchGet(
      this.client,
      this.tableName,
      deviceIds.map((deviceId) => ({ deviceId })),
      false,
    );
    return items.map(toRecord);
  }

  async get(deviceId: string): Promise<DeviceRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { deviceId } }));
    return result.Item === undefined ? undefined : toRecord(result.Item);
  }

  /** A page of devices: a Query on the type index when a type is given, a Scan otherwise. */
  async list(query: DeviceListQuery): Promise<Page<DeviceRecord>> {
    const startKey =
      query.nextToken === undefined ? undefined : decodePageToken(query.nextToken, KEY_ATTRIBUTES);
    if (
      startKey !== undefined &&
      query.deviceType !== undefined &&
      startKey.deviceType !== query.deviceType
    ) {
      throw new InvalidTokenError(
        'nextToken belongs to a different query; repeat the query that returned it',
      );
    }
    const common = { TableName: this.tableName, Limit: query.limit, ExclusiveStartKey: startKey };
    const result =
      query.deviceType === undefined
        ? await this.client.send(new ScanCommand(common))
        : await this.client.send(
            new QueryCommand({
              ...common,
              IndexName: BY_TYPE_INDEX,
              KeyConditionExpression: 'deviceType = :type',
              ExpressionAttributeValues: { ':type': query.deviceType },
            }),
          );
    const items = (result.Items ?? []).map(toRecord);
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, nextToken: encodePageToken(result.LastEvaluatedKey) };
  }
}
