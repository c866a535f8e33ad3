import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeviceIdentityFields, DeviceIdentityRecords } from '../domain/identity/ports.ts';
import { BY_TYPE_INDEX } from './dynamo-device-registry.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';

export interface DynamoDeviceIdentityProps {
  readonly client: DynamoDBDocumentClient;
  /** The device registry table. */
  readonly tableName: string;
}

const FIELDS = [
  'deviceId',
  'deviceType',
  'certificateId',
  'provisionedAt',
  'lastRotatedAt',
  'rotationRequestedAt',
];

/**
 * The identity attributes of the device registry's items, on DynamoDB: single-item updates that touch
 * only these attributes, so they never race what devices report (`recordSighting`).
 */
export class DynamoDeviceIdentity implements DeviceIdentityRecords {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(props: DynamoDeviceIdentityProps) {
    this.client = props.client;
    this.tableName = props.tableName;
  }

  async get(deviceId: string) {
    const result = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { deviceId },
        ProjectionExpression: FIELDS.map((_, i) => `#f${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(FIELDS.map((f, i) => [`#f${i}`, f])),
      }),
    );
    return result.Item as (DeviceIdentityFields & { deviceId: string }) | undefined;
  }

  /** Keeps the first provisioning time: provisioning the same device again (a retry) changes nothing. */
  async recordProvisioned(
    deviceId: string,
    fields: { deviceType: string; certificateId: string; provisionedAt: number },
  ): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { deviceId },
        UpdateExpression:
          'SET deviceType = :t, certificateId = :c, provisionedAt = if_not_exists(provisionedAt, :p)',
        ExpressionAttributeValues: {
          ':t': fields.deviceType,
          ':c': fields.certificateId,
          ':p': fields.provisionedAt,
        },
      }),
    );
  }

  async recordRotated(deviceId: string, certificateId: string, at: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { deviceId },
        UpdateExpression: 'SET certificateId = :c, lastRotatedAt = :at REMOVE rotationRequestedAt',
        ConditionExpression: 'attribute_exists(deviceId)',
        ExpressionAttributeValues: { ':c': certificateId, ':at': at },
      }),
    );
  }

  async requestRotation(deviceId: string, at: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { deviceId },
          UpdateExpression: 'SET rotationRequestedAt = :at',
          ConditionExpression: 'attribute_exists(deviceId)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async recordClientIdConflict(deviceId: string, at: number): Promise<boolean> {
    // The latest time wins (events may come out of order); the count is of events received.
    const record = (setTime: boolean) =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { deviceId },
          UpdateExpression: setTime
            ? 'ADD clientIdConflicts :one SET lastClientIdConflictAt = :at'
            : 'ADD clientIdConflicts :one',
          ConditionExpression: setTime
            ? 'attribute_exists(deviceId) AND (attribute_not_exists(lastClientIdConflictAt) OR lastClientIdConflictAt < :at)'
            : 'attribute_exists(deviceId)',
          ExpressionAttributeValues: setTime ? { ':one': 1, ':at': at } : { ':one': 1 },
        }),
      );
    for (const setTime of [true, false]) {
      try {
        await record(setTime);
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    // Not even counted: the device is not registered.
    return false;
  }

  async idsOfType(deviceType: string, nextToken?: string) {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: BY_TYPE_INDEX,
        KeyConditionExpression: 'deviceType = :t',
        ExpressionAttributeValues: { ':t': deviceType },
        ProjectionExpression: 'deviceId',
        Limit: 100,
        ...(nextToken === undefined
          ? {}
          : { ExclusiveStartKey: decodePageToken(nextToken, ['deviceId', 'deviceType']) }),
      }),
    );
    const ids = (page.Items ?? []).map((item) => String(item.deviceId));
    return page.LastEvaluatedKey === undefined
      ? { ids }
      : { ids, nextToken: encodePageToken(page.LastEvaluatedKey) };
  }
}
