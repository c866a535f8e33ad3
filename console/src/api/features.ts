/**
 * The routes the API behind this console has, from `config.json` (the local gateway lists its own; the
 * deployed site's config is written from the topology at deploy). Pages offer what the API can do —
 * commands, models, fault injection — and never call a route that is not there.
 */
let routes: ReadonlySet<string> = new Set();

export function setRoutes(list: readonly string[] | undefined): void {
  routes = new Set(list ?? []);
}

/** Has the API this route (`GET /devices/{id}/commands`, as the topology writes it)? */
export function hasRoute(routeKey: string): boolean {
  return routes.has(routeKey);
}
