import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
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
 * {@link Downloader} over node:http/https: one GET with `Range: bytes={offset}-` per call. Works
 * with S3 presigned URLs (they sign only the host header, so adding Range keeps them valid).
 */
export class HttpDownloader implements Downloader {
  constructor(private readonly options: HttpDownloaderOptions = {}) {}

  get(request: DownloadRequest): Promise<DownloadResponse> {
    const url = new URL(request.url);
    const send =
      url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined;
    if (send === undefined) return Promise.reject(new Error(`unsupported URL scheme ${url.protocol}`));
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
