import { AwsClient } from 'aws4fetch';
import { ApiError } from '../../../lib/cli/api.ts';
import { apiBase, type ConsoleConfig } from './config.ts';
import type { Credentials } from './session.ts';

export { ApiError } from '../../../lib/cli/api.ts';

/** Signature refusals that mean the credentials are gone: sign in again. */
const EXPIRED = new Set([
  'InvalidClientTokenId',
  'ExpiredToken',
  'RequestExpired',
  'UnrecognizedClientException',
]);

let client: AwsClient | undefined;
let base = '';
let onExpired: () => void = () => {};

/** Signs every later call with `credentials` (SigV4, service `execute-api`), as the API's IAM auth wants. */
export function connect(config: ConsoleConfig, credentials: Credentials, expired: () => void): void {
  client = new AwsClient({
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    ...(credentials.sessionToken === undefined ? {} : { sessionToken: credentials.sessionToken }),
    service: 'execute-api',
    region: config.region,
    retries: 0,
  });
  base = apiBase(config);
  onExpired = expired;
}

/** One signed JSON call to the HTTP API; throws {@link ApiError} for anything but 2xx. */
export async function call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  if (client === undefined) throw new ApiError(0, 'NotSignedIn', 'not signed in', undefined);
  let response: Response;
  try {
    response = await client.fetch(`${base}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    throw new ApiError(0, 'Unreachable', `cannot reach the API: ${(error as Error).message}`, undefined);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (response.ok) return parsed as T;
  const error = (parsed ?? {}) as { code?: string; message?: string; Message?: string };
  const code =
    error.code ?? response.headers.get('x-amzn-errortype')?.split(':')[0] ?? `HTTP${response.status}`;
  if (response.status === 403 && EXPIRED.has(code)) onExpired();
  throw new ApiError(response.status, code, error.message ?? error.Message ?? text, parsed);
}

/** `GET`, with a query built from the defined values of `query`. */
export function get<T = unknown>(
  path: string,
  query: Record<string, string | number | undefined> = {},
): Promise<T> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(name, String(value));
  const search = params.toString();
  return call<T>('GET', search === '' ? path : `${path}?${search}`);
}

export const post = <T = unknown>(path: string, body: unknown = {}) => call<T>('POST', path, body);
