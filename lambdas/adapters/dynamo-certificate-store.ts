import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { CertificateRecord, CertificateStore } from '../domain/identity/ports.ts';

/** The certificates table's sparse index of retired certificates waiting for deletion, by when. */
export const RETIRING_INDEX = 'retiring';
/** Shards of the retiring index, so a fleet-wide rotation is not one hot partition. */
export const RETIRING_SHARDS = 8;

/** The certificates table's sparse index of ACTIVE certificates, sharded, by expiry (`notAfter`). */
export const ACTIVE_INDEX = 'active';

/** The retiring-index shard of a device: a stable hash of its id (the active index uses it too). */
export function retiringShard(deviceId: string): number {
  let h = 2166136261;
  for (let i = 0; i < deviceId.length; i++) h = Math.imul(h ^ deviceId.charCodeAt(i), 16777619);
  return (h >>> 0) % RETIRING_SHARDS;
}

export interface DynamoCertificateStoreProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** An item as a record: the index bookkeeping stays in the adapter. */
function toRecord(item: Record<string, unknown>): CertificateRecord {
  const { retireShard: _shard, activeShard: _active, ...record } = item;
  return record as unknown as CertificateRecord;
}

/**
 * Every certificate a device had, on DynamoDB: one item per device and certificate. An INACTIVE
 * certificate with a `deleteAfter` is in the sparse `retiring` index (sharded by device) until the
 * sweeper deletes it; any other status takes it out. An ACTIVE one is in the sparse `active` index by
 * `notAfter`, which the audit counts expiring certificates from.
 */
export class DynamoCertificateStore implements CertificateStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(props: DynamoCertificateStoreProps) {
    this.client = props.client;
    this.tableName = props.tableName;
  }

  async forDevice(deviceId: string): Promise<readonly CertificateRecord[]> {
    const items: CertificateRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'deviceId = :d',
          ExpressionAttributeValues: { ':d': deviceId },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []).map(toRecord));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items.sort((a, b) => a.createdAt - b.createdAt);
  }

  async put(record: CertificateRecord): Promise<void> {
    const retiring = record.status === 'INACTIVE' && record.deleteAfter !== undefined;
    const shard = retiringShard(record.deviceId);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...record,
          ...(retiring ? { retireShard: `retire#${shard}` } : {}),
          ...(record.status === 'ACTIVE' ? { activeShard: `active#${shard}` } : {}),
        },
      }),
    );
  }

  async dueForDeletion(shard: number, now: number, limit: number): Promise<readonly CertificateRecord[]> {
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: RETIRING_INDEX,
        KeyConditionExpression: 'retireShard = :s AND deleteAfter <= :now',
        ExpressionAttributeValues: { ':s': `retire#${shard}`, ':now': now },
        Limit: limit,
      }),
    );
    return (page.Items ?? []).map(toRecord);
  }

  async countActiveExpiringBefore(at: number): Promise<number> {
    let count = 0;
    for (let shard = 0; shard < RETIRING_SHARDS; shard++) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: ACTIVE_INDEX,
            KeyConditionExpression: 'activeShard = :s AND notAfter < :at',
            ExpressionAttributeValues: { ':s': `active#${shard}`, ':at': at },
            Select: 'COUNT',
            ExclusiveStartKey: start,
          }),
        );
        count += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    }
    return count;
  }
}
