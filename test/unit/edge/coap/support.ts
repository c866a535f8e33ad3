import { Agent, type IncomingMessage, type ObserveReadStream, request } from 'coap';
import { CoapGateway, type CoapGatewayOptions } from '../../../../edge/src/coap/gateway.ts';
import { decodeCborPayload, encodeCborPayload } from '../../../../lib/protocol/coap.ts';
import type { Reading } from '../../../../lib/protocol/messages.ts';

/** 2023-11-14T22:13:20Z: the clock the gateways under test read. */
export const T0 = 1_700_000_000_000;

/** What a test client got back. */
export interface CoapResult {
  readonly code: string;
  readonly payload: Buffer;
  readonly headers: IncomingMessage['headers'];
}

export interface ClientRequest {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly pathname: string;
  /** Encoded as CBOR unless it already is bytes. */
  readonly body?: unknown;
  readonly contentFormat?: string | number;
  readonly accept?: string | number;
  readonly confirmable?: boolean;
  /** Observe option: 0 registers (answered once here), 1 deregisters the observation with the same `token` (RFC 7641 §3.6). */
  readonly observe?: 0 | 1;
  readonly token?: Buffer;
}

/** A gateway on an ephemeral loopback port, with a recording sink and a client agent of its own. */
export class Harness {
  readonly sunk: { readings: readonly Reading[]; sensorId: string }[] = [];
  readonly commands: unknown[] = [];
  readonly logs: { event: string; detail: Record<string, unknown> }[] = [];
  latestReading: Reading | undefined;
  sinkError: Error | undefined;
  now = T0;
  readonly gateway: CoapGateway;
  port = 0;
  private readonly agent = new Agent({ type: 'udp4' });

  constructor(options: Partial<CoapGatewayOptions> = {}) {
    this.gateway = new CoapGateway({
      port: 0,
      host: '127.0.0.1',
      sink: async (readings, source) => {
        if (this.sinkError) throw this.sinkError;
        this.sunk.push({ readings, sensorId: source.sensorId });
      },
      latest: () => this.latestReading,
      onCommand: async (command) => {
        this.commands.push(command);
        return command.name === 'sample-now' ? { sampled: true } : undefined;
      },
      clock: { now: () => this.now },
      log: (event, detail) => this.logs.push({ event, detail }),
      ...options,
    });
  }

  async start(): Promise<this> {
    this.port = (await this.gateway.start()).port;
    return this;
  }

  async stop(): Promise<void> {
    await this.gateway.stop();
    // node-coap's Agent closes its socket by itself once idle, and then never calls close's callback;
    // its 'close' event fires either way.
    await new Promise<void>((resolve) => {
      this.agent.once('close', () => resolve());
      this.agent.close();
    });
  }

  /** Sends one request and waits for its response. */
  send(req: ClientRequest): Promise<CoapResult> {
    const body =
      req.body === undefined
        ? undefined
        : req.body instanceof Uint8Array
          ? req.body
          : encodeCborPayload(req.body);
    return new Promise((resolve, reject) => {
      const out = request({
        hostname: '127.0.0.1',
        port: this.port,
        method: req.method ?? 'GET',
        pathname: req.pathname,
        confirmable: req.confirmable ?? true,
        agent: this.agent,
        ...(req.contentFormat !== undefined
          ? { contentFormat: req.contentFormat }
          : body !== undefined
            ? { contentFormat: 'application/cbor' }
            : {}),
        ...(req.accept !== undefined ? { accept: req.accept } : {}),
        ...(req.observe !== undefined ? { observe: req.observe } : {}),
        ...(req.token !== undefined ? { token: req.token } : {}),
      });
      out.on('response', (res: IncomingMessage) =>
        resolve({ code: res.code, payload: res.payload, headers: res.headers }),
      );
      out.on('error', reject);
      out.end(body === undefined ? undefined : Buffer.from(body));
    });
  }

  /** Starts observing `pathname`; notifications (the first included) arrive on the stream. */
  observe(pathname: string, token?: Buffer): Promise<ObserveReadStream> {
    return new Promise((resolve, reject) => {
      const out = request({
        hostname: '127.0.0.1',
        port: this.port,
        method: 'GET',
        pathname,
        observe: true,
        agent: this.agent,
        ...(token !== undefined ? { token } : {}),
      });
      out.on('response', (res: ObserveReadStream) => resolve(res));
      out.on('error', reject);
      out.end();
    });
  }
}

/** Decodes a CBOR response payload. */
export function cborOf(result: CoapResult): unknown {
  return decodeCborPayload(new Uint8Array(result.payload), 'response');
}

/** The UTF-8 diagnostic of an error response. */
export function diagnosticOf(result: CoapResult): string {
  return result.payload.toString('utf8');
}

/** The next `count` notification payloads of an observation, decoded. */
export function nextNotifications(stream: ObserveReadStream, count: number): Promise<unknown[]> {
  return new Promise((resolve) => {
    const seen: unknown[] = [];
    const onData = (chunk: Buffer): void => {
      seen.push(decodeCborPayload(new Uint8Array(chunk), 'notification'));
      if (seen.length === count) {
        stream.off('data', onData);
        resolve(seen);
      }
    };
    stream.on('data', onData);
  });
}
