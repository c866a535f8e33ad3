import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import * as z from 'zod';
import {
  completeFirmwareRequest,
  firmwareVersion,
  keyRolloverRequest,
  listFirmwareQuery,
  registerFirmwareRequest,
} from '../../../lib/protocol/firmware.ts';
import { decodeJson, parseWith } from '../../../lib/protocol/parse.ts';
import {
  FirmwareExistsError,
  FirmwareInUseError,
  FirmwareStateError,
  SelfApprovalError,
  UnknownPrincipalError,
  UploadIncompleteError,
  UploadMismatchError,
} from '../../domain/firmware/errors.ts';
import { RetireCurrentKeyError, RootRotationError } from '../../domain/firmware/key-set.ts';
import { toFirmwareView } from '../../domain/firmware/metadata.ts';
import { firmwareS3Config, firmwareServiceFrom, keySetServiceFrom } from '../../services/firmware-setup.ts';
import { rolloutStoreFrom } from '../../services/rollouts-setup.ts';
import { aws } from '../../shared/aws-config.ts';
import { errorResponse, httpErrorResponse, json, unknownRoute } from '../../shared/http.ts';
import type { Logger } from '../../shared/logger.ts';
import { createLogger } from '../../shared/logger.ts';
import { type HandlerEnv, type HandlerRuntime, processRuntime } from '../../shared/runtime.ts';

const SERVICE = 'api-firmware';

const versionPath = z.object({ version: firmwareVersion });

function body(event: APIGatewayProxyEventV2, subject: string): unknown {
  if (event.body === undefined || event.body === '') return {};
  return decodeJson(event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body, subject);
}

/**
 * Who called: the IAM principal API Gateway's IAM authorizer puts in the event (`requestContext.authorizer.iam`,
 * payload format 2.0; the local gateway fills it from the SigV4 access key).
 */
function principalOf(event: APIGatewayProxyEventV2): string | undefined {
  const context = event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } };
  const arn = context.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn !== '' ? arn : undefined;
}

/** The registry's own errors, then the house mapping (validation 400, not found 404, anything else 500). */
function firmwareErrorResponse(error: unknown, log: Logger): APIGatewayProxyStructuredResultV2 {
  if (error instanceof UploadMismatchError) {
    return json(400, {
      code: 'UploadMismatch',
      message: error.message,
      declared: error.declared,
      received: error.received,
    });
  }
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

/**
 * Builds the firmware registry's HTTP API: register an image and get its upload plan, complete (verify,
 * sign, make available), list, describe, download (operators), withdraw, and the public keys devices
 * verify signatures with (`GET /firmware/keys`).
 */
export function build(env: HandlerEnv, runtime: HandlerRuntime = processRuntime) {
  const log = createLogger(SERVICE, runtime);
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(aws(env, 'DYNAMODB')), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const s3 = new S3Client(firmwareS3Config(env));
  const kms = new KMSClient(aws(env, 'KMS'));
  // A version an unfinished rollout installs cannot be withdrawn.
  const usage = rolloutStoreFrom(dynamo, env);
  const firmware = firmwareServiceFrom({ s3, kms, dynamo, env, log, now: runtime.now, usage });
  const trust = keySetServiceFrom({ kms, dynamo, env, log, now: runtime.now });

  return async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    try {
      switch (event.routeKey) {
        case 'POST /firmware': {
          const request = parseWith(
            registerFirmwareRequest,
            body(event, 'firmware registration'),
            'firmware registration',
          );
          const result = await firmware.register(request, principalOf(event));
          return json(result.created ? 201 : 200, {
            firmware: toFirmwareView(result.firmware),
            upload: result.upload,
          });
        }
        case 'GET /firmware': {
          const query = parseWith(
            listFirmwareQuery,
            event.queryStringParameters ?? {},
            'GET /firmware query',
          );
          const page = await firmware.list(query);
          return json(200, { firmware: page.items.map(toFirmwareView), nextToken: page.nextToken });
        }
        case 'GET /firmware/keys': {
          const [keys, keySet] = await Promise.all([trust.published(), trust.current()]);
          return json(200, { keys, keySet });
        }
        case 'POST /firmware/keys/rollover': {
          const request = parseWith(keyRolloverRequest, body(event, 'key rollover'), 'key rollover');
          return json(200, await trust.rollover(request.retire));
        }
      }
      const { version } = parseWith(versionPath, event.pathParameters ?? {}, 'firmware path');
      switch (event.routeKey) {
        case 'GET /firmware/{version}':
          return json(200, toFirmwareView(await firmware.get(version)));
        case 'POST /firmware/{version}/complete': {
          const request = parseWith(
            completeFirmwareRequest,
            body(event, 'complete request'),
            'complete request',
          );
          return json(200, toFirmwareView(await firmware.complete(version, request, principalOf(event))));
        }
        case 'POST /firmware/{version}/approve':
          return json(200, toFirmwareView(await firmware.approve(version, principalOf(event))));
        case 'GET /firmware/{version}/download':
          return json(200, await firmware.downloadUrl(version));
        case 'DELETE /firmware/{version}':
          return json(200, toFirmwareView(await firmware.withdraw(version)));
        default:
          return unknownRoute(event.routeKey, SERVICE);
      }
    } catch (error) {
      return firmwareErrorResponse(error, log);
    }
  };
}
