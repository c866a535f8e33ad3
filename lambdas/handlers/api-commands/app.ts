import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  commandBatchPath,
  deviceCommandPath,
  deviceCommandsPath,
  fleetCommandBody,
  listCommandsQuery,
  sendCommandBody,
  sendCommandQuery,
} from '../../../lib/protocol/command-api.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { CommandRefusedError } from '../../domain/commands/errors.ts';
import { commandApiFrom } from '../../services/command-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { errorResponse, httpErrorResponse, json, requestBody, unknownRoute } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'api-commands';

/**
 * Builds the commands HTTP API: send a command to a device (202 with the execution; 200 with the
 * outcome when `?wait=N` sees it in time), list and describe a device's executions, send one command to
 * a selection of devices (`POST /commands`) and follow it from counters (`GET /commands/{batchId}`).
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const iotData = new IoTDataPlaneClient(aws(env, 'IOT_DATA_PLANE'));
  const { commands, fleet } = commandApiFrom({ dynamo, iotData, env, log, now: runtime.now, sleep });
  const query = (event: APIGatewayProxyEventV2) => event.queryStringParameters ?? {};
  const path = (event: APIGatewayProxyEventV2) => event.pathParameters ?? {};

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      switch (event.routeKey) {
        case 'POST /devices/{id}/commands': {
          const { id } = parseWith(deviceCommandsPath, path(event), 'command path');
          const { wait } = parseWith(sendCommandQuery, query(event), 'POST /devices/{id}/commands query');
          const body = parseWith(sendCommandBody, requestBody(event, 'command request'), 'command request');
          const sent = await commands.send(id, body, wait);
          return json(sent.ended ? 200 : 202, sent.execution);
        }
        case 'GET /devices/{id}/commands': {
          const { id } = parseWith(deviceCommandsPath, path(event), 'command path');
          const page = await commands.list(
            id,
            parseWith(listCommandsQuery, query(event), 'GET commands query'),
          );
          return json(200, { executions: page.items, nextToken: page.nextToken });
        }
        case 'GET /devices/{id}/commands/{executionId}': {
          const { id, executionId } = parseWith(deviceCommandPath, path(event), 'command path');
          return json(200, await commands.get(id, executionId));
        }
        case 'POST /commands': {
          const body = parseWith(
            fleetCommandBody,
            requestBody(event, 'fleet command request'),
            'fleet command request',
          );
          return json(202, await fleet.create(body));
        }
        case 'GET /commands/{batchId}': {
          const { batchId } = parseWith(commandBatchPath, path(event), 'fleet command path');
          return json(200, await fleet.status(batchId));
        }
        default:
          return unknownRoute(event.routeKey, SERVICE);
      }
    } catch (error) {
      if (error instanceof CommandRefusedError)
        return errorResponse(error.status, {
          code: error.code,
          message: error.message,
          ...(error.details === undefined ? {} : { details: error.details }),
        });
      return httpErrorResponse(error, log);
    }
  };
}
