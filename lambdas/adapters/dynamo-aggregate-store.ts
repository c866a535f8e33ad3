import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { WindowAggregate } from '../domain/telemetry/windows.ts';
import type { AggregateStore } from '../ports.ts';
import { batchPut } from './dynamo-batch.ts';

/** Closed windows keyed (deviceId, windowStart): a window written twice is one item. Kept 30 days by default. */
export class DynamoAggregateStore implements AggregateStore {
  constructor(
    private readonly props: {
      readonly client: DynamoDBDocumentClient;
      readonly tableName: string;
      readonly ttlDays?: number;
    },
  ) {}

  async put(windows: readonly WindowAggregate[]): Promise<void> {
    const ttl = (this.props.ttlDays ?? 30) * 86_400;
    await batchPut(
      this.props.client,
      this.props.tableName,
      windows.map((w) => ({ ...w, windowStart: w.start, expiresAt: Math.floor(w.end / 1000) + ttl })),
    );
  }

  async forDevice(
    deviceId: string,
    from: number,
    to: number,
    limit: number,
  ): Promise<readonly WindowAggregate[]> {
    const result = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        KeyConditionExpression: 'deviceId = :d AND windowStart BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':d': deviceId, ':from': from, ':to': to },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []).map((item) => {
      const { windowStart: _s, expiresAt: _e, ...window } = item;
      return window as unknown as WindowAggregate;
    });
  }
}
