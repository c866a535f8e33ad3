import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CounterChange, FleetHealthStore } from '../ports.ts';

/**
 * Fleet health counters: one item per dimension (`all`, `type:<t>`, `firmware:<v>`), counters updated
 * with atomic ADDs. Reading the fleet's health reads these few items — never the registry.
 */
export class DynamoFleetHealthStore implements FleetHealthStore {
  constructor(
    private readonly props: { readonly client: DynamoDBDocumentClient; readonly tableName: string },
  ) {}

  async apply(changes: readonly CounterChange[]): Promise<void> {
    const byDimension = new Map<string, Map<string, number>>();
    for (const change of changes) {
      const counters = byDimension.get(change.dimension) ?? new Map<string, number>();
      counters.set(change.counter, (counters.get(change.counter) ?? 0) + change.delta);
      byDimension.set(change.dimension, counters);
    }
    await Promise.all(
      [...byDimension].map(([dimension, counters]) => {
        const nonZero = [...counters].filter(([, delta]) => delta !== 0);
        if (nonZero.length === 0) return Promise.resolve();
        return this.props.client.send(
          new UpdateCommand({
            TableName: this.props.tableName,
            Key: { dimension },
            UpdateExpression: `ADD ${nonZero.map((_, i) => `#c${i} :d${i}`).join(', ')}`,
            ExpressionAttributeNames: Object.fromEntries(nonZero.map(([name], i) => [`#c${i}`, name])),
            ExpressionAttributeValues: Object.fromEntries(nonZero.map(([, delta], i) => [`:d${i}`, delta])),
          }),
        );
      }),
    );
  }

  async readAll(): Promise<ReadonlyArray<{ dimension: string; counters: Readonly<Record<string, number>> }>> {
    const out: Array<{ dimension: string; counters: Record<string, number> }> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.props.client.send(
        new ScanCommand({
          TableName: this.props.tableName,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const { dimension, ...rest } = item;
        const counters = Object.fromEntries(
          Object.entries(rest).filter(([k, v]) => typeof v === 'number' && k !== 'reconciledAt'),
        ) as Record<string, number>;
        out.push({ dimension: String(dimension), counters });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  async replaceAll(
    items: ReadonlyArray<{ dimension: string; counters: Readonly<Record<string, number>> }>,
    at: number,
  ): Promise<void> {
    const keep = new Set(items.map((i) => i.dimension));
    const existing = await this.readAll();
    for (const item of items) {
      await this.props.client.send(
        new PutCommand({
          TableName: this.props.tableName,
          Item: { dimension: item.dimension, ...item.counters, reconciledAt: at },
        }),
      );
    }
    for (const old of existing) {
      if (!keep.has(old.dimension)) {
        await this.props.client.send(
          new DeleteCommand({ TableName: this.props.tableName, Key: { dimension: old.dimension } }),
        );
      }
    }
  }
}
