import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { deviceId } from '../../../lib/protocol/messages.ts';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
import {
  listExecutionsQuery,
  listRolloutsQuery,
  parseRolloutRequest,
  rolloutCommandRequest,
  rolloutPath,
} from '../../../lib/protocol/rollouts.ts';
import { RolloutRefusedError } from '../../domain/rollout/errors.ts';
import { ROLLOUT_COMMANDS, type RolloutCommand } from '../../services/rollout-service.ts';
import { rolloutServiceFrom } from '../../services/rollouts-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { errorResponse, httpErrorResponse, json, unknownRoute } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'api-rollouts';
const devicePath = z.object({ id: deviceId });

function body(event: APIGatewayProxyEventV2, subject: string): unknown {
  if (event.body === undefined || event.body === '') return {};
  return decodeJson(event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body, subject);
}

/**
 * Builds the rollouts HTTP API: accept a rollout (`POST /rollouts`, 202: planned asynchronously) or
 * preview its plan (`POST /rollouts/preview`, synchronous, small fleets only), list and describe them
 * (status from counters, never a scan of executions; planning progress), pause / resume / cancel / roll
 * back, and a device's job executions (`GET /devices/{id}/jobs`).
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const rollouts = rolloutServiceFrom({ dynamo, env, log, now: runtime.now });

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      switch (event.routeKey) {
        case 'POST /rollouts':
          // Accepted: planning goes on asynchronously (GET /rollouts/{id} shows how far it got).
          return json(202, await rollouts.create(parseRolloutRequest(body(event, 'rollout request'))));
        case 'POST /rollouts/preview':
          // Planned here and stored nowhere: it reads the registry whole, so it is capped.
          return json(200, await rollouts.preview(parseRolloutRequest(body(event, 'rollout request'))));
        case 'GET /devices/{id}/jobs': {
          const { id } = parseWith(devicePath, event.pathParameters ?? {}, 'device id');
          return json(200, { executions: await rollouts.jobsOf(id) });
        }
        case 'GET /rollouts': {
          const query = parseWith(
            listRolloutsQuery,
            event.queryStringParameters ?? {},
            'GET /rollouts query',
          );
          const page = await rollouts.list(query.limit, query.nextToken);
          return json(200, { rollouts: page.items, nextToken: page.nextToken });
        }
      }
      const { rolloutId } = parseWith(rolloutPath, event.pathParameters ?? {}, 'rollout path');
      if (event.routeKey === 'GET /rollouts/{rolloutId}') return json(200, await rollouts.get(rolloutId));
      if (event.routeKey === 'GET /rollouts/{rolloutId}/executions') {
        const query = parseWith(
          listExecutionsQuery,
          event.queryStringParameters ?? {},
          'GET /rollouts/{rolloutId}/executions query',
        );
        const page = await rollouts.executions(rolloutId, query);
        return json(200, { executions: page.items, nextToken: page.nextToken });
      }
      const command = event.routeKey.match(/^POST \/rollouts\/\{rolloutId\}\/(\w+)$/)?.[1];
      if (command === undefined || !(ROLLOUT_COMMANDS as readonly string[]).includes(command))
        return unknownRoute(event.routeKey, SERVICE);
      const request = parseWith(
        rolloutCommandRequest,
        body(event, `${command} request`),
        `${command} request`,
      );
      return json(200, await rollouts.command(rolloutId, command as RolloutCommand, request.reason));
    } catch (error) {
      if (error instanceof RolloutRefusedError)
        return errorResponse(error.status, {
          code: error.code,
          message: error.message,
          ...(error.details === undefined ? {} : { details: error.details }),
        });
      return httpErrorResponse(error, log);
    }
  };
}
