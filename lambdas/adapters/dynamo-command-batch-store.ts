import { type DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { CommandBatch } from '../domain/commands/batch.ts';
import { putVersioned } from './dynamo-versioned-put.ts';

export interface DynamoCommandBatchStoreProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long a fleet command is kept after its executions expire (DynamoDB TTL). */
  readonly retentionMs: number;
}

/**
 * Fleet commands on DynamoDB: one item per batch, written with a condition on the version read (the
 * scheduler and a retried create never both win). Its progress lives in the counters, not here.
 */
export class DynamoCommandBatchStore {
  constructor(private readonly props: DynamoCommandBatchStoreProps) {}

  private toItem(batch: CommandBatch): Record<string, unknown> {
    return { ...batch, ttl: Math.ceil((batch.expiresAt + this.props.retentionMs) / 1000) };
  }

  async get(batchId: string): Promise<CommandBatch | undefined> {
    const result = await this.props.client.send(
      new GetCommand({ TableName: this.props.tableName, Key: { batchId }, ConsistentRead: true }),
    );
    if (result.Item === undefined) return undefined;
    const { ttl: _ttl, ...batch } = result.Item;
    return batch as CommandBatch;
  }

  /**
   * Stores `next` if the stored batch is still at `expectedVersion` (undefined: none stored yet).
   * @returns `conflict` when the batch exists (create) or moved on (save)
   */
  async save(next: CommandBatch, expectedVersion: number | undefined): Promise<'saved' | 'conflict'> {
    return putVersioned(
      this.props.client,
      this.props.tableName,
      this.toItem(next),
      'batchId',
      expectedVersion,
    );
  }

  /** Fleet commands with executions never tried: a Scan of the (few, expiring) batches. */
  async dispatching(): Promise<CommandBatch[]> {
    const batches: CommandBatch[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.props.client.send(
        new ScanCommand({
          TableName: this.props.tableName,
          FilterExpression: '#status = :s',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':s': 'DISPATCHING' },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const { ttl: _ttl, ...batch } of page.Items ?? []) batches.push(batch as CommandBatch);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return batches;
  }
}
