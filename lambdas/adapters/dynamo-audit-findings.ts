import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import type { StoredFinding } from '../domain/audit/findings.ts';
import type { AuditState, FindingQuery, FindingStore } from '../domain/audit/ports.ts';
import { InvalidTokenError } from '../domain/errors.ts';
import type { Page } from '../ports.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';

/** The findings table's index of findings by check. */
export const BY_CHECK_INDEX = 'byCheck';
/** The key of the audit's own state item: `#` is never in a device id, and the item has no `check`. */
const STATE_KEY = { deviceId: '#audit', findingId: 'state' } as const;
const KEY_ATTRIBUTES = ['deviceId', 'findingId', 'check'];

export interface DynamoAuditFindingsProps {
  readonly client: DynamoDBDocumentClient;
  /** The `auditFindings` table. */
  readonly tableName: string;
  /** Every check's id, in the order a listing of all findings goes through them. */
  readonly checks: readonly string[];
}

/**
 * The audit's findings on DynamoDB: one item per device and finding (`<check>#<resource>`), indexed by
 * check; plus one state item, the scheduled audit's place in its pass. Every read is by key or by index:
 * the findings of a device, of a check, or of each check in turn.
 */
export class DynamoAuditFindings implements FindingStore {
  constructor(private readonly props: DynamoAuditFindingsProps) {}

  private get table(): string {
    return this.props.tableName;
  }

  async forDevice(deviceId: string): Promise<readonly StoredFinding[]> {
    const items: StoredFinding[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.props.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'deviceId = :d',
          ExpressionAttributeValues: { ':d': deviceId },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((page.Items ?? []) as StoredFinding[]));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  async put(finding: StoredFinding): Promise<void> {
    await this.props.client.send(new PutCommand({ TableName: this.table, Item: finding }));
  }

  async remove(deviceId: string, findingId: string): Promise<void> {
    await this.props.client.send(new DeleteCommand({ TableName: this.table, Key: { deviceId, findingId } }));
  }

  async list(query: FindingQuery): Promise<Page<StoredFinding>> {
    const start =
      query.nextToken === undefined ? undefined : decodePageToken(query.nextToken, KEY_ATTRIBUTES);
    if (query.deviceId !== undefined) {
      return this.page(
        {
          KeyConditionExpression:
            query.check === undefined ? 'deviceId = :d' : 'deviceId = :d AND begins_with(findingId, :c)',
          ExpressionAttributeValues: {
            ':d': query.deviceId,
            ...(query.check === undefined ? {} : { ':c': `${query.check}#` }),
          },
        },
        query.limit,
        start,
      );
    }
    const checks = query.check === undefined ? this.props.checks : [query.check];
    // Each check in turn: a token names the check it stopped in (and where, if within it).
    let index = start?.check === undefined ? 0 : checks.indexOf(start.check);
    if (index < 0) throw new InvalidTokenError('nextToken names a check this listing does not go through');
    let key = start?.findingId === undefined ? undefined : start;
    const items: StoredFinding[] = [];
    while (index >= 0 && index < checks.length && items.length < query.limit) {
      const page = await this.page(
        {
          IndexName: BY_CHECK_INDEX,
          KeyConditionExpression: '#c = :c',
          ExpressionAttributeNames: { '#c': 'check' },
          ExpressionAttributeValues: { ':c': checks[index] },
        },
        query.limit - items.length,
        key,
      );
      items.push(...page.items);
      if (page.nextToken !== undefined) return { items, nextToken: page.nextToken };
      index++;
      key = undefined;
    }
    const next = checks[index];
    return index < checks.length && next !== undefined
      ? { items, nextToken: encodePageToken({ check: next }) }
      : { items };
  }

  private async page(
    query: Record<string, unknown>,
    limit: number,
    start: Record<string, string> | undefined,
  ): Promise<Page<StoredFinding>> {
    const result = await this.props.client.send(
      new QueryCommand({ TableName: this.table, ...query, Limit: limit, ExclusiveStartKey: start }),
    );
    const items = (result.Items ?? []) as StoredFinding[];
    return result.LastEvaluatedKey === undefined
      ? { items }
      : { items, nextToken: encodePageToken(result.LastEvaluatedKey) };
  }

  async state(): Promise<AuditState | undefined> {
    const found = await this.props.client.send(new GetCommand({ TableName: this.table, Key: STATE_KEY }));
    if (found.Item === undefined) return undefined;
    const { deviceId: _d, findingId: _f, ...state } = found.Item;
    return state as AuditState;
  }

  async saveState(state: AuditState): Promise<void> {
    await this.props.client.send(new PutCommand({ TableName: this.table, Item: { ...state, ...STATE_KEY } }));
  }
}
