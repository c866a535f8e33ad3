import type { SingleBar } from 'cli-progress';
import { type ApiClient, ApiError } from './api.ts';
import { bar, multiBar, type Output, progressBar } from './progress.ts';

// biome-ignore lint/suspicious/noExplicitAny: the rollout view as the API returns it
type RolloutView = any;

const TERMINAL = new Set(['COMPLETED', 'CANCELED', 'ROLLED_BACK']);

/** A rollout's status as lines: its state, a bar per wave (succeeded of planned), failures, what waits. */
export function renderRollout(r: RolloutView): string {
  const lines = [
    `${r.rolloutId}  ${r.status}${r.statusReason === undefined ? '' : `  (${r.statusReason})`}`,
    `  ${r.request?.modelVersion === undefined ? `firmware ${r.request?.firmwareVersion}` : `model ${r.request.modelVersion}`}  ·  ${r.selection?.eligible ?? '?'} eligible of ${r.selection?.targeted ?? '?'} targeted, ${r.selection?.control ?? 0} in the control cohort`,
  ];
  for (const wave of r.waves ?? []) {
    const succeeded = wave.byStatus?.SUCCEEDED ?? 0;
    const failed =
      (wave.byStatus?.FAILED ?? 0) + (wave.byStatus?.TIMED_OUT ?? 0) + (wave.byStatus?.REJECTED ?? 0);
    const marker = wave.wave === r.currentWave && !TERMINAL.has(r.status) ? '▶' : ' ';
    lines.push(
      `${marker} wave ${wave.wave}${wave.control === true ? ' (control cohort)' : ''}  ${bar(wave.planned === 0 ? 1 : succeeded / wave.planned, `${succeeded}/${wave.planned} succeeded, ${wave.notified} notified${failed > 0 ? `, ${failed} failed` : ''}`)}`,
    );
  }
  const waiting = r.waitingOnPacing;
  if (waiting !== undefined && waiting.lowSignal + waiting.lowBattery > 0)
    lines.push(`  waiting on pacing: ${waiting.lowSignal} low signal, ${waiting.lowBattery} low battery`);
  if (r.health !== undefined) lines.push(`  health gate: ${r.health.verdict} — ${r.health.reason}`);
  if (r.waitingOnHealth !== undefined) lines.push(`  next wave waits: ${r.waitingOnHealth}`);
  for (const job of r.rollbackJobs ?? [])
    lines.push(
      `  rollback ${job.jobId}: ${job.things} devices back to ${job.toVersion}${job.blocked === undefined ? '' : ` — BLOCKED: ${job.blocked}`}`,
    );
  return `${lines.join('\n')}\n`;
}

/** A wave's bar text: succeeded of planned, notified, failed. */
function waveDetail(wave: RolloutView): { value: number; total: number; label: string; detail: string } {
  const succeeded = wave.byStatus?.SUCCEEDED ?? 0;
  const failed =
    (wave.byStatus?.FAILED ?? 0) + (wave.byStatus?.TIMED_OUT ?? 0) + (wave.byStatus?.REJECTED ?? 0);
  return {
    value: succeeded,
    total: Math.max(1, wave.planned),
    label: `wave ${wave.wave}${wave.control === true ? ' (control)' : ''}`,
    detail: `${succeeded}/${wave.planned} succeeded, ${wave.notified} notified${failed > 0 ? `, ${failed} failed` : ''}`,
  };
}

/** The lines above the bars: the rollout's state and what it waits for. */
const headerOf = (text: string) =>
  text.split('\n').filter((line) => !/^[▶ ] wave /.test(line) && line !== '');

/**
 * Prints a rollout's status; with `watch`, again every `intervalMs` until it ends: on a terminal a
 * cli-progress bar per wave redrawn in place, with the state's lines printed above when they change;
 * elsewhere the whole status each time.
 */
export async function showRollout(
  api: ApiClient,
  rolloutId: string,
  out: Output,
  options: { watch?: boolean; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<RolloutView> {
  const live = options.watch === true && out.isTTY === true ? multiBar(out) : undefined;
  const bars = new Map<number, SingleBar>();
  let header = '';
  try {
    for (;;) {
      const rollout = await api.call('GET', `rollouts/${encodeURIComponent(rolloutId)}`);
      const text = renderRollout(rollout);
      if (live === undefined) out.write(text);
      else {
        const lines = headerOf(text).join('\n');
        if (lines !== header) live.log(`${lines}\n`);
        header = lines;
        for (const wave of rollout.waves ?? []) {
          const { value, total, label, detail } = waveDetail(wave);
          const existing = bars.get(wave.wave);
          if (existing === undefined) bars.set(wave.wave, live.create(total, value, { label, detail }));
          else {
            existing.setTotal(total);
            existing.update(value, { label, detail });
          }
        }
      }
      if (options.watch !== true || TERMINAL.has(rollout.status) || options.signal?.aborted === true)
        return rollout;
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 5000));
    }
  } finally {
    live?.stop();
  }
}

/**
 * Follows a rollout just accepted (PLANNING) until its plan is cut: a bar of the registry segments read
 * so far, with the devices read and found eligible, and whether the first wave already started (pilot
 * devices are offered while planning goes on). Planning that found nothing to roll out is an
 * {@link ApiError} with the refusal's code, as `POST /rollouts` gave it when it planned at once.
 *
 * @returns the rollout as planned
 */
export async function followPlanning(
  api: ApiClient,
  accepted: RolloutView,
  out: Output,
  options: { intervalMs?: number } = {},
): Promise<RolloutView> {
  const path = `rollouts/${encodeURIComponent(accepted.rolloutId)}`;
  const progress = progressBar(out, 'planning');
  let rollout = accepted;
  while (rollout.planning !== undefined && rollout.planning.finishedAt === undefined) {
    const p = rollout.planning.progress;
    if (p !== undefined && p.segments.total > 0)
      progress.update(
        p.segments.done / p.segments.total,
        `${p.scanned} devices read, ${p.eligible} eligible${rollout.planning.pilotFrom === undefined ? '' : '; first wave started'}`,
      );
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    rollout = await api.call('GET', path);
  }
  const error = rollout.planning?.error;
  if (error !== undefined) throw new ApiError(409, error.code, error.message, error);
  progress.done(
    `${rollout.selection?.eligible ?? 0} eligible of ${rollout.selection?.targeted ?? 0} targeted`,
  );
  return rollout;
}
