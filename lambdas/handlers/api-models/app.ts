import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { registerModelRequest } from '../../../lib/protocol/model.ts';
import { firmwareServiceFrom } from '../../services/firmware-setup.ts';
import { type RegistryApi, registryErrorResponse, registryRoute } from '../../services/registry-api.ts';
import { registryClientsFrom } from '../../services/registry-clients.ts';
import { unknownRoute } from '../../shared/http.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'api-models';

const MODELS_API: RegistryApi = {
  resource: 'models',
  listKey: 'models',
  register: registerModelRequest,
  subject: 'model registration',
};

/**
 * Builds the edge model registry's HTTP API (issue 12, step 4): the firmware registry's verbs on the
 * model catalog — register a model and get its upload URL, complete (verify size and SHA-256, check the
 * ONNX file against the feature contract of the device types it is for, sign its manifest with the model
 * key), list, describe, download, withdraw.
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const { dynamo, s3, kms, usage } = registryClientsFrom(env);
  const models = firmwareServiceFrom({ s3, kms, dynamo, env, log, now: runtime.now, usage }, 'model');

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      return (await registryRoute(models, MODELS_API, event)) ?? unknownRoute(event.routeKey, SERVICE);
    } catch (error) {
      return registryErrorResponse(error, log);
    }
  };
}
