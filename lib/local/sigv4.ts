import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** Credentials, or a provider of them (the SDK's default chain), as SignatureV4 takes them. */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

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

/** Lower-case hex SHA-256 of a body: the value of `x-amz-content-sha256`. */
export function payloadHash(body: string | Uint8Array | undefined): string {
  return createHash('sha256')
    .update(body ?? '')
    .digest('hex');
}

/**
 * A query string as SigV4's canonical query wants it: decoded names and values, a name given several
 * times as a list (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html).
 */
export function signableQuery(params: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of params) {
    const seen = query[name];
    query[name] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return query;
}

/** An HTTP request about to be sent, as a signer sees it. */
export interface RequestToSign {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

/**
 * Signs a request with SigV4 for `service` in `region`: returns its headers with `host`, `x-amz-date`,
 * `x-amz-content-sha256` and `authorization` added. The path is signed as it goes on the wire
 * (`url.pathname`, already percent-encoded), so the receiver sees what was signed.
 */
export async function signRequest(
  request: RequestToSign,
  options: {
    readonly service: string;
    readonly region: string;
    readonly credentials: SigningCredentials;
    readonly signingDate?: Date;
  },
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: options.service,
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const { url } = request;
  const toSign = {
    method: request.method,
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port === '' ? {} : { port: Number(url.port) }),
    path: url.pathname,
    query: signableQuery(url.searchParams),
    headers: { ...request.headers, host: url.host },
    ...(request.body === undefined ? {} : { body: request.body }),
  };
  const signed = await signer.sign(toSign, options.signingDate ? { signingDate: options.signingDate } : {});
  return signed.headers as Record<string, string>;
}
