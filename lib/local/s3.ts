import { createRequire } from 'node:module';
import S3rver from 's3rver';
import type { AccessKey } from './credentials.ts';
import { allowedHostnames, hostAllowed } from './endpoint-guard.ts';

/** The embedded S3 API (s3rver), objects kept under `directory`. */
export interface LocalS3 {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts s3rver on loopback with the given buckets. Clients must use path-style addressing and
 * `requestChecksumCalculation: 'WHEN_REQUIRED'` (s3rver predates the SDK's default checksums). A
 * request whose `Host` is not loopback (or `host`) is refused with 403 AccessDenied.
 */
export async function startS3(options: {
  directory: string;
  buckets: readonly string[];
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
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  // s3rver checks no signature (see acceptCredentials); it can at least refuse a Host that is not its own,
  // so a web page that rebinds its DNS name to 127.0.0.1 cannot read or write objects (DNS rebinding).
  const allowed = allowedHostnames(host);
  server.middleware.unshift(async (ctx, next) => {
    if (hostAllowed(ctx.get('host'), allowed)) return next();
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>' +
      '<Message>Host is not a name this endpoint answers to</Message></Error>';
  });
  const address = await server.run();
  return { endpoint: `http://${host}:${address.port}`, close: () => server.close() };
}

/**
 * Registers the platform's key pairs with s3rver, which otherwise answers InvalidAccessKeyId to any key
 * but its built-in `S3RVER`. s3rver 3.7 checks only that a SigV4 request's key exists: it does not
 * verify SigV4 signatures, and it serves requests without any signature (`lib/middleware/authentication.js`),
 * so the S3 endpoint is protected by listening on loopback only — see the README.
 */
export function acceptCredentials(keys: readonly AccessKey[]): void {
  const { DUMMY_ACCOUNT } = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
  };
  for (const key of keys) DUMMY_ACCOUNT.createKeyPair(key.accessKeyId, key.secretAccessKey);
}
