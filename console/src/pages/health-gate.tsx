import type { RolloutHealth } from '../api/types.ts';
import { ago } from '../format.ts';

const WORDS: Readonly<Record<string, string>> = {
  pass: 'passed',
  fail: 'failed: the rollout was rolled back',
  insufficientData: 'waiting for enough device-hours',
};

/**
 * The health gate's comparison, drawn: the updated devices' rate beside the control cohort's and the
 * highest rate the gate accepts, as bars on one scale (SVG, so it stays sharp and small on a phone).
 */
export function HealthGateView(props: { health: RolloutHealth | undefined; metric: string }) {
  const h = props.health;
  if (h === undefined)
    return <p class="muted">The gate has not measured yet: it judges once a wave is out.</p>;
  const rows = [
    { label: 'updated devices', value: h.updatedRate, cls: h.verdict === 'fail' ? 'bad' : 'canary' },
    { label: 'control cohort', value: h.controlRate, cls: 'control' },
    { label: 'limit', value: h.limit, cls: 'limit' },
  ];
  const max = Math.max(1e-9, ...rows.map((r) => r.value ?? 0));
  const width = 300;
  return (
    <div class="health-gate" id="health-gate">
      <p>
        <span class={`badge ${h.verdict}`}>{h.verdict}</span> {WORDS[h.verdict] ?? h.verdict} — {props.metric}{' '}
        (events per device-hour), checked {ago(h.checkedAt * 1000)} on {h.sampled} devices.
      </p>
      <svg
        viewBox={`0 0 ${width + 170} ${rows.length * 30}`}
        role="img"
        aria-label="updated devices against the control cohort"
      >
        {rows.map((row, i) => (
          <g key={row.label} transform={`translate(0 ${i * 30})`}>
            <text x="0" y="18" class="svg-label">
              {row.label}
            </text>
            <rect
              x="120"
              y="5"
              height="18"
              width={row.value === undefined ? 0 : (width * row.value) / max}
              class={`svg-bar ${row.cls}`}
            />
            <text
              x={125 + (row.value === undefined ? 0 : (width * row.value) / max)}
              y="18"
              class="svg-value"
            >
              {row.value === undefined ? 'no data' : row.value.toFixed(3)}
            </text>
          </g>
        ))}
      </svg>
      <p class="muted">{h.reason}</p>
    </div>
  );
}
