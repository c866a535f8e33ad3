import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { InvalidTokenError } from '../domain/errors.ts';
import type { DeviceListQuery, DeviceRecord, DeviceRegistry, DeviceStatusUpdate, Page } from '../ports.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';

/** Name of the registry's index by device type (see `lib/topology.ts`). */
export const BY_TYPE_INDEX = 'byType';

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

  /** One conditional UpdateItem: newer-wins on `lastSeen`, so a late, older message never overwrites. */
  async recordStatus(update: DeviceStatusUpdate): Promise<'applied' | 'stale'> {
    const { deviceId, lastSeen, ...fields } = update;
    const names: Record<string, string> = { '#lastSeen': 'lastSeen', '#firstSeen': 'firstSeen' };
    const values: Record<string, unknown> = { ':lastSeen': lastSeen };
    const sets = ['#lastSeen = :lastSeen', '#firstSeen = if_not_exists(#firstSeen, :lastSeen)'];
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { deviceId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(#lastSeen) OR #lastSeen <= :lastSeen',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return 'applied';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'stale';
      throw error;
    }
  }

  async get(deviceId: string): Promise<DeviceRecord | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { deviceId } }));
    return result.Item as DeviceRecord | undefined;
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
    const items = (result.Items ?? []) as DeviceRecord[];
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, nextToken: encodePageToken(result.LastEvaluatedKey) };
  }
}
