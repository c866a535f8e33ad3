import { createRequire } from 'node:module';
import S3rver from 's3rver';
import type { AccessKey } from './credentials.ts';
import { allowedHostnames, hostAllowed } from './endpoint-guard.ts';

/** The embedded S3 API (s3rver), objects kept under `directory`. */
export interface LocalS3 {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** The access key id a request names: SigV4 or V2 `Authorization`, or a presigned URL's query. */
export function accessKeyIdOf(authorization: string, url: URL): string | undefined {
  const fromHeader =
    /Credential=([^/,\s]+)\//.exec(authorization)?.[1] ?? /^AWS ([^:\s]+):/.exec(authorization)?.[1];
  return (
    fromHeader ??
    url.searchParams.get('X-Amz-Credential')?.split('/')[0] ??
    url.searchParams.get('AWSAccessKeyId') ??
    undefined
  );
}

/**
 * The buckets' CORS rules: the console (served by the gateway on a loopback origin, any port) uploads
 * firmware with the presigned PUT the API hands it, and a browser asks first (a preflight, which carries
 * the presigned query and so passes the key check below). Presigned GETs are for devices, not pages.
 */
const CONSOLE_CORS = `<CORSConfiguration><CORSRule>${[
  'http://127.0.0.1:*',
  'http://localhost:*',
  'http://[::1]:*',
]
  .map((origin) => `<AllowedOrigin>${origin}</AllowedOrigin>`)
  .join(
    '',
  )}<AllowedMethod>PUT</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>`;

const accessDenied = (message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`;

/**
 * Starts s3rver on loopback with the given buckets. Clients must use path-style addressing and
 * `requestChecksumCalculation: 'WHEN_REQUIRED'` (s3rver predates the SDK's default checksums).
 *
 * s3rver 3.7 verifies no SigV4 signature: it only looks the access key id up, and serves a request that
 * carries none at all (`lib/middleware/authentication.js`). In front of it, what can be checked cheaply is:
 * a `Host` that is its own (a page that rebinds its DNS name to 127.0.0.1 is refused), and an access key
 * id that is one of `accessKeys` — not s3rver's public built-in `S3RVER`, not none (a web page's form
 * upload, an unsigned curl). Both refusals are 403 AccessDenied. A caller that knows a key id still gets
 * in with any signature: see the README.
 */
export async function startS3(options: {
  directory: string;
  buckets: readonly string[];
  /** The key pairs requests may name (the operator's, the functions'). */
  accessKeys: readonly AccessKey[];
  host?: string;
  port?: number;
}): Promise<LocalS3> {
  const host = options.host ?? '127.0.0.1';
  const server = new S3rver({
    address: host,
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    vhostBuckets: false,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [CONSOLE_CORS] })),
  });
  registerKeys(options.accessKeys);
  const allowed = allowedHostnames(host);
  const known = new Set(options.accessKeys.map((key) => key.accessKeyId));
  server.middleware.unshift(async (ctx, next) => {
    const refusal = !hostAllowed(ctx.get('host'), allowed)
      ? 'Host is not a name this endpoint answers to'
      : known.has(accessKeyIdOf(ctx.get('authorization'), new URL(ctx.url, 'http://s3.invalid')) ?? '')
        ? undefined
        : 'the request names no access key of this platform';
    if (refusal === undefined) return next();
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.body = accessDenied(refusal);
  });
  const address = await server.run();
  return { endpoint: `http://${host}:${address.port}`, close: () => server.close() };
}

/** Registers key pairs with s3rver, which otherwise answers InvalidAccessKeyId to any key but `S3RVER`. */
function registerKeys(keys: readonly AccessKey[]): void {
  const { DUMMY_ACCOUNT } = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
  };
  for (const key of keys) DUMMY_ACCOUNT.createKeyPair(key.accessKeyId, key.secretAccessKey);
}
