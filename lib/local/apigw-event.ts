import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { RouteKey } from '../topology/model.ts';

/** What the gateway knows about one HTTP request. */
export interface GatewayRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly sourceIp: string;
  readonly routeKey: RouteKey;
  readonly pathParameters: Record<string, string>;
  readonly now: number;
  /** Who signed the request (SigV4), as API Gateway's IAM authorizer describes the caller. */
  readonly caller?: { readonly accessKey: string; readonly name: string };
}

/**
 * `requestContext.authorizer.iam` as API Gateway fills it for an IAM-authorized route (payload format
 * 2.0): the local operator profile `name` is an IAM user of that name in the local account.
 */
function iamAuthorizer(caller: { readonly accessKey: string; readonly name: string }) {
  return {
    iam: {
      accessKey: caller.accessKey,
      accountId: '000000000000',
      callerId: `FKLU${caller.name.toUpperCase().replace(/[^A-Z0-9]/g, '')}`,
      cognitoIdentity: null,
      principalOrgId: null,
      userArn: `arn:aws:iam::000000000000:user/${caller.name}`,
      userId: `FKLU${caller.name.toUpperCase().replace(/[^A-Z0-9]/g, '')}`,
    },
  };
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|x-www-form-urlencoded|[a-z.+-]*\+json))/i;

function clfTime(epoch: number): string {
  // API Gateway's requestContext.time: 26/Nov/2026:22:33:28 +0000
  const d = new Date(epoch);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${month}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/**
 * Builds the API Gateway HTTP API payload format 2.0 event for a request
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
 * lower-cased headers and repeated query parameters joined with commas, cookies split out, text bodies
 * as strings and other bodies base64-encoded.
 */
export function toApiGatewayEvent(request: GatewayRequest): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [rawName, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (name === 'cookie') {
      cookies = (Array.isArray(value) ? value.join('; ') : value).split(/;\s*/).filter(Boolean);
      continue;
    }
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of request.url.searchParams)
    query[name] = name in query ? `${query[name]},${value}` : value;
  const isText = TEXT_TYPES.test(headers['content-type'] ?? 'application/json');
  const hasBody = request.body.length > 0;
  return {
    version: '2.0',
    routeKey: request.routeKey,
    rawPath: request.url.pathname,
    rawQueryString: request.url.search.slice(1),
    ...(cookies === undefined ? {} : { cookies }),
    headers,
    ...(Object.keys(query).length === 0 ? {} : { queryStringParameters: query }),
    ...(Object.keys(request.pathParameters).length === 0 ? {} : { pathParameters: request.pathParameters }),
    requestContext: {
      ...(request.caller === undefined ? {} : { authorizer: iamAuthorizer(request.caller) }),
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method: request.method,
        path: request.url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: request.routeKey,
      stage: '$default',
      time: clfTime(request.now),
      timeEpoch: request.now,
    },
    ...(hasBody ? { body: isText ? request.body.toString('utf8') : request.body.toString('base64') } : {}),
    isBase64Encoded: hasBody && !isText,
  };
}

/** An HTTP response ready to write. */
export interface GatewayResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

/**
 * Maps a handler's result to the HTTP response API Gateway would send: a structured result as given;
 * anything else (payload format 2.0's inferred response) as 200 JSON.
 */
export function fromHandlerResult(result: unknown): GatewayResponse {
  const structured =
    result !== null && typeof result === 'object' && 'statusCode' in result
      ? (result as APIGatewayProxyStructuredResultV2)
      : undefined;
  if (structured === undefined) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
  const raw = structured.body ?? '';
  const body = structured.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  return { statusCode: structured.statusCode ?? 200, headers, body };
}
