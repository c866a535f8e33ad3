import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type EndpointGuard, readBody } from '../endpoint-guard.ts';
import { SIGNATURE_ERRORS } from '../kms.ts';
import { listen } from '../loopback-server.ts';
import type { Principal } from '../principals.ts';
import type { LocalIotRegistry } from './registry.ts';
import { IotApiError, iotError } from './state.ts';

/** The embedded stand-in for AWS IoT's control plane, as far as fleetkit uses it. */
export interface LocalIotControlPlane {
  readonly endpoint: string;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;
type Access = 'read' | 'write';
/** CreateCertificateFromCsr takes a CSR of at most 4 KB; nothing fleetkit sends is near 64 KB. */
const MAX_BODY_BYTES = 64 * 1024;
interface Request {
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  readonly body: Json;
  readonly principal: string;
}
type Operation = (request: Request) => Promise<object | undefined> | object | undefined;

function parseBody(bytes: Buffer): Json {
  const text = bytes.toString('utf8');
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw iotError.invalidRequest('request body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw iotError.invalidRequest('request body is not a JSON object');
  return parsed as Json;
}

function text(body: Json, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw iotError.invalidRequest(`${name} is required`);
  return value;
}

function param(request: Request, i: number): string {
  return request.params[i] ?? '';
}

/**
 * The REST routes of AWS IoT's control plane that fleetkit calls, with the methods and paths of
 * `@aws-sdk/client-iot` (restJson1): path parameters URL-encoded, `x-amzn-principal` for principals,
 * errors as `x-amzn-ErrorType` plus `{message}` with the status IoT's model gives each exception.
 */
function routes(registry: LocalIotRegistry, endpointAddress: string): Array<[string, RegExp, Operation]> {
  return [
    [
      'POST',
      /^\/thing-types\/([^/]+)$/,
      (r) => {
        const properties = (r.body.thingTypeProperties ?? {}) as Json;
        const description = properties.thingTypeDescription;
        return registry.createThingType(
          param(r, 0),
          typeof description === 'string' ? description : undefined,
        );
      },
    ],
    ['GET', /^\/thing-types\/([^/]+)$/, (r) => registry.describeThingType(param(r, 0))],
    [
      'POST',
      /^\/things\/([^/]+)$/,
      (r) => {
        const type = r.body.thingTypeName;
        const attributes = ((r.body.attributePayload ?? {}) as Json).attributes ?? {};
        return registry.createThing(
          param(r, 0),
          typeof type === 'string' ? type : undefined,
          attributes as Record<string, string>,
        );
      },
    ],
    ['GET', /^\/things\/([^/]+)$/, (r) => registry.describeThing(param(r, 0))],
    [
      'POST',
      /^\/certificates$/,
      (r) =>
        registry.createCertificateFromCsr(
          text(r.body, 'certificateSigningRequest'),
          r.query.get('setAsActive') === 'true' ? 'ACTIVE' : 'INACTIVE',
        ),
    ],
    ['GET', /^\/certificates\/([^/]+)$/, (r) => registry.describeCertificate(param(r, 0))],
    [
      'PUT',
      /^\/certificates\/([^/]+)$/,
      async (r) => {
        await registry.updateCertificate(param(r, 0), r.query.get('newStatus') ?? '');
        return undefined;
      },
    ],
    [
      'DELETE',
      /^\/certificates\/([^/]+)$/,
      async (r) => {
        await registry.deleteCertificate(param(r, 0), r.query.get('forceDelete') === 'true');
        return undefined;
      },
    ],
    [
      'PUT',
      /^\/target-policies\/([^/]+)$/,
      async (r) => {
        await registry.attachPolicy(param(r, 0), text(r.body, 'target'));
        return undefined;
      },
    ],
    [
      'POST',
      /^\/target-policies\/([^/]+)$/,
      async (r) => {
        await registry.detachPolicy(param(r, 0), text(r.body, 'target'));
        return undefined;
      },
    ],
    ['POST', /^\/attached-policies\/(.+)$/, (r) => registry.listAttachedPolicies(param(r, 0))],
    [
      'PUT',
      /^\/things\/([^/]+)\/principals$/,
      async (r) => {
        await registry.attachThingPrincipal(
          param(r, 0),
          r.principal,
          r.query.get('thingPrincipalType') ?? undefined,
        );
        return {};
      },
    ],
    [
      'DELETE',
      /^\/things\/([^/]+)\/principals$/,
      async (r) => {
        await registry.detachThingPrincipal(param(r, 0), r.principal);
        return {};
      },
    ],
    [
      'GET',
      /^\/things\/([^/]+)\/principals$/,
      (r) => ({ principals: registry.listThingPrincipals(param(r, 0)).principals }),
    ],
    [
      'GET',
      /^\/things\/([^/]+)\/principals-v2$/,
      (r) => ({
        thingPrincipalObjects: registry.listThingPrincipals(param(r, 0)).thingPrincipalObjects,
      }),
    ],
    ['GET', /^\/principals\/things$/, (r) => registry.listPrincipalThings(r.principal)],
    [
      'GET',
      /^\/endpoint$/,
      (r) => {
        const type = r.query.get('endpointType') ?? 'iot:Data';
        if (type !== 'iot:Data-ATS' && type !== 'iot:Data')
          throw iotError.invalidRequest(`endpointType ${type} is not served locally`);
        return { endpointAddress };
      },
    ],
  ];
}

/** Describe and list operations read (ListAttachedPolicies is a POST); everything else writes. */
function accessOf(method: string, path: string): Access {
  return method === 'GET' || path.startsWith('/attached-policies/') ? 'read' : 'write';
}

function reply(res: ServerResponse, status: number, body: object | undefined, errorType?: string): void {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(payload)),
    'x-amzn-requestid': randomUUID(),
    ...(errorType === undefined ? {} : { 'x-amzn-errortype': errorType }),
  });
  res.end(payload);
}

