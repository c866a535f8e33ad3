import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { UploadPlan } from '../protocol/firmware.ts';
import type { ApiClient } from './api.ts';
import { formatBytes, type Output, progressBar } from './progress.ts';

export interface UploadOptions {
  /** Which registry: firmware images (`/firmware`) or edge anomaly models (`/models`). @default 'firmware' */
  readonly registry?: 'firmware' | 'models';
  readonly file: string;
  readonly version: string;
  readonly deviceTypes: readonly string[];
  readonly minVersion?: string;
  readonly releaseNotes?: string;
  /** Force a multipart upload (the registry picks by size otherwise). */
  readonly multipart?: boolean;
  /** Bytes per part of a multipart upload (at least 5 MiB). @default the registry's (16 MiB) */
  readonly partSize?: number;
  /** Part uploads in flight at once. @default 4 */
  readonly parallel?: number;
}

/** SHA-256 and size of a file, streamed (images can be a gigabyte), with a progress bar. */
async function digestOf(file: string, out: Output): Promise<{ size: number; sha256: string }> {
  const { size } = await stat(file);
  const hash = createHash('sha256');
  const bar = progressBar(out, 'hashing  ');
  let read = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    read += (chunk as Buffer).length;
    bar.update(size === 0 ? 1 : read / size, formatBytes(read));
  }
  bar.done(formatBytes(size));
  return { size, sha256: hash.digest('hex') };
}

/** A byte range of the file as a fetch body, counting bytes as they go out. */
function body(file: string, start: number, end: number, sent: (n: number) => void): ReadableStream {
  const stream = createReadStream(file, { start, end: end - 1 });
  stream.on('data', (chunk) => sent((chunk as Buffer).length));
  return Readable.toWeb(stream) as ReadableStream;
}

async function put(url: string, file: string, start: number, end: number, sent: (n: number) => void) {
  const response = await fetch(url, {
    method: 'PUT',
    headers: { 'content-length': String(end - start) },
    body: body(file, start, end, sent),
    duplex: 'half',
  } as RequestInit);
  if (!response.ok)
    throw new Error(
      `the object store refused the upload (HTTP ${response.status}): ${await response.text()}`,
    );
  return response.headers.get('etag') ?? '';
}

/**
 * Registers, uploads and completes a firmware image (or, with `registry: 'models'`, an edge model): the
 * registry answers with a presigned PUT or with presigned part URLs (several in flight), the CLI streams
 * the file to them with a progress bar, then asks the registry to verify (size and SHA-256, server-side;
 * a model against its device types' feature contract) and sign it.
 */
export async function uploadFirmware(api: ApiClient, options: UploadOptions, out: Output) {
  const registry = options.registry ?? 'firmware';
  const { size, sha256 } = await digestOf(options.file, out);
  const registered = await api.call('POST', registry, {
    version: options.version,
    deviceTypes: options.deviceTypes,
    size,
    sha256,
    ...(options.minVersion === undefined ? {} : { minVersion: options.minVersion }),
    ...(options.releaseNotes === undefined ? {} : { releaseNotes: options.releaseNotes }),
    ...(options.multipart === true ? { upload: 'multipart' } : {}),
    ...(options.partSize === undefined ? {} : { partSize: options.partSize }),
  });
  const plan = registered.upload as UploadPlan;
  const bar = progressBar(out, 'uploading');
  let sent = 0;
  const count = (n: number) => {
    sent += n;
    bar.update(size === 0 ? 1 : sent / size, `${formatBytes(sent)} of ${formatBytes(size)}`);
  };
  let parts: { partNumber: number; etag: string }[] | undefined;
  if (plan.method === 'PUT') {
    await put(plan.url, options.file, 0, size, count);
  } else {
    parts = [];
    let next = 0;
    const offsets: number[] = [];
    for (let i = 0, at = 0; i < plan.parts.length; at += plan.parts[i]?.size ?? 0, i++) offsets.push(at);
    const worker = async () => {
      for (let i = next++; i < plan.parts.length; i = next++) {
        const part = plan.parts[i] as (typeof plan.parts)[number];
        const start = offsets[i] as number;
        const etag = await put(part.url, options.file, start, start + part.size, count);
        parts?.push({ partNumber: part.partNumber, etag });
      }
    };
    await Promise.all(Array.from({ length: Math.min(options.parallel ?? 4, plan.parts.length) }, worker));
    parts.sort((a, b) => a.partNumber - b.partNumber);
  }
  bar.done(`${formatBytes(size)}${parts === undefined ? '' : ` in ${parts.length} parts`}`);
  out.write(registry === 'models' ? 'checking and signing…\n' : 'verifying and signing…\n');
  return api.call(
    'POST',
    `${registry}/${encodeURIComponent(options.version)}/complete`,
    parts === undefined ? {} : { parts },
  );
}
