import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { readLocalCredentials } from '../local/credentials.ts';
import { LOCAL_REGION } from '../local/names.ts';
import { type SigningCredentials, signRequest } from '../local/sigv4.ts';
import type { ApiOptions } from './api.ts';

export { Sha256 } from '../local/sigv4.ts';

/** The SigV4 signing name of API Gateway, which the HTTP API's IAM authorization checks. */
const EXECUTE_API = 'execute-api';

function signerWith(region: string, credentials: SigningCredentials): NonNullable<ApiOptions['sign']> {
  return async ({ method, url, headers, body }) =>
    signRequest(
      { method, url, headers, ...(body === undefined ? {} : { body }) },
      { service: EXECUTE_API, region, credentials },
    );
}

/**
 * Signs HTTP API requests with SigV4 for `execute-api` (the deployed HTTP API uses IAM authorization),
 * with the credentials the AWS CLI and SDKs find (env, profile, SSO, instance role).
 */
export function sigV4Signer(region: string): NonNullable<ApiOptions['sign']> {
  return signerWith(region, defaultProvider());
}

/**
 * Signs requests to the local platform's HTTP API with its operator credentials, read from
 * `<dataDir>/credentials` at the first request (so `--help` and usage errors need no platform).
 */
export function localSigner(dataDir: string): NonNullable<ApiOptions['sign']> {
  return signerWith(LOCAL_REGION, () => readLocalCredentials(dataDir));
}
