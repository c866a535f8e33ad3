import { createHash, createHmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ApiOptions } from './api.ts';

/** SHA-256 (and HMAC-SHA-256 with a secret) as SignatureV4 wants it, on node:crypto. */
type Source = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: Source) =>
  typeof data === 'string'
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);

export class Sha256 {
  private readonly hash;
  constructor(secret?: Source) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: Source): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

/**
 * Signs HTTP API requests with SigV4 for `execute-api` (the deployed HTTP API uses IAM authorization),
 * with the credentials the AWS CLI and SDKs find (env, profile, SSO, instance role).
 */
export function sigV4Signer(region: string): NonNullable<ApiOptions['sign']> {
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    credentials: defaultProvider(),
    sha256: Sha256,
  });
  return async ({ method, url, headers, body }) => {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      ...(body === undefined ? {} : { body }),
    });
    return signed.headers as Record<string, string>;
  };
}
