import { createRequire } from 'node:module';
import S3rver from 's3rver';
import { LOCAL_CREDENTIALS } from './names.ts';

/** The embedded S3 API (s3rver), objects kept under `directory`. */
export interface LocalS3 {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts s3rver on loopback with the given buckets. Clients must use path-style addressing and
 * `requestChecksumCalculation: 'WHEN_REQUIRED'` (s3rver predates the SDK's default checksums).
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
  const address = await server.run();
  return { endpoint: `http://${host}:${address.port}`, close: () => server.close() };
}

/**
 * Registers the platform's local credentials with s3rver, which otherwise answers InvalidAccessKeyId to
 * any key but its built-in `S3RVER` (it checks the key exists; it does not check SigV4 signatures).
 */
export function acceptLocalCredentials(): void {
  const { DUMMY_ACCOUNT } = createRequire(import.meta.url)('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair(accessKeyId: string, secretAccessKey: string): void };
  };
  DUMMY_ACCOUNT.createKeyPair(LOCAL_CREDENTIALS.accessKeyId, LOCAL_CREDENTIALS.secretAccessKey);
}
