import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../../lambdas/shared/logger.ts';
import type { RouteKey } from '../topology/model.ts';
import { fromHandlerResult, type GatewayResponse, toApiGatewayEvent } from './apigw-event.ts';
import {
  allowedHostnames,
  type EndpointGuard,
  hostAllowed,
  isJsonContentType,
  readBody,
} from './endpoint-guard.ts';
import type { LocalFunction } from './functions.ts';
import { compileRoutes, matchRoute } from './http-routes.ts';
import type { PlatformLog } from './platform-log.ts';

/** API Gateway HTTP APIs accept payloads up to 10 MB. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** What a platform route gets of its request. */
export interface LocalRequest {
  readonly url: URL;
  readonly body: Buffer;
  /** `{name}` segments of the route key, decoded. */
  readonly pathParameters: Readonly<Record<string, string>>;
}

/**
 * A route the platform itself serves (health, metrics, the simulated fleet), not a topology function;
 * its key may have `{name}` segments like a topology route's.
 */
export type LocalRoute = (request: LocalRequest) => GatewayResponse | Promise<GatewayResponse>;

export interface GatewayOptions {
  readonly functions: ReadonlyMap<string, LocalFunction>;
  readonly log: PlatformLog;
  readonly localRoutes?: Readonly<Record<string, LocalRoute>>;
  /** Checks `Host` and the SigV4 signature (`execute-api`) of every request. */
  readonly guard: EndpointGuard;
  /**
   * Answers the few unsigned paths (the console's files and sign-in), after the `Host` and content-type
   * checks; undefined passes the request on to the signed routes.
   */
  readonly unsigned?: (request: {
    method: string;
    url: URL;
    body: Buffer;
  }) => Promise<GatewayResponse | undefined>;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 3000 */
  readonly port?: number;
}

export interface LocalGateway {
  readonly url: string;
  readonly port: number;
  /** Every route it answers, signed: the topology's and the platform's own (`GET /health`). */
  readonly routes: readonly string[];
  close(): Promise<void>;
}

/** The house JSON error body as a gateway response. */
export function jsonError(statusCode: number, code: string, message: string): GatewayResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ code, message })),
  };
}

function send(res: ServerResponse, response: GatewayResponse): void {
  res.writeHead(response.statusCode, { ...response.headers, 'content-length': String(response.body.length) });
  res.end(response.body);
}

/**
 * The local HTTP API: each request to a topology route becomes an API Gateway v2 event for that
 * route's function, and the function's result becomes the response. Unknown routes get a 404 with
 * a JSON body listing what exists.
 *
 * Every request must be signed with SigV4 by the operator's key, as the deployed API requires IAM
 * authorization (a function's key is refused: its role may not invoke the API), carry a `Host` the
 * gateway answers to (DNS rebinding), and declare a JSON content type when it has a body: a web page
 * can send `text/plain` or a form without a CORS preflight, never `application/json` (CSRF).
 */
export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  const routes = compileRoutes(
    [...options.functions.values()].flatMap((fn) =>
      (fn.spec.routes ?? []).map((routeKey) => ({ routeKey: routeKey as RouteKey, target: fn })),
    ),
  );
  const known = routes.map((r) => r.routeKey).join(', ');
  const hostnames = allowedHostnames(options.host ?? '127.0.0.1');
  const localRoutes = compileRoutes(
    Object.entries(options.localRoutes ?? {}).map(([routeKey, target]) => ({
      routeKey: routeKey as RouteKey,
      target,
    })),
  );

  const handle = async (req: IncomingMessage): Promise<GatewayResponse> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const contentType = req.headers['content-type'];
    if (contentType !== undefined && !isJsonContentType(contentType)) {
      return jsonError(415, 'UnsupportedMediaType', `the API takes application/json, not ${contentType}`);
    }
    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return jsonError(413, 'PayloadTooLarge', 'request body is over the 10 MB limit');
    if (body.length > 0 && contentType === undefined) {
      return jsonError(
        415,
        'UnsupportedMediaType',
        'a request with a body must say content-type: application/json',
      );
    }
    if (options.unsigned !== undefined && hostAllowed(req.headers.host, hostnames)) {
      const answer = await options.unsigned({ method, url, body });
      if (answer !== undefined) return answer;
    }
    const signed = await options.guard.check(req, body);
    if (!signed.ok) return jsonError(403, signed.code, signed.message);
    if (signed.principal.kind !== 'operator') {
      return jsonError(403, 'AccessDenied', `function ${signed.principal.name} may not invoke the HTTP API`);
    }
    const local = matchRoute(localRoutes, method, url.pathname);
    if (local !== undefined) return local.route.target({ url, body, pathParameters: local.pathParameters });
    const match = matchRoute(routes, method, url.pathname);
    if (match === undefined) {
      return jsonError(404, 'NotFound', `no route ${method} ${url.pathname}; routes: ${known}`);
    }
    const event = toApiGatewayEvent({
      method,
      url,
      headers: req.headers,
      body,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      routeKey: match.route.routeKey,
      pathParameters: match.pathParameters,
      now: Date.now(),
      caller: { accessKey: signed.accessKeyId, name: signed.principal.name },
    });
    try {
      return fromHandlerResult(await match.route.target.invoke(event));
    } catch (error) {
      // API Gateway answers 500 when the integration fails; the detail stays in the log.
      options.log.event('error', 'route handler threw', {
        routeKey: match.route.routeKey,
        ...describeError(error),
      });
      return jsonError(500, 'InternalError', 'the handler failed; see the platform log');
    }
  };

  const server = createServer((req, res) => {
    handle(req).then(
      (response) => send(res, response),
      (error) => {
        options.log.event('error', 'gateway failed', describeError(error));
        send(res, jsonError(500, 'InternalError', 'gateway failure; see the platform log'));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    routes: [...routes.map((r) => r.routeKey), ...Object.keys(options.localRoutes ?? {})],
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
