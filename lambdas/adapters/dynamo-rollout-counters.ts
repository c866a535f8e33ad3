import { type DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';

/** One counter change of a rollout: scope `rollout` or `wave:<n>`, counter an execution status. */
export interface RolloutCounterChange {
  readonly rolloutId: string;
  readonly scope: string;
  readonly counter: string;
  readonly delta: number;
}

/** Scopes that are not counters start with this (the reconciler's note). */
const NOTE_PREFIX = '~';
const RECONCILE_NOTE = `${NOTE_PREFIX}reconcile`;

/** A rollout's counters by scope. */
export type RolloutCounters = ReadonlyArray<{ scope: string; counters: Readonly<Record<string, number>> }>;

/**
 * Rollout counters on DynamoDB: one item per (rollout, scope) with one numeric attribute per execution
 * status, moved by atomic ADDs as executions change. Reading a rollout's status is one Query over a
 * handful of items — the rollout's size does not enter into it. Fleet commands keep their counters the
 * same way, in a table keyed by `batchId` (`partitionKey`); their changes name the batch as `rolloutId`.
 */
export class DynamoRolloutCounterStore {
  private readonly key: string;

  constructor(
    private readonly props: {
      readonly client: DynamoDBDocumentClient;
      readonly tableName: string;
      /** The table's partition key attribute. @default 'rolloutId' */
      readonly partitionKey?: string;
    },
  ) {
    this.key = props.partitionKey ?? 'rolloutId';
  }

  async apply(changes: readonly RolloutCounterChange[]): Promise<void> {
    const byItem = new Map<string, { rolloutId: string; scope: string; deltas: Map<string, number> }>();
    for (const change of changes) {
      const key = `${change.rolloutId}\u0000${change.scope}`;
      const item = byItem.get(key) ?? { rolloutId: change.rolloutId, scope: change.scope, deltas: new Map() };
      item.deltas.set(change.counter, (item.deltas.get(change.counter) ?? 0) + change.delta);
      byItem.set(key, item);
    }
    await Promise.all(
      [...byItem.values()].map(({ rolloutId, scope, deltas }) => {
        const nonZero = [...deltas].filter(([, delta]) => delta !== 0);
        if (nonZero.length === 0) return Promise.resolve();
        return this.props.client.send(
          new UpdateCommand({
            TableName: this.props.tableName,
            Key: { [this.key]: rolloutId, scope },
            UpdateExpression: `ADD ${nonZero.map((_, i) => `#c${i} :d${i}`).join(', ')}`,
            ExpressionAttributeNames: Object.fromEntries(nonZero.map(([name], i) => [`#c${i}`, name])),
            ExpressionAttributeValues: Object.fromEntries(nonZero.map(([, delta], i) => [`:d${i}`, delta])),
          }),
        );
      }),
    );
  }

  async read(rolloutId: string): Promise<RolloutCounters> {
    const out: Array<{ scope: string; counters: Record<string, number> }> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.props.client.send(
        new QueryCommand({
          TableName: this.props.tableName,
          KeyConditionExpression: '#key = :r',
          ExpressionAttributeNames: { '#key': this.key },
          ExpressionAttributeValues: { ':r': rolloutId },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of page.Items ?? []) {
        const { [this.key]: _r, scope, ...rest } = item;
        if (String(scope).startsWith(NOTE_PREFIX)) continue;
        const counters = Object.fromEntries(
          Object.entries(rest).filter(([k, v]) => typeof v === 'number' && k !== 'reconciledAt'),
        ) as Record<string, number>;
        out.push({ scope: String(scope), counters });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }

  /** The reconciler's note on a rollout: the drift it saw last time, if any. */
  async note(rolloutId: string): Promise<string | undefined> {
    const page = await this.props.client.send(
      new QueryCommand({
        TableName: this.props.tableName,
        KeyConditionExpression: 'rolloutId = :r AND #scope = :s',
        ExpressionAttributeNames: { '#scope': 'scope' },
        ExpressionAttributeValues: { ':r': rolloutId, ':s': RECONCILE_NOTE },
        ConsistentRead: true,
      }),
    );
    const drift = page.Items?.[0]?.drift;
    return typeof drift === 'string' ? drift : undefined;
  }

  /** Keeps (or with `undefined`, clears) the drift the reconciler saw, for its next run to compare. */
  async setNote(rolloutId: string, drift: string | undefined, at: number): Promise<void> {
    await this.props.client.send(
      new PutCommand({
        TableName: this.props.tableName,
        Item: { rolloutId, scope: RECONCILE_NOTE, ...(drift === undefined ? {} : { drift }), at },
      }),
    );
  }

  /** Replaces a rollout's counters with a recount. */
  async replace(rolloutId: string, counters: RolloutCounters, at: number): Promise<void> {
    for (const { scope, counters: values } of counters) {
      await this.props.client.send(
        new PutCommand({
          TableName: this.props.tableName,
          Item: { rolloutId, scope, ...values, reconciledAt: at },
        }),
      );
    }
  }
}
