import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalBroker } from './broker.ts';
import { type EndpointGuard, readBody } from './endpoint-guard.ts';
import type { LocalPrincipals } from './principals.ts';

/** The embedded stand-in for IoT Core's data plane, as far as fleetkit's functions use it. */
export interface LocalIotData {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** IoT Core's payload limit (https://docs.aws.amazon.com/general/latest/gr/iot-core.html). */
const MAX_PAYLOAD_BYTES = 128 * 1024;

/** Answers with the restJson error shape the SDK reads: the type in `x-amzn-errortype`. */
function reply(res: ServerResponse, status: number, error?: { type: string; message: string }): void {
  const text = error === undefined ? '' : JSON.stringify({ message: error.message });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...(error === undefined ? {} : { 'x-amzn-errortype': error.type }),
  });
  res.end(text);
}

/**
 * Serves the IoT data plane's Publish operation (`POST /topics/{topic}?qos=`,
 * https://docs.aws.amazon.com/iot/latest/apireference/API_iotdata_Publish.html) on loopback and
 * publishes to the local broker, so the real `@aws-sdk/client-iot-data-plane` client works unchanged.
 *
 * Every request must be signed (SigV4, service `iotdata`) by a known key, and the signer may publish
 * only where its role may in AWS: a function to the `topics` resources it `uses` with write access, the
 * operator where some function may. Device topics (`devices/...`) are the devices' own. Refusals are
 * 403 `ForbiddenException` and publish nothing.
 */
export async function startIotData(options: {
  broker: LocalBroker;
  /** Checks `Host` and the SigV4 signature of every request. */
  guard: EndpointGuard;
  principals: LocalPrincipals;
  host?: string;
  port?: number;
}): Promise<LocalIotData> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req, MAX_PAYLOAD_BYTES);
    if (body === undefined) {
      reply(res, 413, { type: 'RequestEntityTooLargeException', message: 'payload exceeds 128 KB' });
      return;
    }
    const signed = await options.guard.check(req, body);
    if (!signed.ok) {
      reply(res, 403, { type: 'ForbiddenException', message: `${signed.code}: ${signed.message}` });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/topics\/(.+)$/.exec(url.pathname);
    if (req.method !== 'POST' || match === null) {
      reply(res, 404, {
        type: 'ResourceNotFoundException',
        message: `no operation ${req.method} ${url.pathname} on the local IoT data plane`,
      });
      return;
    }
    const qos = Number(url.searchParams.get('qos') ?? '0');
    if (qos !== 0 && qos !== 1) {
      reply(res, 400, { type: 'InvalidRequestException', message: 'qos must be 0 or 1' });
      return;
    }
    let topic: string;
    try {
      topic = decodeURIComponent(match[1] ?? '');
    } catch {
      reply(res, 400, { type: 'InvalidRequestException', message: 'topic is not valid percent-encoding' });
      return;
    }
    if (!options.principals.mayPublish(signed.principal, topic)) {
      const who = signed.principal.kind === 'function' ? `function ${signed.principal.name}` : 'the operator';
      reply(res, 403, { type: 'ForbiddenException', message: `${who} may not publish to ${topic}` });
      return;
    }
    await options.broker.publish(topic, body, qos);
    reply(res, 200);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) =>
      reply(res, 500, { type: 'InternalFailureException', message: error.message }),
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  return {
    endpoint: `http://${host}:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
