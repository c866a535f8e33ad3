import { ROLLOUT_STATUSES, type RolloutStatus } from '../../../lib/protocol/rollouts.ts';

/**
 * The rollout's own state machine. SCHEDULED ⇄ IN_PROGRESS follows AWS IoT Jobs' job states with
 * maintenance windows (a job goes back to SCHEDULED when its window closes,
 * https://docs.aws.amazon.com/iot/latest/developerguide/iot-jobs-lifecycle.html); PAUSED is hawkBit's
 * paused rollout; ROLLED_BACK ends a rollout whose health gate failed, or that an operator rolled back.
 * PLANNING is hawkBit's creating rollout, except that its first wave may already be offered (see
 * `planning.ts`): it can be paused, canceled and rolled back like a running one.
 */

/** What moves a rollout. */
export const ROLLOUT_EVENTS = [
  'planned',
  'planningFailed',
  'start',
  'windowClosed',
  'pause',
  'resume',
  'cancel',
  'complete',
  'rollback',
] as const;
export type RolloutEvent = (typeof ROLLOUT_EVENTS)[number];

/** Who: a person through the API or CLI, or the scheduler acting on the rollout's own rules. */
export const ROLLOUT_ACTORS = ['operator', 'scheduler'] as const;
export type RolloutActor = (typeof ROLLOUT_ACTORS)[number];

/** One allowed transition; every (status, event, actor) not listed is refused. */
export interface RolloutTransition {
  readonly from: RolloutStatus;
  readonly event: RolloutEvent;
  readonly to: RolloutStatus;
  readonly actors: readonly RolloutActor[];
  readonly why: string;
}

const both = ['operator', 'scheduler'] as const;

/** Every allowed (status, event, actor); anything else is a {@link RolloutStateError}. */
export const ROLLOUT_TRANSITIONS: readonly RolloutTransition[] = [
  {
    from: 'PLANNING',
    event: 'planned',
    to: 'IN_PROGRESS',
    actors: ['scheduler'],
    why: 'the plan is cut: every wave is known (a closed window then sends it to SCHEDULED)',
  },
  {
    from: 'PLANNING',
    event: 'planningFailed',
    to: 'CANCELED',
    actors: ['scheduler'],
    why: 'no device is eligible, or a health gate has no control cohort: nothing was offered',
  },
  {
    from: 'PAUSED',
    event: 'planningFailed',
    to: 'CANCELED',
    actors: ['scheduler'],
    why: 'paused while planning, and planning found nothing to roll out',
  },
  {
    from: 'PLANNING',
    event: 'pause',
    to: 'PAUSED',
    actors: both,
    why: 'held while planning (pilot devices may be offered), by an operator or an abort criterion',
  },
  {
    from: 'PLANNING',
    event: 'cancel',
    to: 'CANCELED',
    actors: both,
    why: 'stopped while planning; planning stops too',
  },
  {
    from: 'PLANNING',
    event: 'rollback',
    to: 'ROLLED_BACK',
    actors: ['operator'],
    why: 'pilot devices may have installed the image already',
  },
  {
    from: 'SCHEDULED',
    event: 'start',
    to: 'IN_PROGRESS',
    actors: ['scheduler'],
    why: 'a maintenance window opened',
  },
  {
    from: 'IN_PROGRESS',
    event: 'windowClosed',
    to: 'SCHEDULED',
    actors: ['scheduler'],
    why: 'the window closed: nothing new is queued until the next one',
  },
  { from: 'SCHEDULED', event: 'pause', to: 'PAUSED', actors: both, why: 'held before or between windows' },
  {
    from: 'IN_PROGRESS',
    event: 'pause',
    to: 'PAUSED',
    actors: both,
    why: 'an operator holds it, or an abort criterion with action pause was met',
  },
  {
    from: 'PAUSED',
    event: 'resume',
    to: 'IN_PROGRESS',
    actors: ['operator'],
    why: 'only a person resumes what a person or an abort criterion paused (PLANNING if paused while planning)',
  },
  {
    from: 'SCHEDULED',
    event: 'cancel',
    to: 'CANCELED',
    actors: both,
    why: 'stopped; queued executions are canceled',
  },
  {
    from: 'IN_PROGRESS',
    event: 'cancel',
    to: 'CANCELED',
    actors: both,
    why: 'an operator stops it, or an abort criterion with action cancel was met',
  },
  { from: 'PAUSED', event: 'cancel', to: 'CANCELED', actors: ['operator'], why: 'a paused rollout given up' },
  {
    from: 'IN_PROGRESS',
    event: 'complete',
    to: 'COMPLETED',
    actors: ['scheduler'],
    why: 'every planned device was notified and every execution ended',
  },
  {
    from: 'SCHEDULED',
    event: 'complete',
    to: 'COMPLETED',
    actors: ['scheduler'],
    why: 'the last executions ended after the window closed',
  },
  {
    from: 'IN_PROGRESS',
    event: 'rollback',
    to: 'ROLLED_BACK',
    actors: both,
    why: 'the health gate failed, or an operator rolled it back',
  },
  {
    from: 'SCHEDULED',
    event: 'rollback',
    to: 'ROLLED_BACK',
    actors: both,
    why: 'updated devices may exist between windows',
  },
  {
    from: 'PAUSED',
    event: 'rollback',
    to: 'ROLLED_BACK',
    actors: both,
    why: 'updated devices keep running while paused',
  },
  {
    from: 'COMPLETED',
    event: 'rollback',
    to: 'ROLLED_BACK',
    actors: both,
    why: 'a problem found after completion (the health window can outlast the rollout)',
  },
];

/** A rollout command that its state does not allow. Maps to HTTP 409. */
export class RolloutStateError extends Error {
  override readonly name = 'RolloutStateError';

  constructor(
    readonly from: RolloutStatus,
    readonly event: RolloutEvent,
    readonly actor: RolloutActor,
  ) {
    super(`cannot ${event} a ${from} rollout${actor === 'scheduler' ? ' (scheduler)' : ''}`);
  }
}

/** Rollout states that never change again. */
export const TERMINAL_ROLLOUT_STATUSES: readonly RolloutStatus[] = ROLLOUT_STATUSES.filter(
  (status) => !ROLLOUT_TRANSITIONS.some((t) => t.from === status),
);

/** The status after `event`, or the refusal. */
export function transitionRollout(
  from: RolloutStatus,
  event: RolloutEvent,
  actor: RolloutActor,
): RolloutStatus | RolloutStateError {
  const row = ROLLOUT_TRANSITIONS.find(
    (t) => t.from === from && t.event === event && t.actors.includes(actor),
  );
  return row === undefined ? new RolloutStateError(from, event, actor) : row.to;
}
