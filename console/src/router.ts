import { useEffect, useState } from 'preact/hooks';

/** A page of the console and its parameters, from the location's hash (`#/devices/sim-0001`). */
export interface Route {
  readonly page:
    | 'fleet'
    | 'devices'
    | 'device'
    | 'firmware'
    | 'rollouts'
    | 'rollout-new'
    | 'rollout'
    | 'faults';
  readonly id?: string;
  readonly query: URLSearchParams;
}

/**
 * Hash routes: the static site has one file to serve whatever the page (S3 and CloudFront need no
 * rewrite rules), and the local gateway serves it at one path.
 */
export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#\/?/, '').split('?');
  const query = new URLSearchParams(search);
  const [first = '', second] = path.split('/').map((part) => decodeURIComponent(part));
  switch (first) {
    case 'devices':
      return second === undefined || second === ''
        ? { page: 'devices', query }
        : { page: 'device', id: second, query };
    case 'firmware':
      return { page: 'firmware', query };
    case 'rollouts':
      if (second === 'new') return { page: 'rollout-new', query };
      return second === undefined || second === ''
        ? { page: 'rollouts', query }
        : { page: 'rollout', id: second, query };
    case 'faults':
      return { page: 'faults', query };
    default:
      return { page: 'fleet', query };
  }
}

/** The current route, following hash changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

/** A link target for a route path (`devices/sim-0001`). */
export const href = (path: string) => `#/${path}`;
