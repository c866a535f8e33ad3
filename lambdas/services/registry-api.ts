import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import { completeFirmwareRequest, firmwareVersion, listFirmwareQuery } from '../../lib/protocol/firmware.ts';
import { parseWith } from '../../lib/protocol/parse.ts';
import { DeltaRefusedError } from '../domain/firmware/delta.ts';
import {
  FirmwareExistsError,
  FirmwareInUseError,
  FirmwareStateError,
  ModelContractError,
  SelfApprovalError,
  UnknownPrincipalError,
  UploadIncompleteError,
  UploadMismatchError,
} from '../domain/firmware/errors.ts';
import { RetireCurrentKeyError, RootRotationError } from '../domain/firmware/key-set.ts';
import { toFirmwareView } from '../domain/firmware/metadata.ts';
import { errorResponse, httpErrorResponse, json, requestBody } from '../shared/http.ts';
import type { Logger } from '../shared/logger.ts';
import type { FirmwareService } from './firmware-service.ts';

/**
 * The HTTP routes the firmware registry (`/firmware`) and the model registry (`/models`) share: one
 * service, two catalogs, the same verbs. The handlers route their own extras (the key set) first.
 */

const versionPath = z.object({ version: firmwareVersion });

/**
 * Who called: the IAM principal API Gateway's IAM authorizer puts in the event (`requestContext.authorizer.iam`,
 * payload format 2.0; the local gateway fills it from the SigV4 access key).
 */
export function principalOf(event: APIGatewayProxyEventV2): string | undefined {
  const context = event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } };
  const arn = context.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn !== '' ? arn : undefined;
}

/** The registries' own errors, then the house mapping (validation 400, not found 404, anything else 500). */
export function registryErrorResponse(error: unknown, log: Logger): APIGatewayProxyStructuredResultV2 {
  if (error instanceof UploadMismatchError) {
    return json(400, {
      code: 'UploadMismatch',
      message: error.message,
      declared: error.declared,
      received: error.received,
    });
  }
  if (error instanceof DeltaRefusedError)
    return json(400, { code: 'DeltaRefused', message: error.message, reason: error.reason });
  if (error instanceof ModelContractError)
    return json(400, { code: 'ModelContract', message: error.message, problems: error.problems });
  if (error instanceof FirmwareExistsError)
    return errorResponse(409, { code: 'FirmwareExists', message: error.message });
  if (error instanceof FirmwareInUseError)
    return errorResponse(409, { code: 'FirmwareInUse', message: error.message });
  if (error instanceof FirmwareStateError)
    return errorResponse(409, { code: 'InvalidState', message: error.message });
  if (error instanceof UploadIncompleteError)
    return errorResponse(409, { code: 'UploadIncomplete', message: error.message });
  if (error instanceof SelfApprovalError)
    return errorResponse(403, { code: 'SelfApproval', message: error.message });
  if (error instanceof UnknownPrincipalError)
    return errorResponse(403, { code: 'UnknownPrincipal', message: error.message });
  if (error instanceof RootRotationError)
    return errorResponse(409, { code: 'RootRotation', message: error.message });
  if (error instanceof RetireCurrentKeyError)
    return errorResponse(400, { code: 'RetireCurrentKey', message: error.message });
  return httpErrorResponse(error, log);
}

/** How one registry is served: its path (`firmware`, `models`) and its registration schema. */
export interface RegistryApi {
  readonly resource: 'firmware' | 'models';
  /** The list's key in `GET /{resource}`'s answer. */
  readonly listKey: 'firmware' | 'models';
  readonly register: z.ZodType<Parameters<FirmwareService['register']>[0]>;
  readonly subject: string;
}

/**
 * Answers one of the registry routes (`POST /{r}`, `GET /{r}`, `GET /{r}/{version}`, `.../complete`,
 * `.../approve`, `.../download`, `DELETE /{r}/{version}`), or undefined for a route it does not know.
 */
export async function registryRoute(
  registry: FirmwareService,
  api: RegistryApi,
  event: APIGatewayProxyEventV2,
): Promise<APIGatewayProxyStructuredResultV2 | undefined> {
  const r = api.resource;
  switch (event.routeKey) {
    case `POST /${r}`: {
      const request = parseWith(api.register, requestBody(event, api.subject), api.subject);
      const result = await registry.register(request, principalOf(event));
      return json(result.created ? 201 : 200, {
        [api.listKey === 'models' ? 'model' : 'firmware']: toFirmwareView(result.firmware),
        upload: result.upload,
      });
    }
    case `GET /${r}`: {
      const query = parseWith(listFirmwareQuery, event.queryStringParameters ?? {}, `GET /${r} query`);
      const page = await registry.list(query);
      return json(200, { [api.listKey]: page.items.map(toFirmwareView), nextToken: page.nextToken });
    }
  }
  const version = () => parseWith(versionPath, event.pathParameters ?? {}, `${r} path`).version;
  switch (event.routeKey) {
    case `GET /${r}/{version}`:
      return json(200, toFirmwareView(await registry.get(version())));
    case `POST /${r}/{version}/complete`: {
      const request = parseWith(
        completeFirmwareRequest,
        requestBody(event, 'complete request'),
        'complete request',
      );
      return json(200, toFirmwareView(await registry.complete(version(), request, principalOf(event))));
    }
    case `POST /${r}/{version}/approve`:
      return json(200, toFirmwareView(await registry.approve(version(), principalOf(event))));
    case `GET /${r}/{version}/download`:
      return json(200, await registry.downloadUrl(version()));
    case `DELETE /${r}/{version}`:
      return json(200, toFirmwareView(await registry.withdraw(version())));
    default:
      return undefined;
  }
}
