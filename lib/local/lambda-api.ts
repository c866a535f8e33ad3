import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../../lambdas/shared/logger.ts';
import type { Topology } from '../topology/model.ts';
import { type EndpointGuard, readBody } from './endpoint-guard.ts';
import type { LocalFunction } from './functions.ts';
import type { PlatformLog } from './platform-log.ts';
import type { Principal } from './principals.ts';

/** The embedded stand-in for Lambda's Invoke API, as far as fleetkit's functions use it. */
export interface LocalLambda {
  readonly endpoint: string;
  /** The functions it invokes, once they are built (they need its endpoint in their env first). */
  attach(functions: ReadonlyMap<string, LocalFunction>): void;
  /** Resolves once every asynchronous invocation accepted so far has run (retries included). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/** Lambda's payload limit for an asynchronous invocation (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html). */
const MAX_EVENT_BYTES = 256 * 1024;
/** Lambda retries a failed asynchronous invocation twice; locally after a second, then two. */
const RETRY_DELAYS_MS = [1000, 2000];

function reply(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function refuse(res: ServerResponse, status: number, type: string, message: string): void {
  reply(res, status, { Type: 'User', message }, { 'x-amzn-errortype': type });
}

/**
 * Serves Lambda's Invoke operation (`POST /2015-03-31/functions/{FunctionName}/invocations`,
 * https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html) on loopback, so the real
 * `@aws-sdk/client-lambda` client works unchanged. `InvocationType: Event` answers 202 at once and runs
 * the function after, retrying a failure twice as Lambda does, then logging it (Lambda's dead-letter
 * queue); `RequestResponse` runs it and answers its result; `DryRun` checks the permission only.
 *
 * Every request must be signed (SigV4, service `lambda`); a function may invoke only the functions
 * whose `invokedBy` names it (the grant its role has in AWS), the operator any. Function names are the
 * deployed ones (`physicalName`), or an ARN ending in one.
 */
export async function startLocalLambda(options: {
  topology: Topology;
  guard: EndpointGuard;
  physicalName: (functionName: string) => string;
  log: PlatformLog;
  host?: string;
  port?: number;
}): Promise<LocalLambda> {
  let functions: ReadonlyMap<string, LocalFunction> = new Map();
  const byPhysical = new Map(
    Object.keys(options.topology.functions).map((name) => [options.physicalName(name), name]),
  );
  const running = new Set<Promise<void>>();
  const mayInvoke = (principal: Principal, target: string) =>
    principal.kind === 'operator' ||
    (options.topology.functions[target]?.invokedBy ?? []).includes(principal.name);

  const runAsync = async (fn: LocalFunction, event: unknown) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await fn.invoke(event);
        return;
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          options.log.event('error', 'asynchronous invocation failed after its retries', {
            function: fn.name,
            ...describeError(error),
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req, MAX_EVENT_BYTES);
    if (body === undefined) {
      refuse(res, 413, 'RequestTooLargeException', 'the payload exceeds 256 KB');
      return;
    }
    const signed = await options.guard.check(req, body);
    if (!signed.ok) {
      refuse(res, 403, 'AccessDeniedException', `${signed.code}: ${signed.message}`);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    if (req.method !== 'POST' || match === null) {
      refuse(res, 404, 'ResourceNotFoundException', `no operation ${req.method} ${url.pathname}`);
      return;
    }
    // A name, or an ARN (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`).
    const requested = decodeURIComponent(match[1] ?? '');
    const physical = requested.startsWith('arn:') ? (requested.split(':')[6] ?? '') : requested;
    const name = byPhysical.get(physical);
    const fn = name === undefined ? undefined : functions.get(name);
    if (name === undefined || fn === undefined) {
      refuse(res, 404, 'ResourceNotFoundException', `Function not found: ${requested}`);
      return;
    }
    if (!mayInvoke(signed.principal, name)) {
      const who = signed.principal.kind === 'function' ? `function ${signed.principal.name}` : 'the caller';
      refuse(res, 403, 'AccessDeniedException', `${who} may not invoke ${physical}`);
      return;
    }
    let event: unknown;
    try {
      event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      refuse(res, 400, 'InvalidRequestContentException', 'the payload is not JSON');
      return;
    }
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (type === 'DryRun') {
      reply(res, 204);
      return;
    }
    if (type === 'Event') {
      reply(res, 202);
      const run = runAsync(fn, event).finally(() => running.delete(run));
      running.add(run);
      return;
    }
    if (type !== 'RequestResponse') {
      refuse(res, 400, 'InvalidParameterValueException', `unknown invocation type ${type}`);
      return;
    }
    try {
      reply(res, 200, (await fn.invoke(event)) ?? null);
    } catch (error) {
      reply(res, 200, describeError(error), { 'x-amz-function-error': 'Unhandled' });
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => refuse(res, 500, 'ServiceException', error.message));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const idle = async () => {
    while (running.size > 0) await Promise.allSettled([...running]);
  };
  return {
    endpoint: `http://${host}:${(server.address() as AddressInfo).port}`,
    attach(built) {
      functions = built;
    },
    idle,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await idle();
    },
  };
}
