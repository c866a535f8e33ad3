import * as z from 'zod';
import type { GatewayResponse } from '../apigw-event.ts';
import { buildConsole, type ConsoleAssets } from './build.ts';
import type { ConsoleSessions } from './sessions.ts';

/** Where the local gateway serves the console. */
export const CONSOLE_PATH = '/console';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
};

const exchangeRequest = z.strictObject({ token: z.string().min(16).max(128) });

/** What the local console needs of a request (the gateway has read the body and checked its type). */
export interface ConsoleRequest {
  readonly method: string;
  readonly url: URL;
  readonly body: Buffer;
}

/** The console as the local gateway serves it: static files, its settings, and the login exchange. */
export interface LocalConsole {
  /** Answers `/console/...`; undefined for any other path (the gateway's signed routes). */
  handle(request: ConsoleRequest): Promise<GatewayResponse | undefined>;
  /** A one-time login link to the console under `baseUrl` (the gateway's URL). */
  loginLink(baseUrl: string): { readonly url: string; readonly expiresAt: string };
  /** Builds the bundle now, so the first visit does not wait for esbuild. */
  prepare(): Promise<void>;
}

function respond(statusCode: number, type: string, body: string | Uint8Array, headers = {}): GatewayResponse {
  return {
    statusCode,
    headers: {
      'content-type': type,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
      ...headers,
    },
    body: Buffer.from(body),
  };
}

const jsonAnswer = (statusCode: number, value: unknown) =>
  respond(statusCode, CONTENT_TYPES.json as string, JSON.stringify(value));

/**
 * The console's files and sign-in, served by the local gateway without a signature (they hold no data
 * and no secret; every API call the page makes is signed). The page gets credentials only by spending a
 * one-time login link (`#login=<token>`: a fragment, so the token never travels in a request line, a log
 * or a Referer) on `POST /console/session` — a JSON request, which a foreign web page cannot send without
 * a CORS preflight the gateway never grants (CSRF), to a `Host` the gateway answers to (DNS rebinding).
 *
 * `connectSources` are the other origins the page may call (the S3 endpoint of presigned uploads); the
 * Content-Security-Policy allows no script but the console's own.
 */
export function localConsole(options: {
  readonly sessions: ConsoleSessions;
  readonly region: string;
  readonly connectSources: readonly string[];
  /** The API's routes, for the page to offer only what exists (read when the page asks). */
  readonly routes: () => readonly string[];
  readonly build?: () => Promise<ConsoleAssets>;
}): LocalConsole {
  let assets: Promise<ConsoleAssets> | undefined;
  const built = () => {
    assets ??= (options.build ?? buildConsole)().catch((error) => {
      assets = undefined;
      throw error;
    });
    return assets;
  };
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${options.connectSources.join(' ')}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

  return {
    prepare: async () => {
      await built();
    },
    loginLink(baseUrl) {
      const { token, expiresAt } = options.sessions.newLoginToken();
      return {
        url: `${baseUrl}${CONSOLE_PATH}/#login=${token}`,
        expiresAt: new Date(expiresAt).toISOString(),
      };
    },
    async handle({ method, url, body }) {
      const path = url.pathname;
      if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return undefined;
      if (path === CONSOLE_PATH) return respond(308, 'text/plain', '', { location: `${CONSOLE_PATH}/` });
      const name = path.slice(CONSOLE_PATH.length + 1) || 'index.html';
      if (method === 'POST' && name === 'session') {
        const parsed = exchangeRequest.safeParse(body.length === 0 ? undefined : safeJson(body));
        const session = parsed.success ? options.sessions.exchange(parsed.data.token) : undefined;
        if (session === undefined)
          return jsonAnswer(401, {
            code: 'LoginLinkInvalid',
            message:
              'this login link is unknown, used or expired; get a new one with: npm run cli -- console',
          });
        return jsonAnswer(200, session);
      }
      if (method !== 'GET' && method !== 'HEAD')
        return jsonAnswer(405, { code: 'MethodNotAllowed', message: `${method} ${path}` });
      if (name === 'config.json')
        return jsonAnswer(200, { mode: 'local', region: options.region, routes: options.routes() });
      const file = (await built()).get(name);
      if (file === undefined)
        return jsonAnswer(404, { code: 'NotFound', message: `no console file ${name}` });
      const type = CONTENT_TYPES[name.slice(name.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
      return respond(200, type, file, {
        'cache-control': 'no-cache',
        ...(name === 'index.html' ? { 'content-security-policy': csp, 'x-frame-options': 'DENY' } : {}),
      });
    },
  };
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}
