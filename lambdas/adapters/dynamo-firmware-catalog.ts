import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { StoredDelta } from '../domain/firmware/delta.ts';
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

  /**
   * One attribute of the `deltas` map set in place (a document path update), so deltas from different
   * bases recorded at once never overwrite each other. The map is made first if the item has none; that
   * write is conditional on its absence, so it cannot erase a delta recorded meanwhile.
   */
  async recordDelta(version: string, delta: StoredDelta): Promise<'saved' | 'conflict'> {
    const names = { '#status': 'status', '#deltas': 'deltas' };
    const set = (withMap: boolean) =>
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { version },
          UpdateExpression: withMap ? 'SET #deltas.#from = :delta' : 'SET #deltas = :map',
          ConditionExpression: withMap
            ? '#status = :available AND attribute_exists(#deltas)'
            : '#status = :available AND attribute_not_exists(#deltas)',
          ExpressionAttributeNames: withMap ? { ...names, '#from': delta.fromVersion } : names,
          ExpressionAttributeValues: withMap
            ? { ':available': 'available', ':delta': delta }
            : { ':available': 'available', ':map': { [delta.fromVersion]: delta } },
        }),
      );
    for (const withMap of [true, false, true]) {
      try {
        await set(withMap);
        return 'saved';
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    return 'conflict';
  }
}
