import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as z from 'zod';
import { SchemaValidationError } from '../../protocol/errors.ts';
import { parseWith } from '../../protocol/parse.ts';
import type { EmbeddedLog } from './embedded-log.ts';
import {
  InvalidRecordError,
  InvalidStreamOptionError,
  InvalidTopicNameError,
  RecordTooLargeError,
  UnknownTopicError,
} from './errors.ts';

/**
 * Body of `POST /topics/{topic}/records`: records as `OutgoingRecord`, with the value base64 so that
 * bytes survive JSON. The one wire contract between this server and `TopicLogRecordProducer`.
 */
export const produceRequest = z.object({
  records: z
    .array(
      z.object({
        key: z.string(),
        value: z.base64('must be base64'),
        headers: z.record(z.string(), z.string()).optional(),
      }),
    )
    .max(10_000, 'must hold at most 10000 records per request'),
});

/** Answer of a successful produce: where each record went, in request order. */
export interface ProduceResponse {
  readonly offsets: ReadonlyArray<{ readonly partition: number; readonly offset: string }>;
}

/** Options of {@link startTopicLogApi}. */
export interface TopicLogApiOptions {
  readonly log: EmbeddedLog;
  /** A loopback address: the API has no authentication. @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** Largest request body accepted. @default 16 MiB */
  readonly maxBodyBytes?: number;
}

/** The running API. */
export interface TopicLogApi {
  /** `http://host:port`, what `TOPIC_LOG_ENDPOINT` is set to for the local functions. */
  readonly endpoint: string;
  close(): Promise<void>;
}

const LOOPBACK = /^(?:127(?:\.\d{1,3}){3}|::1|localhost)$/;
const ROUTE = /^\/topics\/([^/]+)\/records$/;

class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: unknown;

  constructor(status: number, code: string, message: string, issues?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.issues = issues;
  }
}

/**
 * Serves `POST /topics/{topic}/records` in front of an embedded log, for handlers running in the same
 * process (their `TopicLogRecordProducer`): validates the body, appends, answers 200 `{offsets}` once
 * the records are fsync'd. Bad input gets 400 (404 for an unknown topic or path, 405 for another
 * method, 413 for a body over the limit) with `{code, message[, issues]}`. Listens on loopback only.
 *
 * @throws InvalidStreamOptionError when `host` is not a loopback address
 */
export async function startTopicLogApi(options: TopicLogApiOptions): Promise<TopicLogApi> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) {
    throw new InvalidStreamOptionError(
      `the topic log API has no authentication and listens on loopback only; got host '${host}'`,
    );
  }
  const maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const server = createServer((req, res) => {
    handle(req, options.log, maxBodyBytes).then(
      (body) => reply(res, 200, body),
      (error: unknown) => {
        const failure = toHttpError(error);
        reply(res, failure.status, {
          code: failure.code,
          message: failure.message,
          ...(failure.issues === undefined ? {} : { issues: failure.issues }),
        });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    endpoint: `http://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  log: EmbeddedLog,
  maxBodyBytes: number,
): Promise<ProduceResponse> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = ROUTE.exec(url.pathname);
  if (match === null) {
    throw new HttpError(
      404,
      'NotFound',
      `no route ${req.method} ${url.pathname}; use POST /topics/{topic}/records`,
    );
  }
  if (req.method !== 'POST') {
    throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not allowed on ${url.pathname}; use POST`);
  }
  let topic: string;
  try {
    topic = decodeURIComponent(match[1] ?? '');
  } catch {
    throw new HttpError(400, 'InvalidTopicName', 'the topic in the path is not valid percent-encoding');
  }
  const body = await readBody(req, maxBodyBytes);
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 'InvalidJson', `the body is not JSON: ${(error as Error).message}`);
  }
  const request = parseWith(produceRequest, json, 'produce request');
  const offsets = await log.append(
    topic,
    request.records.map((record) => ({
      key: record.key,
      value: Buffer.from(record.value, 'base64'),
      ...(record.headers === undefined ? {} : { headers: record.headers }),
    })),
  );
  return { offsets };
}

/**
 * Reads the body; past `limit` it keeps reading but discards, and then refuses with 413 — closing
 * the connection mid-body instead could cut off the answer before the client reads it.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
    });
    req.once('end', () => {
      if (size > limit)
        reject(new HttpError(413, 'PayloadTooLarge', `the body is ${size} bytes, over ${limit}`));
      else resolve(Buffer.concat(chunks));
    });
    req.once('error', reject);
  });
}

/** The one place errors become status codes. */
function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof SchemaValidationError) {
    return new HttpError(400, 'InvalidRequest', error.message, error.issues);
  }
  if (error instanceof UnknownTopicError) return new HttpError(404, 'UnknownTopic', error.message);
  if (error instanceof InvalidTopicNameError) return new HttpError(400, 'InvalidTopicName', error.message);
  if (error instanceof RecordTooLargeError) return new HttpError(400, 'RecordTooLarge', error.message);
  if (error instanceof InvalidRecordError) return new HttpError(400, 'InvalidRecord', error.message);
  return new HttpError(500, 'InternalError', (error as Error).message ?? String(error));
}

function reply(res: ServerResponse, status: number, payload: object): void {
  if (res.headersSent) return;
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...(status === 405 ? { allow: 'POST' } : {}),
  });
  res.end(text);
}
