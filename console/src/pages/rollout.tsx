import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, post } from '../api/client.ts';
import type { Rollout, RolloutWave } from '../api/types.ts';
import { Progress } from '../components/bars.tsx';
import { COLORS, TimeChart } from '../components/chart.tsx';
import { Card, ErrorBox, Loading } from '../components/layout.tsx';
import { useAction, usePoll } from '../hooks.ts';
import { href } from '../router.ts';
import { HealthGateView } from './health-gate.tsx';
import { SKIP_WORDS } from './rollout-form.ts';
import { planningState, rolloutPollMs } from './rollout-planning.ts';

/** Each wave's succeeded share, as this tab saw it over time (kept per rollout across page changes). */
const history = new Map<string, { t: number; succeeded: number[] }[]>();

// A rollout still PLANNING can be paused, canceled or rolled back (pilot devices may have the image).
const COMMANDS = [
  { name: 'pause', label: 'Pause', when: ['PLANNING', 'SCHEDULED', 'IN_PROGRESS'] },
  { name: 'resume', label: 'Resume', when: ['PAUSED'] },
  {
    name: 'cancel',
    label: 'Cancel',
    when: ['PLANNING', 'SCHEDULED', 'IN_PROGRESS', 'PAUSED'],
    confirm: true,
  },
  {
    name: 'rollback',
    label: 'Roll back',
    when: ['PLANNING', 'IN_PROGRESS', 'PAUSED', 'COMPLETED', 'CANCELED'],
    confirm: true,
  },
] as const;

function WaveRow(props: { wave: RolloutWave; current: boolean }) {
  const w = props.wave;
  const counts = Object.entries(w.byStatus ?? {}).filter(([, n]) => n > 0);
  return (
    <li class={props.current ? 'current' : ''} data-wave={w.wave}>
      <div class="wave-head">
        <strong>Wave {w.wave + 1}</strong>
        {w.control === true && ' (control cohort)'} — {w.notified} of {w.planned} notified,{' '}
        {w.succeededPercent} % succeeded{w.failedPercent > 0 ? `, ${w.failedPercent} % failed` : ''}
      </div>
      <Progress
        value={w.byStatus?.SUCCEEDED ?? 0}
        max={w.planned}
        label={`${w.byStatus?.SUCCEEDED ?? 0} of ${w.planned} updated`}
      />
      {counts.length > 0 && (
        <div class="muted">{counts.map(([status, n]) => `${status} ${n}`).join(' · ')}</div>
      )}
    </li>
  );
}

/** Planning under way (a bar of the registry segments read), or why it found nothing to roll out. */
function PlanningView(props: { rollout: Rollout }) {
  const state = planningState(props.rollout);
  if (state.kind === 'refused')
    return (
      <div class="error" role="alert" id="planning-error">
        Planning found nothing to roll out: <strong>{state.code} </strong>
        {state.message}
      </div>
    );
  if (state.kind !== 'planning') return null;
  return (
    <Card title="Planning" id="planning">
      <Progress value={Math.round(state.fraction * 100)} max={100} label={state.text} />
    </Card>
  );
}

