import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server on loopback for the OTA integration tests: serves images by path with
 * `Range: bytes=n-` (206 + Content-Range), refuses URLs whose `expires` query parameter (epoch
 * seconds) has passed with 403 as S3 does for an expired presigned URL, and can cut the connection
 * after a number of body bytes, once per request number.
 */
export interface ImageServer {
  readonly url: string;
  /** The Range header of every request, in order (`-` when absent). */
  readonly ranges: string[];
  readonly statuses: number[];
  /** For the next requests, in order: cut the connection after this many body bytes. */
  readonly cuts: number[];
  /** A URL for `path` valid until `expires` (epoch seconds). */
  urlFor(path: string, expires?: number): string;
  close(): Promise<void>;
}

export async function startImageServer(images: ReadonlyMap<string, Buffer>): Promise<ImageServer> {
  const ranges: string[] = [];
  const statuses: number[] = [];
  const cuts: number[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    ranges.push(req.headers.range ?? '-');
    const send = (status: number, headers: Record<string, string | number> = {}) => {
      statuses.push(status);
      res.writeHead(status, headers);
    };
    const expires = Number(url.searchParams.get('expires') ?? Number.POSITIVE_INFINITY);
    if (Date.now() / 1000 > expires) {
      send(403, { 'content-type': 'application/xml' });
      res.end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      return;
    }
    const image = images.get(url.pathname);
    if (image === undefined) {
      send(404);
      res.end();
      return;
    }
    const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = match ? Number(match[1]) : 0;
    if (start >= image.length && image.length > 0) {
      send(416, { 'content-range': `bytes */${image.length}` });
      res.end();
      return;
    }
    const body = image.subarray(start);
    send(match ? 206 : 200, {
      'content-length': body.length,
      ...(match ? { 'content-range': `bytes ${start}-${image.length - 1}/${image.length}` } : {}),
    });
    const cut = cuts.shift();
    if (cut === undefined) {
      res.end(body);
      return;
    }
    res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
  };
  const server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    ranges,
    statuses,
    cuts,
    urlFor: (path, expires) => `${base}${path}${expires === undefined ? '' : `?expires=${expires}`}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
