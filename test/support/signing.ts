import type { AccessKey } from '../../lib/local/credentials.ts';
import { LOCAL_REGION } from '../../lib/local/names.ts';
import type { Platform } from '../../lib/local/platform.ts';
import { signRequest } from '../../lib/local/sigv4.ts';

/** A request to a local endpoint: a JSON `body` is sent as `application/json`. */
export interface SignedRequest {
  readonly method?: string;
  readonly body?: string | Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
  /** SigV4 signing name. @default 'execute-api' */
  readonly service?: string;
  /** @default the platform's operator credentials */
  readonly credentials?: AccessKey;
}

/**
 * The one place tests sign requests to the local platform: SigV4 as the CLI and the SDKs sign, with the
 * operator's credentials unless told otherwise. `url` is absolute, or a path of the HTTP API.
 */
export async function signedFetch(
  platform: Platform,
  url: string,
  request: SignedRequest = {},
): Promise<Response> {
  const target = new URL(url, `${platform.gatewayUrl}/`);
  const method = request.method ?? 'GET';
  const headers = {
    ...(request.body === undefined ? {} : { 'content-type': 'application/json' }),
    ...request.headers,
  };
  const signed = await signRequest(
    { method, url: target, headers, ...(request.body === undefined ? {} : { body: request.body }) },
    {
      service: request.service ?? 'execute-api',
      region: LOCAL_REGION,
      credentials: request.credentials ?? platform.credentials,
    },
  );
  // `host` is signed; fetch sets the same value itself and refuses to be given it.
  const { host: _host, ...sent } = signed;
  return fetch(target, {
    method,
    headers: sent,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
}
