import type { ConsoleConfig } from './config.ts';
import { type Credentials, SignInError } from './session.ts';

type AwsConfig = Extract<ConsoleConfig, { mode: 'aws' }>;

const PKCE_KEY = 'fleetkit.pkce';

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** The page's own address, which the user pool client lists as its callback. */
const redirectUri = () => `${location.origin}${location.pathname}`;

/**
 * Sends the browser to the user pool's managed login with the authorization code flow and PKCE
 * (RFC 7636): no client secret in the page, and a code intercepted on the way back is useless without
 * the verifier kept in this tab.
 */
export async function startCognitoSignIn(config: AwsConfig): Promise<never> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: config.userPoolClientId,
    redirect_uri: redirectUri(),
    scope: 'openid email',
    code_challenge_method: 'S256',
    code_challenge: challenge,
    state,
  });
  location.assign(`${config.cognitoDomain}/oauth2/authorize?${query}`);
  return new Promise<never>(() => {});
}

async function identityCall<T>(config: AwsConfig, target: string, body: unknown): Promise<T> {
  const response = await fetch(`https://cognito-identity.${config.region}.amazonaws.com/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `AWSCognitoIdentityService.${target}`,
    },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as T & { message?: string };
  if (!response.ok) throw new SignInError(`Cognito ${target}: ${answer.message ?? response.status}`);
  return answer;
}

/**
 * Finishes the sign-in on the way back from the managed login (`?code=&state=`): the code and the
 * verifier for an ID token (the token endpoint), then the ID token for an identity of the identity pool
 * and its temporary IAM credentials (GetId, GetCredentialsForIdentity), whose role may call the HTTP API.
 */
export async function completeCognitoSignIn(
  config: AwsConfig,
  code: string,
  state: string,
): Promise<Credentials> {
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? '{}') as { verifier?: string; state?: string };
  sessionStorage.removeItem(PKCE_KEY);
  if (saved.verifier === undefined || saved.state !== state)
    throw new SignInError('the sign-in answer does not match a sign-in started in this tab; sign in again');
  const tokenResponse = await fetch(`${config.cognitoDomain}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: config.userPoolClientId,
      code,
      redirect_uri: redirectUri(),
      code_verifier: saved.verifier,
    }),
  });
  const tokens = (await tokenResponse.json()) as { id_token?: string; error?: string };
  if (tokens.id_token === undefined)
    throw new SignInError(`sign-in refused: ${tokens.error ?? tokenResponse.status}`);
  const logins = { [config.userPoolProviderName]: tokens.id_token };
  const { IdentityId } = await identityCall<{ IdentityId: string }>(config, 'GetId', {
    IdentityPoolId: config.identityPoolId,
    Logins: logins,
  });
  const { Credentials: c } = await identityCall<{
    Credentials: { AccessKeyId: string; SecretKey: string; SessionToken: string; Expiration: number };
  }>(config, 'GetCredentialsForIdentity', { IdentityId, Logins: logins });
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretKey,
    sessionToken: c.SessionToken,
    expiration: new Date(c.Expiration * 1000).toISOString(),
  };
}
