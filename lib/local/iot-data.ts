import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { LocalBroker } from './broker.ts';
import { listen } from './loopback-server.ts';

/** The embedded stand-in for IoT Core's data plane, as far as fleetkit's functions use it. */
export interface LocalIotData {
  readonly endpoint: string;
  close(): Promise<void>;
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function reply(res: ServerResponse, status: number, payload?: object): void {
  const text = payload === undefined ? '' : JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/**
 * Serves the IoT data plane's Publish operation (`POST /topics/{topic}?qos=`,
 * https://docs.aws.amazon.com/iot/latest/apireference/API_iotdata_Publish.html) on loopback and
 * publishes to the local broker, so the real `@aws-sdk/client-iot-data-plane` client works unchanged.
 * SigV4 signatures are not checked; the server listens on loopback only.
 */
export async function startIotData(options: {
  broker: LocalBroker;
  host?: string;
  port?: number;
}): Promise<LocalIotData> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/topics\/(.+)$/.exec(url.pathname);
    if (req.method !== 'POST' || match === null) {
      reply(res, 404, { message: `no operation ${req.method} ${url.pathname} on the local IoT data plane` });
      return;
    }
    const qos = Number(url.searchParams.get('qos') ?? '0');
    if (qos !== 0 && qos !== 1) {
      reply(res, 400, { message: 'qos must be 0 or 1' });
      return;
    }
    let topic: string;
    try {
      topic = decodeURIComponent(match[1] ?? '');
    } catch {
      reply(res, 400, { message: 'topic is not valid percent-encoding' });
      return;
    }
    body(req)
      .then((payload) => options.broker.publish(topic, payload, qos))
      .then(
        () => reply(res, 200),
        (error: Error) => reply(res, 500, { message: error.message }),
      );
  });
  return listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
}
