import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { SHADOW_NAME_PATTERN, THING_NAME_PATTERN } from '../../../lib/protocol/topics.ts';
import type { ShadowResult } from '../../services/shadow-service.ts';
import { shadowServiceFrom } from '../../services/shadow-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { httpErrorResponse, json, unknownRoute } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'api-shadows';

const thingName = z.string().regex(THING_NAME_PATTERN, 'must be 1-128 characters of [a-zA-Z0-9:_-]');
const shadowName = z.string().regex(SHADOW_NAME_PATTERN, 'must be 1-64 characters of [a-zA-Z0-9:_-]');
const shadowPath = z.object({ thingName });
const shadowQuery = z.object({ name: shadowName.optional() });
const historyQuery = z.object({
  name: shadowName.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
const listNamedQuery = z.object({
  pageSize: z.coerce.number().int().min(1).max(100).default(25),
  nextToken: z.string().min(1).max(2048).optional(),
});
const pendingQuery = z.object({
  pending: z.literal('true', 'only pending=true is supported: list the shadows whose delta is not empty'),
  name: shadowName.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  nextToken: z.string().min(1).max(2048).optional(),
});

/** AWS IoT data plane's exception names, sent as `x-amzn-ErrorType` so AWS SDK clients map them. */
const EXCEPTION_BY_CODE: Record<number, string> = {
  400: 'InvalidRequestException',
  401: 'UnauthorizedException',
  403: 'ForbiddenException',
  404: 'ResourceNotFoundException',
  409: 'ConflictException',
  413: 'RequestEntityTooLargeException',
  415: 'UnsupportedDocumentEncodingException',
  429: 'ThrottlingException',
  500: 'InternalFailureException',
};

function shadowResponse(result: ShadowResult): APIGatewayProxyStructuredResultV2 {
  if (result.ok) return json(200, result.body);
  const response = json(result.code, result.body);
  return {
    ...response,
    headers: {
      ...response.headers,
      'x-amzn-errortype': EXCEPTION_BY_CODE[result.code] ?? 'InternalFailureException',
    },
  };
}

function bodyOf(event: APIGatewayProxyEventV2): Buffer {
  if (event.body === undefined) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

/**
 * Builds the shadow HTTP API: AWS IoT's data plane shadow REST API (`GET|POST|DELETE
 * /things/{thingName}/shadow?name=`) with the same bodies and error documents, plus what AWS does not
 * have: `GET /shadows?pending=true` (shadows whose desired state is not reached) and per-shadow history.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')));
  const iotData = new IoTDataPlaneClient(aws(env, 'IOT_DATA_PLANE'));
  const { service, store } = shadowServiceFrom({ dynamo, iotData, env, log, now: runtime.now });
  const http = { via: 'http' as const };

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      const query = event.queryStringParameters ?? {};
      if (event.routeKey === 'GET /shadows') {
        const q = parseWith(pendingQuery, query, 'GET /shadows query');
        const page = await store.listPending(q.name, q.limit, q.nextToken);
        return json(200, { shadows: page.items, nextToken: page.nextToken });
      }
      const { thingName: thing } = parseWith(shadowPath, event.pathParameters ?? {}, 'thing name');
      if (event.routeKey === 'GET /api/things/shadow/ListNamedShadowsForThing/{thingName}') {
        // AWS's ListNamedShadowsForThing: names only, classic shadow never listed, epoch-seconds timestamp.
        const q = parseWith(listNamedQuery, query, 'ListNamedShadowsForThing query');
        const page = await store.listNamedShadows(thing, q.pageSize, q.nextToken);
        return json(200, {
          results: page.items,
          nextToken: page.nextToken,
          timestamp: Math.floor(runtime.now() / 1000),
        });
      }
      if (event.routeKey === 'GET /things/{thingName}/shadow/history') {
        const q = parseWith(historyQuery, query, 'shadow history query');
        const versions = await service.history(
          { thingName: thing, ...(q.name ? { shadowName: q.name } : {}) },
          q.limit,
        );
        return json(200, { versions });
      }
      const { name } = parseWith(shadowQuery, query, 'shadow query');
      const id = { thingName: thing, ...(name === undefined ? {} : { shadowName: name }) };
      switch (event.routeKey) {
        case 'GET /things/{thingName}/shadow':
          return shadowResponse(await service.get(id, '', http));
        case 'POST /things/{thingName}/shadow':
          return shadowResponse(await service.update(id, bodyOf(event), http));
        case 'DELETE /things/{thingName}/shadow':
          return shadowResponse(await service.delete(id, '', http));
        default:
          return unknownRoute(event.routeKey, SERVICE);
      }
    } catch (error) {
      return httpErrorResponse(error, log);
    }
  };
}
