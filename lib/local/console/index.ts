import type { AccessKey } from '../credentials.ts';
import type { LocalPrincipals } from '../principals.ts';
import { type LocalConsole, localConsole } from './server.ts';
import { consoleSessions } from './sessions.ts';

export { CONSOLE_PATH, type LocalConsole } from './server.ts';

/** The console of the local platform, and the principals its HTTP API accepts (the console's sessions too). */
export interface ConsoleSetup {
  readonly site: LocalConsole;
  /** `principals` plus the console's session keys: for the HTTP API's guard only. */
  readonly apiPrincipals: LocalPrincipals;
}

/** Sets up the console's sessions and site for the local gateway. */
export function setUpConsole(options: {
  readonly operator: AccessKey;
  readonly principals: LocalPrincipals;
  readonly region: string;
  /** Origins the page may call besides its own: the S3 endpoint of presigned uploads. */
  readonly connectSources: readonly string[];
  /** The HTTP API's routes (the gateway's), when the page asks for its settings. */
  readonly routes: () => readonly string[];
}): ConsoleSetup {
  const sessions = consoleSessions({ operator: options.operator, region: options.region });
  return {
    site: localConsole({
      sessions,
      region: options.region,
      connectSources: options.connectSources,
      routes: options.routes,
    }),
    apiPrincipals: {
      ...options.principals,
      lookup: (accessKeyId) => sessions.lookup(accessKeyId) ?? options.principals.lookup(accessKeyId),
    },
  };
}

/** The URL a browser opens for a gateway listening at `gatewayUrl` (a wildcard address is not one to open). */
export function browsableUrl(gatewayUrl: string): string {
  const url = new URL(gatewayUrl);
  if (url.hostname === '0.0.0.0' || url.hostname === '[::]') url.hostname = '127.0.0.1';
  return url.origin;
}
