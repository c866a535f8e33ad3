import { get } from '../api/client.ts';
import { ErrorBox, Loading } from '../components/layout.tsx';
import { ago } from '../format.ts';
import { usePoll } from '../hooks.ts';
import { href } from '../router.ts';

interface RolloutSummary {
  readonly rolloutId: string;
  readonly status: string;
  readonly statusReason?: string;
  readonly firmwareVersion: string;
  readonly description?: string;
  readonly planned: number;
  readonly waves: number;
  readonly currentWave: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

const seconds = (t: number) => (t < 1e12 ? t * 1000 : t);

/** Rollouts, newest first, and the way to start one. */
export function RolloutsPage() {
  const list = usePoll(() => get<{ rollouts: RolloutSummary[] }>('/rollouts', { limit: 100 }), 'rollouts');
  const rollouts = [...(list.data?.rollouts ?? [])].sort((a, b) => b.createdAt - a.createdAt);
  return (
    <>
      <h1>Rollouts</h1>
      <p>
        <a class="button" href={href('rollouts/new')} id="new-rollout">
          New rollout
        </a>
      </p>
      <ErrorBox error={list.error} what="rollouts" />
      {list.data === undefined ? (
        <Loading />
      ) : rollouts.length === 0 ? (
        <p class="muted">No rollouts yet.</p>
      ) : (
        <div class="table-wrap">
          <table id="rollout-list">
            <thead>
              <tr>
                <th>rollout</th>
                <th>firmware</th>
                <th>status</th>
                <th>devices</th>
                <th>wave</th>
                <th>created</th>
              </tr>
            </thead>
            <tbody>
              {rollouts.map((r) => (
                <tr key={r.rolloutId}>
                  <td>
                    <a href={href(`rollouts/${encodeURIComponent(r.rolloutId)}`)}>{r.rolloutId}</a>
                    {r.description !== undefined && <div class="muted">{r.description}</div>}
                  </td>
                  <td>{r.firmwareVersion}</td>
                  <td>
                    <span class={`badge ${r.status}`}>{r.status}</span>
                  </td>
                  <td>{r.planned}</td>
                  <td>
                    {Math.min(r.currentWave + 1, r.waves)} of {r.waves}
                  </td>
                  <td>{ago(seconds(r.createdAt))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
