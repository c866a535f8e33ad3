import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InvalidTokenError } from '../domain/errors.ts';
import type { TelemetryAlert } from '../domain/telemetry/alerts.ts';
import type { AlertStore, Page } from '../ports.ts';
import { batchPut } from './dynamo-batch.ts';
import { decodePageToken, encodePageToken } from './page-token.ts';

/** Name of the alerts' index by day (see `lib/topology.ts`). */
export const RECENT_INDEX = 'recent';
const DAY_MS = 86_400_000;
/** How many days back `recent` looks for fleet-wide alerts. */
export const RECENT_DAYS = 7;

/** Where a fleet-wide listing continues: a day of the index, and the position in it. */
interface DayCursor {
  readonly day: string;
  readonly key?: Record<string, string>;
}

function encodeDayCursor(cursor: DayCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

function decodeDayCursor(token: string): DayCursor {
  const refuse = () => new InvalidTokenError('nextToken is not a token this API issued');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw refuse();
  }
  const { day: d, key } = (parsed ?? {}) as { day?: unknown; key?: unknown };
  if (typeof d !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(d)) throw refuse();
  if (key === undefined) return { day: d };
  if (typeof key !== 'object' || key === null || Object.values(key).some((v) => typeof v !== 'string'))
    throw refuse();
  return { day: d, key: key as Record<string, string> };
}

function day(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** Sorts by time then id; raised and cleared edges of one episode get their own keys. */
function alertKey(alert: TelemetryAlert): string {
  return `${String(alert.at).padStart(15, '0')}#${alert.id}#${alert.state}`;
}

/**
 * Alerts on DynamoDB: one item per alert edge keyed (deviceId, time#id#state) — the same edge written
 * twice is the same item — with an index by day for the fleet's recent alerts, kept 90 days.
 */
export class DynamoAlertStore implements AlertStore {
  constructor(
    private readonly props: {
      readonly client: DynamoDBDocumentClient;
      readonly tableName: string;
      readonly ttlDays?: number;
    },
  ) {}

  async put(alerts: readonly TelemetryAlert[]): Promise<void> {
    const ttl = (this.props.ttlDays ?? 90) * 86_400;
    await batchPut(
      this.props.client,
      this.props.tableName,
      alerts.map((alert) => ({
        ...alert,
        alertKey: alertKey(alert),
        day: day(alert.at),
        expiresAt: Math.floor(alert.at / 1000) + ttl,
      })),
    );
  }

  /**
   * Per device: one Query, newest first. Fleet-wide: the day index, today first and back
   * {@link RECENT_DAYS} days; the token remembers the day and the position in it.
   */
  async recent(query: {
    limit: number;
    deviceId?: string;
    nextToken?: string;
  }): Promise<Page<TelemetryAlert>> {
    const strip = (item: Record<string, unknown>): TelemetryAlert => {
      const { alertKey: _k, day: _d, expiresAt: _e, ...alert } = item;
      return alert as unknown as TelemetryAlert;
    };
    if (query.deviceId !== undefined) {
      const start =
        query.nextToken === undefined
          ? undefined
          : decodePageToken(query.nextToken, ['deviceId', 'alertKey']);
      const result = await this.props.client.send(
        new QueryCommand({
          TableName: this.props.tableName,
          KeyConditionExpression: 'deviceId = :d',
          ExpressionAttributeValues: { ':d': query.deviceId },
          ScanIndexForward: false,
          Limit: query.limit,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      const items = (result.Items ?? []).map(strip);
      return result.LastEvaluatedKey === undefined
        ? { items }
        : { items, nextToken: encodePageToken(result.LastEvaluatedKey) };
    }
    const oldest = day(Date.now() - RECENT_DAYS * DAY_MS);
    let cursor = query.nextToken === undefined ? { day: day(Date.now()) } : decodeDayCursor(query.nextToken);
    const items: TelemetryAlert[] = [];
    while (items.length < query.limit && cursor.day >= oldest) {
      const result = await this.props.client.send(
        new QueryCommand({
          TableName: this.props.tableName,
          IndexName: RECENT_INDEX,
          KeyConditionExpression: '#day = :day',
          ExpressionAttributeNames: { '#day': 'day' },
          ExpressionAttributeValues: { ':day': cursor.day },
          ScanIndexForward: false,
          Limit: query.limit - items.length,
          ...(cursor.key === undefined ? {} : { ExclusiveStartKey: cursor.key }),
        }),
      );
      items.push(...(result.Items ?? []).map(strip));
      cursor =
        result.LastEvaluatedKey === undefined
          ? { day: day(Date.parse(`${cursor.day}T00:00:00Z`) - DAY_MS) }
          : { day: cursor.day, key: result.LastEvaluatedKey as Record<string, string> };
    }
    return cursor.day >= oldest ? { items, nextToken: encodeDayCursor(cursor) } : { items };
  }

  /**
   * The alert episodes of a device that count for `[sinceMs, now]`: those raised since, and those raised
   * within `lookbackMs` before it that were still active at `sinceMs` (not cleared before it). An
   * update whose new firmware misbehaves from its first reading raises its alert during the trial boot,
   * before the execution succeeds; counting only later raises would miss it for as long as it lasts.
   * One edge (the raising one) per episode.
   */
  async episodesSince(
    deviceId: string,
    sinceMs: number,
    lookbackMs: number,
  ): Promise<readonly Pick<TelemetryAlert, 'type' | 'ruleId' | 'metric' | 'at' | 'value'>[]> {
    const edges: Pick<TelemetryAlert, 'id' | 'state' | 'type' | 'ruleId' | 'metric' | 'at' | 'value'>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const result = await this.props.client.send(
        new QueryCommand({
          TableName: this.props.tableName,
          KeyConditionExpression: 'deviceId = :d AND alertKey >= :from',
          ProjectionExpression: '#id, #state, #type, ruleId, metric, #at, #value',
          ExpressionAttributeNames: {
            '#id': 'id',
            '#state': 'state',
            '#type': 'type',
            '#at': 'at',
            '#value': 'value',
          },
          ExpressionAttributeValues: {
            ':d': deviceId,
            ':from': String(Math.max(0, Math.floor(sinceMs - lookbackMs))).padStart(15, '0'),
          },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      edges.push(...((result.Items ?? []) as typeof edges));
      start = result.LastEvaluatedKey;
    } while (start !== undefined);
    return countedEpisodes(edges, sinceMs);
  }
}

/**
 * From a device's alert edges (oldest first), the raising edge of each episode raised at or after
 * `sinceMs`, or raised before it and not cleared before it.
 */
export function countedEpisodes<E extends Pick<TelemetryAlert, 'id' | 'state' | 'at'>>(
  edges: readonly E[],
  sinceMs: number,
): Omit<E, 'id' | 'state'>[] {
  const clearedBefore = new Set(
    edges.filter((e) => e.state === 'cleared' && e.at < sinceMs).map((e) => e.id),
  );
  return edges
    .filter((e) => e.state === 'raised' && (e.at >= sinceMs || !clearedBefore.has(e.id)))
    .map(({ id: _id, state: _state, ...edge }) => edge);
}