/** One rollout, live: waves with their progress plotted, the operator's commands and the health gate. */
export function RolloutPage(props: { rolloutId: string }) {
  const id = encodeURIComponent(props.rolloutId);
  const [pollMs, setPollMs] = useState(rolloutPollMs(undefined));
  const rollout = usePoll(() => get<Rollout>(`/rollouts/${id}`), `rollout:${id}`, pollMs);
  const [confirming, setConfirming] = useState<string | undefined>(undefined);
  const command = useAction(async (name: string) => {
    setConfirming(undefined);
    await post(`/rollouts/${id}/${name}`, {});
    rollout.refresh();
  });
  const r = rollout.data;
  // Planning takes seconds: followed closely, as the CLI's planning bar does, then at the usual pace.
  useEffect(() => setPollMs(rolloutPollMs(r)), [r]);

  // Recorded while rendering (an effect runs after it, so the chart drew one answer behind and, once a
  // finished rollout stopped changing, never showed its last state).
  useMemo(() => {
    if (r === undefined) return;
    const points = history.get(r.rolloutId) ?? [];
    points.push({
      t: Date.now(),
      succeeded: r.waves.map((w) => (w.planned > 0 ? (100 * (w.byStatus?.SUCCEEDED ?? 0)) / w.planned : 0)),
    });
    if (points.length > 1000) points.shift();
    history.set(r.rolloutId, points);
  }, [r]);

  if (r === undefined)
    return (
      <>
        <h1>{props.rolloutId}</h1>
        <ErrorBox error={rollout.error} what="rollout" />
        {rollout.error === undefined && <Loading />}
      </>
    );
  const points = history.get(r.rolloutId) ?? [];
  const gate = r.request?.healthGate;
  const skipped = Object.entries(r.selection?.skipped ?? {}).filter(([, n]) => n > 0);
  const planning = planningState(r).kind === 'planning';

  return (
    <>
      <p class="crumbs">
        <a href={href('rollouts')}>Rollouts</a> /
      </p>
      <h1>
        {r.rolloutId}{' '}
        <span class={`badge ${r.status}`} id="rollout-status">
          {r.status}
        </span>
      </h1>
      <p>
        Firmware <strong>{r.request?.firmwareVersion}</strong>
        {r.request?.description !== undefined && ` — ${r.request.description}`}
        {r.statusReason !== undefined && <span class="muted"> ({r.statusReason})</span>}
      </p>
      <div class="actions" id="rollout-actions">
        {COMMANDS.filter((c) => (c.when as readonly string[]).includes(r.status)).map((c) =>
          'confirm' in c && confirming !== c.name ? (
            <button type="button" class="secondary" key={c.name} onClick={() => setConfirming(c.name)}>
              {c.label}…
            </button>
          ) : (
            <button
              type="button"
              key={c.name}
              disabled={command.busy}
              onClick={() => void command.run(c.name)}
            >
              {'confirm' in c ? `Yes, ${c.label.toLowerCase()}` : c.label}
            </button>
          ),
        )}
      </div>
      <ErrorBox error={command.error} what="command" />
      <ErrorBox error={rollout.error} what="rollout" />
      <PlanningView rollout={r} />
      {r.waitingOnHealth !== undefined && <p class="warn">Waiting on the health gate: {r.waitingOnHealth}</p>}
      {r.waitingOnPacing !== undefined && Object.values(r.waitingOnPacing).some((n) => n > 0) && (
        <p class="warn">
          Held back by pacing:{' '}
          {Object.entries(r.waitingOnPacing)
            .map(([why, n]) => `${n} (${why === 'lowSignal' ? 'weak signal' : 'low battery'})`)
            .join(', ')}
        </p>
      )}
      <div class="grid">
        <Card title="Waves" id="waves">
          {r.waves.length === 0 && (
            <p class="muted">{planning ? 'The waves appear as planning places the devices.' : 'No waves.'}</p>
          )}
          <ol class="waves">
            {r.waves.map((w) => (
              <WaveRow key={w.wave} wave={w} current={w.wave === r.currentWave} />
            ))}
          </ol>
        </Card>
        <Card title="Progress per wave (% of the wave updated)">
          <TimeChart
            title="progress per wave over time"
            times={points.map((p) => p.t)}
            yLabel="%"
            series={r.waves.map((w, i) => ({
              label: `wave ${w.wave + 1}`,
              values: points.map((p) => p.succeeded[i] ?? null),
              color: COLORS[i % COLORS.length] as string,
            }))}
            height={180}
          />
        </Card>
        {gate !== undefined && (
          <Card title="Health gate: updated devices against the control cohort">
            <HealthGateView health={r.health} metric={gate.metric} />
          </Card>
        )}
        <Card title="Selection">
          {planning ? (
            <p class="muted">Counted once planning has read the whole registry.</p>
          ) : (
            <p>
              {r.selection?.targeted ?? '?'} targeted, {r.selection?.eligible ?? '?'} eligible
              {(r.selection?.control ?? 0) > 0 && `, ${r.selection?.control} in the control cohort`}.
            </p>
          )}
          {skipped.length > 0 && (
            <ul>
              {skipped.map(([reason, n]) => (
                <li key={reason}>
                  {n} skipped: {SKIP_WORDS[reason] ?? reason}
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </>
  );
}
