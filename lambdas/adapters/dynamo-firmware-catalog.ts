import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { FirmwareMetadata } from '../domain/firmware/metadata.ts';
import type { FirmwareCatalog } from '../domain/firmware/ports.ts';
import { KEY_SET_ITEM } from './dynamo-key-set-store.ts';

export interface DynamoFirmwareCatalogProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/**
 * The firmware catalog on DynamoDB: one item per version, keyed by `version`. Every write is conditional,
 * so a version is created once and changes status only from the status it was read in.
 */
export class DynamoFirmwareCatalog implements FirmwareCatalog {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(props: DynamoFirmwareCatalogProps) {
    this.client = props.client;
    this.tableName = props.tableName;
  }

  async create(firmware: FirmwareMetadata): Promise<'created' | 'exists'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: firmware,
          ConditionExpression: 'attribute_not_exists(#version)',
          ExpressionAttributeNames: { '#version': 'version' },
        }),
      );
      return 'created';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'exists';
      throw error;
    }
  }

  async get(version: string): Promise<FirmwareMetadata | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { version }, ConsistentRead: true }),
    );
    return result.Item as FirmwareMetadata | undefined;
  }

  async list(): Promise<readonly FirmwareMetadata[]> {
    const items: FirmwareMetadata[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          // The key set shares the table (dynamo-key-set-store.ts); it is no firmware.
          FilterExpression: '#version <> :keySet',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':keySet': KEY_SET_ITEM },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      items.push(...((page.Items ?? []) as FirmwareMetadata[]));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  async replace(
    next: FirmwareMetadata,
    expectedStatus: FirmwareMetadata['status'],
  ): Promise<'saved' | 'conflict'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: next,
          ConditionExpression: '#status = :expected',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':expected': expectedStatus },
        }),
      );
      return 'saved';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
  }

  async remove(version: string, expectedStatus: FirmwareMetadata['status']): Promise<'removed' | 'conflict'> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { version },
          ConditionExpression: '#status = :expected',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':expected': expectedStatus },
        }),
      );
      return 'removed';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
  }
}
