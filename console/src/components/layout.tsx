import type { ComponentChildren } from 'preact';
import { href, type Route } from '../router.ts';

const NAV: ReadonlyArray<{ path: string; label: string; pages: Route['page'][] }> = [
  { path: '', label: 'Fleet', pages: ['fleet'] },
  { path: 'devices', label: 'Devices', pages: ['devices', 'device'] },
  { path: 'firmware', label: 'Firmware & models', pages: ['firmware'] },
  { path: 'rollouts', label: 'Rollouts', pages: ['rollouts', 'rollout', 'rollout-new'] },
  { path: 'faults', label: 'Faults', pages: ['faults'] },
];

/** The frame of every page: the navigation (a row that wraps on a phone) and the page. */
export function Layout(props: { route: Route; onSignOut: () => void; children: ComponentChildren }) {
  return (
    <>
      <header class="top">
        <a class="brand" href={href('')}>
          fleetkit
        </a>
        <nav>
          {NAV.map((item) => (
            <a
              key={item.path}
              href={href(item.path)}
              aria-current={item.pages.includes(props.route.page) ? 'page' : undefined}
            >
              {item.label}
            </a>
          ))}
        </nav>
        <button type="button" class="link" onClick={props.onSignOut}>
          Sign out
        </button>
      </header>
      <main>{props.children}</main>
    </>
  );
}

/** A titled section of a page. */
export function Card(props: { title: string; children: ComponentChildren; class?: string; id?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`} id={props.id}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** An error as the user should read it: the API's code and message, and the fields at fault. */
export function ErrorBox(props: { error: Error | undefined; what?: string }) {
  if (props.error === undefined) return null;
  const { code, body } = props.error as Error & {
    code?: string;
    body?: { issues?: { field: string; reason: string }[] };
  };
  const issues = (body?.issues ?? []).map((issue) => `${issue.field}: ${issue.reason}`);
  return (
    <div class="error" role="alert">
      {props.what === undefined ? '' : `${props.what}: `}
      {code === undefined ? '' : <strong>{code} </strong>}
      {props.error.message}
      {issues.length > 0 && (
        <ul>
          {issues.map((issue) => (
            <li key={issue}>{issue}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Shown while a page's first answer is on its way. */
export const Loading = () => <p class="muted">Loading…</p>;
