import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import {
  firmwareVersion,
  keyRolloverRequest,
  registerFirmwareRequest,
} from '../../../lib/protocol/firmware.ts';
import { registerDeltaRequest } from '../../../lib/protocol/firmware-deltas.ts';
import { parseWith } from '../../../lib/protocol/parse.ts';
import { toFirmwareView } from '../../domain/firmware/metadata.ts';
import {
  firmwareDeltaServiceFrom,
  firmwareServiceFrom,
  keySetServiceFrom,
} from '../../services/firmware-setup.ts';
import { type RegistryApi, registryErrorResponse, registryRoute } from '../../services/registry-api.ts';
import { registryClientsFrom } from '../../services/registry-clients.ts';
import { json, requestBody, unknownRoute } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'api-firmware';

const deltaPath = z.object({ version: firmwareVersion, fromVersion: firmwareVersion.optional() });

const FIRMWARE_API: RegistryApi = {
  resource: 'firmware',
  listKey: 'firmware',
  register: registerFirmwareRequest,
  subject: 'firmware registration',
};

/**
 * Builds the firmware registry's HTTP API: register an image and get its upload plan, complete (verify,
 * sign, make available), list, describe, download (operators), withdraw, and the public keys devices
 * verify signatures with (`GET /firmware/keys`).
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const { dynamo, s3, kms, usage } = registryClientsFrom(env);
  const firmware = firmwareServiceFrom({ s3, kms, dynamo, env, log, now: runtime.now, usage });
  const trust = keySetServiceFrom({ kms, dynamo, env, log, now: runtime.now });
  const deltas = firmwareDeltaServiceFrom({ s3, dynamo, env, log, now: runtime.now });
  const path = (event: APIGatewayProxyEventV2) =>
    parseWith(deltaPath, event.pathParameters ?? {}, 'delta path');

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      switch (event.routeKey) {
        case 'GET /firmware/keys': {
          const [keys, keySet] = await Promise.all([trust.published(), trust.current()]);
          return json(200, { keys, keySet });
        }
        case 'POST /firmware/keys/rollover': {
          const request = parseWith(keyRolloverRequest, requestBody(event, 'key rollover'), 'key rollover');
          return json(200, await trust.rollover(request.retire));
        }
        case 'POST /firmware/{version}/deltas': {
          const request = parseWith(registerDeltaRequest, requestBody(event, 'delta'), 'delta registration');
          return json(200, { upload: await deltas.plan(path(event).version, request) });
        }
        case 'POST /firmware/{version}/deltas/{fromVersion}/complete': {
          const { version, fromVersion } = path(event);
          await deltas.complete(version, fromVersion ?? '');
          return json(200, toFirmwareView(await firmware.get(version)));
        }
      }
      return (await registryRoute(firmware, FIRMWARE_API, event)) ?? unknownRoute(event.routeKey, SERVICE);
    } catch (error) {
      return registryErrorResponse(error, log);
    }
  };
}
