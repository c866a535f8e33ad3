import type { RouteKey } from '../topology/model.ts';

/** A route key compiled for matching: `GET /devices/{id}` → method, pattern, parameter names. */
export interface CompiledRoute<T> {
  readonly routeKey: RouteKey;
  readonly method: string;
  readonly pattern: RegExp;
  readonly params: readonly string[];
  readonly target: T;
}

/** Compiles route keys; `{name}` matches one path segment, `{name+}` (greedy) the rest. */
export function compileRoutes<T>(
  routes: ReadonlyArray<{ routeKey: RouteKey; target: T }>,
): CompiledRoute<T>[] {
  const compiled = routes.map(({ routeKey, target }) => {
    const space = routeKey.indexOf(' ');
    const method = routeKey.slice(0, space);
    const path = routeKey.slice(space + 1);
    const params: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        const param = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(segment);
        if (param === null) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        params.push(param[1] ?? '');
        return param[2] === '+' ? '(.+)' : '([^/]+)';
      })
      .join('/');
    return { routeKey, method, pattern: new RegExp(`^${source}$`), params, target };
  });
  // API Gateway prefers the most specific route: fewer parameters first, then greedy ones last.
  const weight = (r: CompiledRoute<T>) => r.params.length * 10 + (r.pattern.source.includes('(.+)') ? 5 : 0);
  return compiled.sort((a, b) => weight(a) - weight(b));
}

/** Finds the route for a request, with its decoded path parameters. */
export function matchRoute<T>(
  routes: readonly CompiledRoute<T>[],
  method: string,
  path: string,
): { route: CompiledRoute<T>; pathParameters: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method && route.method !== 'ANY') continue;
    const match = route.pattern.exec(path);
    if (match === null) continue;
    const pathParameters: Record<string, string> = {};
    try {
      route.params.forEach((name, i) => {
        pathParameters[name] = decodeURIComponent(match[i + 1] ?? '');
      });
    } catch {
      continue;
    }
    return { route, pathParameters };
  }
  return undefined;
}
