import type { Rollout } from '../api/types.ts';

/**
 * Where a rollout's planning stands, as the rollout page shows it. `POST /rollouts` answers 202 with the
 * rollout PLANNING; the planner reads the registry asynchronously, and `GET /rollouts/{id}` carries
 * `planning` (with `progress` while it goes on). Planning that found nothing to roll out ends the
 * rollout CANCELED with `planning.error`: the refusal `POST /rollouts` gave when it planned at once.
 */
export type PlanningState =
  | { readonly kind: 'planning'; readonly fraction: number; readonly text: string }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string }
  | { readonly kind: 'planned' };

/** The state of `rollout`'s planning: going on (with how far), refused, or over (or never asynchronous). */
export function planningState(rollout: Pick<Rollout, 'planning'>): PlanningState {
  const planning = rollout.planning;
  if (planning === undefined) return { kind: 'planned' };
  if (planning.error !== undefined)
    return { kind: 'refused', code: planning.error.code, message: planning.error.message };
  if (planning.finishedAt !== undefined) return { kind: 'planned' };
  const p = planning.progress;
  if (p === undefined || p.segments.total === 0)
    return { kind: 'planning', fraction: 0, text: 'starting: the planner reads the registry' };
  const pilot = planning.pilotFrom === undefined ? '' : '; first wave started';
  return {
    kind: 'planning',
    fraction: p.segments.done / p.segments.total,
    text: `${p.segments.done} of ${p.segments.total} registry segments read: ${p.scanned} devices read, ${p.eligible} eligible${pilot}`,
  };
}

/** How often the rollout page asks again: often while planning (it takes seconds), then every 3 s. */
export function rolloutPollMs(rollout: Pick<Rollout, 'planning'> | undefined): number {
  return rollout !== undefined && planningState(rollout).kind === 'planning' ? 500 : 3_000;
}

/**
 * Whether the form may start the rollout: once the preview shows the plan, or when the preview was
 * refused only because the fleet is too large for one (`PreviewTooLarge`: the rollout plans
 * asynchronously, so it can still be started).
 */
export function canStart(preview: unknown, previewError: Error | undefined): boolean {
  if (preview !== undefined) return true;
  return (previewError as (Error & { code?: string }) | undefined)?.code === 'PreviewTooLarge';
}
