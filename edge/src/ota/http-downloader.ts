import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { RefusedUrlError } from './errors.ts';
import type { Downloader, DownloadRequest, DownloadResponse } from './ports.ts';

export interface HttpDownloaderOptions {
  /** A connection silent for this long is dropped (and the download resumes). @default 30_000 */
  readonly idleTimeoutMs?: number;
  /** Extra CA certificates (PEM) for https. */
  readonly ca?: string | readonly string[];
}

/** `bytes 100-199/1000` → start 100, total 1000 (RFC 9110 §14.4); `*` totals are unknown. */
export function parseContentRange(value: string | undefined): { start: number; total?: number } | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (match === null) return undefined;
  const start = Number(match[1]);
  return match[3] === '*' ? { start } : { start, total: Number(match[3]) };
}

/**
 * True for a URL host on this machine's loopback: `localhost`, 127.0.0.0/8, `[::1]`. Plain HTTP there
 * never leaves the machine (the local platform's S3 endpoint); anywhere else it would cross a network
 * unencrypted and unauthenticated.
 */
export function isLoopbackUrlHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Why `url` may not be fetched, or undefined when it may: https anywhere, http on loopback only. */
export function urlRefusal(url: URL): string | undefined {
  if (url.protocol === 'https:') return undefined;
  if (url.protocol !== 'http:') return `unsupported URL scheme ${url.protocol}`;
  return isLoopbackUrlHost(url.hostname)
    ? undefined
    : 'plain http is allowed only to a loopback development endpoint (localhost, 127.0.0.0/8, ::1)';
}

/**
 * {@link Downloader} over node:http/https: one GET with `Range: bytes={offset}-` per call. Works
 * with S3 presigned URLs (they sign only the host header, so adding Range keeps them valid). Refuses
 * (`RefusedUrlError`) anything but https, save http to a loopback development endpoint.
 */
export class HttpDownloader implements Downloader {
  constructor(private readonly options: HttpDownloaderOptions = {}) {}

  get(request: DownloadRequest): Promise<DownloadResponse> {
    const url = new URL(request.url);
    const refusal = urlRefusal(url);
    if (refusal !== undefined) return Promise.reject(new RefusedUrlError(request.url, refusal));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method: 'GET',
          headers: { range: `bytes=${request.offset}-`, 'accept-encoding': 'identity' },
          ...(request.signal ? { signal: request.signal } : {}),
          ...(this.options.ca === undefined ? {} : { ca: this.options.ca as string | string[] }),
        },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          if (status !== 200 && status !== 206) res.resume();
          const range = parseContentRange(res.headers['content-range']);
          const length = res.headers['content-length'];
          const totalSize =
            status === 206
              ? range?.total
              : status === 200 && length !== undefined
                ? Number(length)
                : undefined;
          resolve({
            status,
            start: status === 206 ? (range?.start ?? -1) : 0,
            ...(totalSize === undefined ? {} : { totalSize }),
            body: res,
          });
        },
      );
      req.setTimeout(this.options.idleTimeoutMs ?? 30_000, () =>
        req.destroy(new Error('connection idle too long')),
      );
      req.on('error', reject);
      req.end();
    });
  }
}
