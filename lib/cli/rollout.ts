import type { ApiClient } from './api.ts';
import { bar, type Output } from './progress.ts';

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

/**
 * Prints a rollout's status; with `watch`, again every `intervalMs` until it ends (redrawn in place on a
 * terminal).
 */
export async function showRollout(
  api: ApiClient,
  rolloutId: string,
  out: Output,
  options: { watch?: boolean; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<RolloutView> {
  let previousLines = 0;
  for (;;) {
    const rollout = await api.call('GET', `rollouts/${encodeURIComponent(rolloutId)}`);
    const text = renderRollout(rollout);
    if (options.watch === true && out.isTTY === true && previousLines > 0)
      out.write(`\u001b[${previousLines}A\u001b[J`);
    out.write(text);
    previousLines = text.split('\n').length - 1;
    if (options.watch !== true || TERMINAL.has(rollout.status) || options.signal?.aborted === true)
      return rollout;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 5000));
  }
}
