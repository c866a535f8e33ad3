/**
 * How the console reaches its API, from `config.json` next to the page: the local platform serves
 * `{mode: 'local'}` (the API is the page's own origin, sign-in by a one-time link); the deployed static
 * site carries what Cognito sign-in needs and the HTTP API's URL.
 */
export type ConsoleConfig = (
  | { readonly mode: 'local'; readonly region: string; readonly apiUrl?: string }
  | {
      readonly mode: 'aws';
      readonly region: string;
      readonly apiUrl: string;
      readonly userPoolClientId: string;
      /** The user pool's managed login domain: `https://<prefix>.auth.<region>.amazoncognito.com`. */
      readonly cognitoDomain: string;
      readonly userPoolProviderName: string;
      readonly identityPoolId: string;
    }
) & {
  /** The API's routes (`GET /devices/{id}`): what the pages may offer. */
  readonly routes?: readonly string[];
};

/** Reads `config.json` beside the page. */
export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return (await response.json()) as ConsoleConfig;
}

/** The API's base URL, without a trailing slash. */
export function apiBase(config: ConsoleConfig): string {
  const base = config.apiUrl ?? location.origin;
  return base.endsWith('/') ? base.slice(0, -1) : base;
}