/**
 * Serves the local IoT registry as AWS IoT's control plane API on loopback, so the real
 * `@aws-sdk/client-iot` works against it through `AWS_ENDPOINT_URL_IOT`: provisioning, rotation and
 * revocation run locally with the adapter that runs in AWS.
 *
 * @param endpointAddress what DescribeEndpoint answers: the broker's host
 */
export async function startIotControlPlane(options: {
  readonly registry: LocalIotRegistry;
  readonly endpointAddress: string;
  /** Checks the `Host` and the SigV4 signature (service `iot`) of every request. */
  readonly guard: EndpointGuard;
  /** What a signed principal may do: `read` (describe, list) or `write` (the rest). */
  readonly may: (principal: Principal, access: Access) => boolean;
  readonly host?: string;
  readonly port?: number;
}): Promise<LocalIotControlPlane> {
  const table = routes(options.registry, options.endpointAddress);
  const handle = async (req: IncomingMessage): Promise<[number, object | undefined, string?]> => {
    const body = (await readBody(req, MAX_BODY_BYTES)) ?? Buffer.alloc(0);
    const signed = await options.guard.check(req, body);
    if (!signed.ok) return [403, { message: signed.message }, SIGNATURE_ERRORS[signed.code]];
    const url = new URL(req.url ?? '/', 'http://localhost');
    for (const [method, pattern, run] of table) {
      const match = pattern.exec(url.pathname);
      if (req.method !== method || match === null) continue;
      const access = accessOf(method, url.pathname);
      if (!options.may(signed.principal, access)) {
        const who = signed.principal.kind === 'function' ? `function ${signed.principal.name}` : 'the caller';
        return [403, { message: `${who} may not ${access} the IoT registry` }, 'AccessDeniedException'];
      }
      const principal = req.headers['x-amzn-principal'];
      const request: Request = {
        params: match.slice(1).map((p) => decodeURIComponent(p)),
        query: url.searchParams,
        body: parseBody(body),
        principal: typeof principal === 'string' ? principal : '',
      };
      return [200, await run(request)];
    }
    return [
      404,
      { message: `the local IoT control plane serves no ${req.method} ${url.pathname}` },
      'UnknownOperationException',
    ];
  };
  const server = createServer((req, res) => {
    handle(req).then(
      ([status, body, type]) => reply(res, status, body, type),
      (error: Error) =>
        error instanceof IotApiError
          ? reply(res, error.status, { message: error.message }, error.type)
          : reply(res, 500, { message: error.message }, 'InternalFailureException'),
    );
  });
  return listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
}
