import { describe, expect, it } from 'vitest';
import { compileRoutes, matchRoute } from '../../../lib/local/http-routes.ts';
import type { RouteKey } from '../../../lib/topology/model.ts';

// Parameter routes are listed before the literals they compete with, so order of declaration cannot
// be what makes the literal win.
const routeKeys: RouteKey[] = [
  'GET /devices/{id}',
  'GET /devices/search',
  'GET /devices',
  'POST /devices',
  'GET /devices/{id}/shadow/{name}',
  'GET /files/{proxy+}',
  'GET /files/{id}',
  'GET /v1.0/items',
];
const routes = compileRoutes(routeKeys.map((routeKey) => ({ routeKey, target: routeKey })));

describe('matchRoute', () => {
  it.each<[string, string, string, RouteKey, Record<string, string>]>([
    ['an exact literal', 'GET', '/devices', 'GET /devices', {}],
    ['a literal over a parameter', 'GET', '/devices/search', 'GET /devices/search', {}],
    ['a parameter for one segment', 'GET', '/devices/abc', 'GET /devices/{id}', { id: 'abc' }],
    [
      'two parameters',
      'GET',
      '/devices/A/shadow/cfg',
      'GET /devices/{id}/shadow/{name}',
      { id: 'A', name: 'cfg' },
    ],
    ['the method, among routes with the same path', 'POST', '/devices', 'POST /devices', {}],
    [
      'a greedy parameter over several segments',
      'GET',
      '/files/a/b/c.bin',
      'GET /files/{proxy+}',
      { proxy: 'a/b/c.bin' },
    ],
    ['a one-segment parameter over a greedy one', 'GET', '/files/c.bin', 'GET /files/{id}', { id: 'c.bin' }],
    ['a percent-decoded parameter', 'GET', '/devices/dev%3A01', 'GET /devices/{id}', { id: 'dev:01' }],
    ['a percent-decoded space', 'GET', '/devices/my%20dev', 'GET /devices/{id}', { id: 'my dev' }],
    ['percent-decoded UTF-8', 'GET', '/devices/Z%C3%BCrich', 'GET /devices/{id}', { id: 'Zürich' }],
    [
      'a percent-decoded greedy parameter',
      'GET',
      '/files/a%20b/c',
      'GET /files/{proxy+}',
      { proxy: 'a b/c' },
    ],
    ['a literal with a regex character', 'GET', '/v1.0/items', 'GET /v1.0/items', {}],
  ])('finds %s', (_rule, method, path, routeKey, pathParameters) => {
    // Act
    const match = matchRoute(routes, method, path);

    // Assess
    expect(match?.route.routeKey).toBe(routeKey);
    expect(match?.route.target).toBe(routeKey);
    expect(match?.pathParameters).toStrictEqual(pathParameters);
  });

  it.each<[string, string, string]>([
    ['a method no route has for the path', 'DELETE', '/devices'],
    ['a method mismatch on a parameter route', 'POST', '/devices/abc'],
    ['lower-case method', 'get', '/devices'],
    ['a one-segment parameter asked to span two', 'GET', '/devices/a/b'],
    ['an empty parameter', 'GET', '/devices//shadow/cfg'],
    ['a trailing slash', 'GET', '/devices/'],
    ['a greedy parameter with nothing to take', 'GET', '/files/'],
    ['a bad percent-encoding', 'GET', '/devices/%E0%A4%A'],
    ['a percent sign with no hex digits', 'GET', '/devices/100%'],
    ['a bad percent-encoding in a greedy parameter', 'GET', '/files/a/%ZZ'],
    ['a regex character taken literally', 'GET', '/v1x0/items'],
    ['an unknown path', 'GET', '/unknown'],
    ['a longer path than any route', 'GET', '/devices/A/shadow/cfg/extra'],
  ])('finds nothing for %s', (_rule, method, path) => {
    expect(matchRoute(routes, method, path)).toBeUndefined();
  });
});

describe('compileRoutes', () => {
  it('records each route’s parameter names in order', () => {
    // Act
    const [compiled] = compileRoutes([{ routeKey: 'GET /a/{first}/b/{second+}', target: 1 }]);

    // Assess
    expect(compiled).toMatchObject({ method: 'GET', params: ['first', 'second'], target: 1 });
  });
});
