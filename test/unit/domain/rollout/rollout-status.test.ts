import { describe, expect, it } from 'vitest';
import {
  applyRolloutEvent,
  createPlanningRecord,
  createRolloutRecord,
} from '../../../../lambdas/domain/rollout/record.ts';
import {
  ROLLOUT_ACTORS,
  ROLLOUT_EVENTS,
  ROLLOUT_TRANSITIONS,
  RolloutStateError,
  TERMINAL_ROLLOUT_STATUSES,
  transitionRollout,
} from '../../../../lambdas/domain/rollout/rollout-status.ts';
import { ROLLOUT_STATUSES } from '../../../../lib/protocol/rollouts.ts';
import { counters, MONDAY_10_UTC, request } from './support.ts';

/** The allowed transitions, written out independently of the table. */
const ALLOWED = new Set([
  'PLANNING planned scheduler → IN_PROGRESS',
  'PLANNING planningFailed scheduler → CANCELED',
  'PAUSED planningFailed scheduler → CANCELED',
  'PLANNING pause operator → PAUSED',
  'PLANNING pause scheduler → PAUSED',
  'PLANNING cancel operator → CANCELED',
  'PLANNING cancel scheduler → CANCELED',
  'PLANNING rollback operator → ROLLED_BACK',
  'SCHEDULED start scheduler → IN_PROGRESS',
  'IN_PROGRESS windowClosed scheduler → SCHEDULED',
  'SCHEDULED pause operator → PAUSED',
  'SCHEDULED pause scheduler → PAUSED',
  'IN_PROGRESS pause operator → PAUSED',
  'IN_PROGRESS pause scheduler → PAUSED',
  'PAUSED resume operator → IN_PROGRESS',
  'SCHEDULED cancel operator → CANCELED',
  'SCHEDULED cancel scheduler → CANCELED',
  'IN_PROGRESS cancel operator → CANCELED',
  'IN_PROGRESS cancel scheduler → CANCELED',
  'PAUSED cancel operator → CANCELED',
  'IN_PROGRESS complete scheduler → COMPLETED',
  'SCHEDULED complete scheduler → COMPLETED',
  'IN_PROGRESS rollback operator → ROLLED_BACK',
  'IN_PROGRESS rollback scheduler → ROLLED_BACK',
  'SCHEDULED rollback operator → ROLLED_BACK',
  'SCHEDULED rollback scheduler → ROLLED_BACK',
  'PAUSED rollback operator → ROLLED_BACK',
  'PAUSED rollback scheduler → ROLLED_BACK',
  'COMPLETED rollback operator → ROLLED_BACK',
  'COMPLETED rollback scheduler → ROLLED_BACK',
]);

const cells = ROLLOUT_STATUSES.flatMap((from) =>
  ROLLOUT_EVENTS.flatMap((event) => ROLLOUT_ACTORS.map((actor) => [from, event, actor] as const)),
);

describe('the rollout state machine', () => {
  it.each(cells)('%s + %s by %s', (from, event, actor) => {
    const result = transitionRollout(from, event, actor);
    const allowed = [...ALLOWED].find((row) => row.startsWith(`${from} ${event} ${actor} → `));
    if (allowed === undefined) {
      expect(result).toBeInstanceOf(RolloutStateError);
      expect((result as RolloutStateError).message).toContain(`cannot ${event} a ${from} rollout`);
    } else {
      expect(result).toBe(allowed.split(' → ')[1]);
    }
  });

  it('the table says no more than the list above', () => {
    const table = ROLLOUT_TRANSITIONS.flatMap((t) =>
      t.actors.map((a) => `${t.from} ${t.event} ${a} → ${t.to}`),
    );
    expect(new Set(table)).toEqual(ALLOWED);
  });

  it('CANCELED and ROLLED_BACK are terminal', () => {
    expect(TERMINAL_ROLLOUT_STATUSES).toEqual(['CANCELED', 'ROLLED_BACK']);
  });
});

describe('applyRolloutEvent', () => {
  const plan = {
    waves: [],
    control: [],
    waveSizes: [10],
    startsAt: MONDAY_10_UTC / 1000,
    status: 'IN_PROGRESS' as const,
  };
  const record = createRolloutRecord('r1', request(), plan, MONDAY_10_UTC);

  it('a resume records the counts the abort criteria start from again', () => {
    const paused = applyRolloutEvent(record, 'pause', 'operator', MONDAY_10_UTC, 'looking at failures');
    if (paused instanceof RolloutStateError) throw paused;
    const now = counters([{ FAILED: 3, SUCCEEDED: 7 }]);
    const resumed = applyRolloutEvent(
      paused,
      'resume',
      'operator',
      MONDAY_10_UTC + 60_000,
      'fixed the CDN',
      now,
    );
    expect(resumed).toMatchObject({
      status: 'IN_PROGRESS',
      statusReason: 'fixed the CDN',
      abortBaseline: now.rollout,
      updatedAt: MONDAY_10_UTC / 1000 + 60,
    });
  });

  it.each([
    ['still planning: back to PLANNING', undefined, 'PLANNING'],
    ['planned while paused: IN_PROGRESS', MONDAY_10_UTC / 1000 + 30, 'IN_PROGRESS'],
  ])('a rollout paused while planning resumes %s', (_case, finishedAt, status) => {
    // Prepare
    const accepted = createPlanningRecord('r2', request(), { version: '2.0.0' }, MONDAY_10_UTC);
    const paused = applyRolloutEvent(accepted, 'pause', 'operator', MONDAY_10_UTC, 'hold on');
    if (paused instanceof RolloutStateError) throw paused;
    const planning = paused.planning ?? accepted.planning;
    if (planning === undefined) throw new Error('a planning record has its planning');
    const later = {
      ...paused,
      planning: { ...planning, ...(finishedAt === undefined ? {} : { finishedAt }) },
    };
    // Act
    const resumed = applyRolloutEvent(later, 'resume', 'operator', MONDAY_10_UTC + 60_000, 'go on');
    // Assess
    expect(paused.status).toBe('PAUSED');
    expect(resumed).toMatchObject({ status });
  });

  it('refuses what the table forbids', () => {
    expect(applyRolloutEvent(record, 'resume', 'operator', MONDAY_10_UTC, 'x')).toBeInstanceOf(
      RolloutStateError,
    );
  });
});
