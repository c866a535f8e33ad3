import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { CounterChange, FleetHealthStore } from '../ports.ts';

/** Counter items the increments are spread over, so status writers do not queue on one item. */
export const COUNTER_SHARDS = 16;
/** Key prefix of the shard items: a dimension is `all`, `type:...` or `firmware:...`, never `#...`. */
const SHARD_PREFIX = '#shard-';
/** Separates dimension and counter in an attribute name; a tab cannot occur in a type or a version. */
const SEPARATOR = '\t';

/** Properties of a {@link DynamoFleetHealthStore}. */
export interface DynamoFleetHealthStoreProps {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Picks the shard an `apply` adds to, in 0..COUNTER_SHARDS-1. @default uniformly at random */
  readonly shard?: () => number;
}

type Counters = Record<string, number>;

const shardKey = (shard: number) => `${SHARD_PREFIX}${String(shard).padStart(2, '0')}`;

/**
 * Fleet health counters, kept by atomic ADDs on {@link COUNTER_SHARDS} shard items. Each shard item holds
 * a part of every dimension's counters as attributes named `<dimension>\t<counter>`; a counter is the
 * sum over the shards. So one device changing category costs one UpdateItem, whatever the dimensions it
 * moves in (the whole fleet, its type, its firmware), and concurrent writers spread over the shards
 * instead of queueing on the `all` item. Reading the fleet's health reads these few items — never the
 * registry. Items of the earlier layout (one per dimension) are still counted, until the reconciler's
 * `replaceAll` rewrites them.
 */
export class DynamoFleetHealthStore implements FleetHealthStore {
  private readonly shard: () => number;

  constructor(private readonly props: DynamoFleetHealthStoreProps) {
    this.shard = props.shard ?? (() => Math.floor(Math.random() * COUNTER_SHARDS));
  }

  async apply(changes: readonly CounterChange[]): Promise<void> {
    const sums = new Map<string, number>();
    for (const change of changes) {
      const name = `${change.dimension}${SEPARATOR}${change.counter}`;
      sums.set(name, (sums.get(name) ?? 0) + change.delta);
    }
    const nonZero = [...sums].filter(([, delta]) => delta !== 0);
    if (nonZero.length === 0) return;
    await this.props.client.send(
      new UpdateCommand({
        TableName: this.props.tableName,
        Key: { dimension: shardKey(this.shard()) },
        UpdateExpression: `ADD ${nonZero.map((_, i) => `#c${i} :d${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(nonZero.map(([name], i) => [`#c${i}`, name])),
        ExpressionAttributeValues: Object.fromEntries(nonZero.map(([, delta], i) => [`:d${i}`, delta])),
      }),
    );
  }

  async readAll(): Promise<ReadonlyArray<{ dimension: string; counters: Readonly<Record<string, number>> }>> {
    const totals = new Map<string, Counters>();
    const add = (dimension: string, counter: string, value: number) => {
      const counters = totals.get(dimension) ?? {};
      counters[counter] = (counters[counter] ?? 0) + value;
      totals.set(dimension, counters);
    };
    for (const item of await this.items()) {
      const { dimension, ...rest } = item;
      const sharded = String(dimension).startsWith(SHARD_PREFIX);
      for (const [name, value] of Object.entries(rest)) {
        if (typeof value !== 'number' || name === 'reconciledAt') continue;
        if (!sharded) {
          add(String(dimension), name, value);
          continue;
        }
        const at = name.indexOf(SEPARATOR);
        if (at > 0) add(name.slice(0, at), name.slice(at + 1), value);
      }
    }
    return [...totals].map(([dimension, counters]) => ({ dimension, counters }));
  }

  /**
   * Writes the recounted values to the first shard and empties the others (and any item of the earlier
   * layout). Increments that land while it runs may be overwritten: the next recount puts them right.
   */
  async replaceAll(
    items: ReadonlyArray<{ dimension: string; counters: Readonly<Record<string, number>> }>,
    at: number,
  ): Promise<void> {
    const first = shardKey(0);
    const attributes: Counters = {};
    for (const item of items) {
      for (const [counter, value] of Object.entries(item.counters)) {
        attributes[`${item.dimension}${SEPARATOR}${counter}`] = value;
      }
    }
    const existing = await this.items();
    await this.props.client.send(
      new PutCommand({
        TableName: this.props.tableName,
        Item: { dimension: first, ...attributes, reconciledAt: at },
      }),
    );
    for (const old of existing) {
      if (old.dimension === first) continue;
      await this.props.client.send(
        new DeleteCommand({ TableName: this.props.tableName, Key: { dimension: old.dimension } }),
      );
    }
  }

  private async items(): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.props.client.send(
        new ScanCommand({
          TableName: this.props.tableName,
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      out.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }
}
