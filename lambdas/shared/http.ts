import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { PayloadDecodeError, SchemaValidationError } from '../../lib/protocol/errors.ts';
import { decodeJson } from '../../lib/protocol/parse.ts';
import { InvalidTokenError, NotFoundError } from '../domain/errors.ts';
import { describeError, type Logger } from './logger.ts';

/** The JSON body of every error the HTTP API returns. */
export interface ErrorBody {
  readonly code: string;
  readonly message: string;
  readonly issues?: readonly { field: string; reason: string }[];
  /** What the caller needs to fix the request (counts, the state something is in). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * The JSON body of an API Gateway v2 event (`{}` when there is none), decoded from base64 when the
 * gateway encoded it.
 *
 * @throws PayloadDecodeError when it is not UTF-8 JSON
 */
export function requestBody(event: APIGatewayProxyEventV2, subject: string): unknown {
  if (event.body === undefined || event.body === '') return {};
  return decodeJson(event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body, subject);
}

/** A JSON response. */
export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

/** An error response with the house error body. */
export function errorResponse(statusCode: number, body: ErrorBody): APIGatewayProxyStructuredResultV2 {
  return json(statusCode, body);
}

/** The answer to a route key the handler does not serve (a topology and handler out of step). */
export function unknownRoute(routeKey: string, service: string): APIGatewayProxyStructuredResultV2 {
  return errorResponse(404, { code: 'NotFound', message: `no route ${routeKey} in ${service}` });
}

/**
 * Maps a typed error to its HTTP response — the one place where error types meet status codes.
 * Anything unexpected is logged and becomes a 500 that reveals nothing internal.
 */
export function httpErrorResponse(error: unknown, log: Logger): APIGatewayProxyStructuredResultV2 {
  if (error instanceof SchemaValidationError) {
    return errorResponse(400, { code: 'ValidationError', message: error.message, issues: error.issues });
  }
  if (error instanceof PayloadDecodeError)
    return errorResponse(400, { code: 'BadRequest', message: error.message });
  if (error instanceof InvalidTokenError)
    return errorResponse(400, { code: 'InvalidToken', message: error.message });
  if (error instanceof NotFoundError) return errorResponse(404, { code: 'NotFound', message: error.message });
  log.error('unhandled error', describeError(error));
  return errorResponse(500, {
    code: 'InternalError',
    message: 'internal error; the request id is in the function log',
  });
}
