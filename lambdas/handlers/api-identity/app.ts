import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTClient } from '@aws-sdk/client-iot';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { allowSerialsRequest } from '../../../lib/protocol/fleet-provisioning.ts';
import {
  provisionDeviceRequest,
  revokeDeviceRequest,
  rotateDevicesRequest,
} from '../../../lib/protocol/identity.ts';
import { deviceId } from '../../../lib/protocol/messages.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { IotDataPublisher } from '../../adapters/iot-data-publisher.ts';
import { IdentityRefusedError } from '../../domain/identity/errors.ts';
import { claimServiceFrom } from '../../services/claim-setup.ts';
import { IdentityService } from '../../services/identity-service.ts';
import { deviceEndpointFrom, deviceIdentityFrom, identityPortsFrom } from '../../services/identity-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { errorResponse, httpErrorResponse, json, requestBody, unknownRoute } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'api-identity';
const pathParams = z.object({ id: deviceId });

/**
 * Builds the identity API: `POST /devices` (provision one device by its CSR), `POST /devices/rotate`
 * (ask devices to rotate), `POST /devices/{id}/revoke` and `POST /devices/allow` (serial numbers the claim
 * template admits). The design is in `services/identity-service.ts` and `services/claim-service.ts`.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const service = new IdentityService({
    ...identityPortsFrom({ dynamo, iot: new IoTClient(aws(env, 'IOT')), env }),
    devices: deviceIdentityFrom(dynamo, env),
    publisher: new IotDataPublisher({ client: new IoTDataPlaneClient(aws(env, 'IOT_DATA_PLANE')) }),
    endpoint: deviceEndpointFrom(env),
    now: runtime.now,
  });
  const claims = claimServiceFrom(dynamo, env, runtime.now);

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      switch (event.routeKey) {
        case 'POST /devices': {
          const request = parseWith(
            provisionDeviceRequest,
            requestBody(event, 'provisioning request'),
            'provisioning request',
          );
          const provisioned = await service.provision(request);
          log.info('device provisioned', {
            deviceId: request.thingName,
            certificateId: provisioned.certificateId,
          });
          return json(201, provisioned);
        }
        case 'POST /devices/rotate': {
          const request = parseWith(
            rotateDevicesRequest,
            requestBody(event, 'rotation request'),
            'rotation request',
          );
          return json(202, await service.requestRotation(request));
        }
        case 'POST /devices/{id}/revoke': {
          const { id } = parseWith(pathParams, event.pathParameters ?? {}, 'device id');
          const request = parseWith(
            revokeDeviceRequest,
            requestBody(event, 'revocation request'),
            'revocation request',
          );
          const result = await service.revoke(id, request);
          log.info('device revoked', { deviceId: id, revoked: result.revoked });
          return json(200, result);
        }
        case 'POST /devices/allow': {
          const request = parseWith(
            allowSerialsRequest,
            requestBody(event, 'allow request'),
            'allow request',
          );
          const result = await claims.allow(request);
          log.info('serial numbers allowed', {
            deviceType: result.deviceType,
            allowed: result.allowed.length,
            alreadyClaimed: result.alreadyClaimed.length,
          });
          return json(200, result);
        }
        default:
          return unknownRoute(event.routeKey, SERVICE);
      }
    } catch (error) {
      if (error instanceof IdentityRefusedError)
        return errorResponse(error.status, { code: error.code, message: error.message });
      return httpErrorResponse(error, log);
    }
  };
}
