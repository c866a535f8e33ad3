import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { z } from 'zod';
import { deviceId, deviceType } from '../../../lib/protocol/messages.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { DynamoDeviceRegistry } from '../../adapters/dynamo-device-registry.ts';
import { NotFoundError } from '../../domain/errors.ts';
import { aws } from '../../shared/aws-config.ts';
import { httpErrorResponse, json, unknownRoute } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime, requireEnv } from '../../shared/runtime.ts';
import { toDeviceView } from './view.ts';

const SERVICE = 'api-devices';

const listQuery = z.object({
  type: deviceType.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  nextToken: z.string().min(1).max(2048).optional(),
});
const pathParams = z.object({ id: deviceId });

/** Builds the devices API handler: `GET /devices` and `GET /devices/{id}`. */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')));
  const registry = new DynamoDeviceRegistry({
    client: dynamo,
    tableName: requireEnv(env, 'REGISTRY_TABLE_NAME'),
  });

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      switch (event.routeKey) {
        case 'GET /devices': {
          const query = parseWith(listQuery, event.queryStringParameters ?? {}, 'GET /devices query');
          const page = await registry.list({
            limit: query.limit,
            ...(query.type === undefined ? {} : { deviceType: query.type }),
            ...(query.nextToken === undefined ? {} : { nextToken: query.nextToken }),
          });
          return json(200, { devices: page.items.map(toDeviceView), nextToken: page.nextToken });
        }
        case 'GET /devices/{id}': {
          const { id } = parseWith(pathParams, event.pathParameters ?? {}, 'device id');
          const device = await registry.get(id);
          if (device === undefined)
            throw new NotFoundError(`no device '${id}' in the registry; list devices with GET /devices`);
          return json(200, toDeviceView(device));
        }
        default:
          return unknownRoute(event.routeKey, SERVICE);
      }
    } catch (error) {
      return httpErrorResponse(error, log);
    }
  };
}
