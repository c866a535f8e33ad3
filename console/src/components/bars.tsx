/** One bar of a breakdown. */
export interface BarRow {
  readonly label: string;
  readonly value: number;
  /** Shown at the end of the row (defaults to the value). */
  readonly note?: string;
  readonly tone?: 'good' | 'warn' | 'bad';
}

/**
 * Horizontal bars for a categorical breakdown (devices by type, by firmware): plain elements whose width
 * is the share of `max`, readable at any width and by a screen reader (each row is text too).
 */
export function Bars(props: { rows: readonly BarRow[]; max?: number; label: string }) {
  const max = props.max ?? Math.max(1, ...props.rows.map((row) => row.value));
  if (props.rows.length === 0) return <p class="muted">Nothing yet.</p>;
  return (
    <ul class="bars" aria-label={props.label}>
      {props.rows.map((row) => (
        <li key={row.label}>
          <span class="bar-label">{row.label}</span>
          <span class="bar-track">
            <span class={`bar-fill ${row.tone ?? ''}`} style={{ width: `${(100 * row.value) / max}%` }} />
          </span>
          <span class="bar-note">{row.note ?? row.value}</span>
        </li>
      ))}
    </ul>
  );
}

/** A progress bar with its text: `42 of 100`. */
export function Progress(props: { value: number; max: number; label?: string }) {
  const share = props.max > 0 ? Math.min(1, props.value / props.max) : 0;
  return (
    <div
      class="progress"
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={props.max}
      aria-valuenow={props.value}
    >
      <span class="progress-fill" style={{ width: `${share * 100}%` }} />
      <span class="progress-text">{props.label ?? `${props.value} of ${props.max}`}</span>
    </div>
  );
}
