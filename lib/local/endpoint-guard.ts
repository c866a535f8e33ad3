import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname as machineName, networkInterfaces } from 'node:os';
import { LOCAL_REGION } from './names.ts';
import type { LocalPrincipals, Principal } from './principals.ts';
import { type SignatureRefusal, verifySigV4 } from './sigv4-verify.ts';

/** True for the loopback names and addresses: `localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (name === 'localhost' || name === '::1') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

/** True for an address that listens on every interface. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/**
 * The names a request's `Host` may carry for a server listening on `listenHost`: the loopback names, the
 * listen address, and on a wildcard address the machine's own addresses and name. A page that rebinds
 * its own DNS name to 127.0.0.1 sends its name in `Host`, which is not among them (DNS rebinding).
 */
export function allowedHostnames(listenHost: string): ReadonlySet<string> {
  const names = new Set(['localhost', '::1', listenHost.toLowerCase()]);
  if (isWildcardHost(listenHost)) {
    names.add(machineName().toLowerCase());
    for (const addresses of Object.values(networkInterfaces())) {
      for (const address of addresses ?? []) names.add(address.address.toLowerCase());
    }
  }
  return names;
}

/** The host name of a `Host` header without its port: `[::1]:3000` → `::1`. */
export function hostnameOf(hostHeader: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader);
  if (bracketed !== null) return (bracketed[1] as string).toLowerCase();
  return hostHeader.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
}

/** Is `hostHeader` one the server may answer (see {@link allowedHostnames})? */
export function hostAllowed(hostHeader: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (hostHeader === undefined || hostHeader === '') return false;
  const name = hostnameOf(hostHeader);
  return allowed.has(name) || isLoopbackHost(name);
}

/** `application/json` or a `+json` type such as `application/merge-patch+json`, parameters aside. */
export function isJsonContentType(value: string | undefined): boolean {
  const type = (value ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Reads a request body; undefined when it is over `maxBytes`. */
export async function readBody(
  req: IncomingMessage,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A request the guard let through, and who signed it. */
export type GuardResult =
  | { readonly ok: true; readonly principal: Principal; readonly accessKeyId: string }
  | {
      readonly ok: false;
      readonly code: 'ForbiddenHost' | SignatureRefusal['code'];
      readonly message: string;
    };

/** What every local endpoint checks before it looks at a request: its `Host`, then its SigV4 signature. */
export interface EndpointGuard {
  check(req: IncomingMessage, body: Uint8Array): Promise<GuardResult>;
}

/**
 * The guard of one local endpoint: the `Host` must be one the endpoint answers to, and the request must
 * be signed with SigV4 for `service` in the local region by a key of `principals` — as every AWS API
 * requires, so an unsigned request from a web page, a script or another user of the machine is refused.
 */
export function endpointGuard(options: {
  readonly service: string;
  readonly principals: LocalPrincipals;
  readonly listenHost: string;
  readonly now?: () => number;
}): EndpointGuard {
  const allowed = allowedHostnames(options.listenHost);
  const now = options.now ?? Date.now;
  return {
    async check(req, body) {
      if (!hostAllowed(req.headers.host, allowed)) {
        return {
          ok: false,
          code: 'ForbiddenHost',
          message: `Host '${req.headers.host ?? ''}' is not a name this endpoint answers to (loopback or ${options.listenHost})`,
        };
      }
      return verifySigV4(
        { method: req.method ?? 'GET', target: req.url ?? '/', headers: req.headers, body },
        { service: options.service, region: LOCAL_REGION, lookup: options.principals.lookup, now },
      );
    },
  };
}
