import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { updateDeviceRequest } from '../../../lib/protocol/devices.ts';
import { deviceId, deviceType } from '../../../lib/protocol/messages.ts';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
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

function body(event: APIGatewayProxyEventV2): unknown {
  if (event.body === undefined || event.body === '') return {};
  return decodeJson(event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body, 'device update');
}

/**
 * Builds the devices API handler: `GET /devices`, `GET /devices/{id}`, and `PATCH /devices/{id}` for the
 * groups and attributes rollouts target by.
 */
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
        case 'PATCH /devices/{id}': {
          const { id } = parseWith(pathParams, event.pathParameters ?? {}, 'device id');
          const request = parseWith(updateDeviceRequest, body(event), 'device update');
          const device = await registry.updateProvisioning(id, request);
          if (device === undefined)
            throw new NotFoundError(
              `no device '${id}' in the registry: a device is registered by its first status message`,
            );
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
