import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { deviceId } from '../../../lib/protocol/messages.ts';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
import { DEFAULT_RULES, telemetryRule } from '../../../lib/protocol/telemetry-rules.ts';
import { DynamoAggregateStore } from '../../adapters/dynamo-aggregate-store.ts';
import { DynamoAlertStore } from '../../adapters/dynamo-alert-store.ts';
import { DynamoFleetHealthStore } from '../../adapters/dynamo-fleet-health-store.ts';
import { DynamoRuleStore } from '../../adapters/dynamo-rule-store.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { fleetHealthView } from '../../domain/fleet/health.ts';
import { aws } from '../../shared/aws-config.ts';
import { httpErrorResponse, json, unknownRoute } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime, requireEnv } from '../../shared/runtime.ts';

const SERVICE = 'api-fleet';

const alertsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  deviceId: deviceId.optional(),
  nextToken: z.string().min(1).max(2048).optional(),
});
const aggregatesQuery = z.object({
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1440).default(60),
});
const ruleId = z.object({
  ruleId: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1-64 characters of [a-zA-Z0-9_-]'),
});

/**
 * Builds the fleet API: `GET /fleet/health` (a few counter items, whatever the fleet's size),
 * `GET /alerts`, `GET /devices/{id}/aggregates`, and the telemetry rules (`GET /telemetry/rules`,
 * `PUT|DELETE /telemetry/rules/{ruleId}`), which the processor picks up within a minute.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const table = (name: string) => ({ client: dynamo, tableName: requireEnv(env, name) });
  const health = new DynamoFleetHealthStore(table('FLEET_HEALTH_TABLE_NAME'));
  const alerts = new DynamoAlertStore(table('ALERTS_TABLE_NAME'));
  const aggregates = new DynamoAggregateStore(table('TELEMETRY_AGGREGATES_TABLE_NAME'));
  const rules = new DynamoRuleStore(table('TELEMETRY_RULES_TABLE_NAME'));

  /**
   * The table holds the whole rule set, and an empty table means the defaults. The first change writes
   * the defaults first, so changing one rule keeps the others instead of silently dropping them.
   */
  const seedDefaults = async () => {
    if ((await rules.list()).length > 0) return;
    for (const rule of DEFAULT_RULES) await rules.put(rule);
  };

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      const query = event.queryStringParameters ?? {};
      switch (event.routeKey) {
        case 'GET /fleet/health': {
          const items = await health.readAll();
          const view = fleetHealthView(
            items.flatMap(({ dimension, counters }) =>
              Object.entries(counters).map(([counter, value]) => ({ dimension, counter, value })),
            ),
          );
          return json(200, { ...view, at: new Date(runtime.now()).toISOString() });
        }
        case 'GET /alerts': {
          const q = parseWith(alertsQuery, query, 'GET /alerts query');
          const page = await alerts.recent({
            limit: q.limit,
            ...(q.deviceId === undefined ? {} : { deviceId: q.deviceId }),
            ...(q.nextToken === undefined ? {} : { nextToken: q.nextToken }),
          });
          return json(200, { alerts: page.items, nextToken: page.nextToken });
        }
        case 'GET /devices/{id}/aggregates': {
          const { id } = parseWith(z.object({ id: deviceId }), event.pathParameters ?? {}, 'device id');
          const q = parseWith(aggregatesQuery, query, 'aggregates query');
          const to = q.to ?? runtime.now();
          const windows = await aggregates.forDevice(id, q.from ?? to - 3_600_000, to, q.limit);
          return json(200, { windows });
        }
        case 'GET /telemetry/rules': {
          const stored = await rules.list();
          return json(200, {
            rules: stored.length > 0 ? stored : DEFAULT_RULES,
            defaults: stored.length === 0,
          });
        }
        case 'PUT /telemetry/rules/{ruleId}': {
          const { ruleId: id } = parseWith(ruleId, event.pathParameters ?? {}, 'rule id');
          const body = decodeJson(event.body ?? '', 'telemetry rule');
          const rule = parseWith(telemetryRule, { ...(body as object), id }, 'telemetry rule');
          await seedDefaults();
          await rules.put(rule);
          return json(200, rule);
        }
        case 'DELETE /telemetry/rules/{ruleId}': {
          const { ruleId: id } = parseWith(ruleId, event.pathParameters ?? {}, 'rule id');
          await seedDefaults();
          if (!(await rules.delete(id)))
            throw new NotFoundError(`no telemetry rule '${id}'; list them with GET /telemetry/rules`);
          return { statusCode: 204 };
        }
        default:
          return unknownRoute(event.routeKey, SERVICE);
      }
    } catch (error) {
      return httpErrorResponse(error, log);
    }
  };
}
