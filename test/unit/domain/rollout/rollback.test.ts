import { describe, expect, it } from 'vitest';
import { rollbackPlan } from '../../../../lambdas/domain/rollout/rollback.ts';
import { execution } from './support.ts';

describe('rollbackPlan', () => {
  it('sends each succeeded device back to the version it had, one job per version', () => {
    const plan = rollbackPlan([
      execution('SUCCEEDED', { thingName: 'b', previousVersion: '1.4.2' }),
      execution('SUCCEEDED', { thingName: 'a', previousVersion: '1.4.2' }),
      execution('SUCCEEDED', { thingName: 'c', previousVersion: '1.10.0' }),
      execution('SUCCEEDED', { thingName: 'd', previousVersion: '1.9.0' }),
      execution('QUEUED', { thingName: 'q' }),
      execution('IN_PROGRESS', { thingName: 'p' }),
      execution('FAILED', { thingName: 'f' }),
      execution('REJECTED', { thingName: 'r' }),
      execution('SUCCEEDED', { thingName: 'already-a-rollback', rollback: true }),
    ]);
    expect(plan).toEqual({
      jobs: [
        { toVersion: '1.4.2', fromVersion: '2.0.0', things: ['a', 'b'] },
        { toVersion: '1.9.0', fromVersion: '2.0.0', things: ['d'] },
        { toVersion: '1.10.0', fromVersion: '2.0.0', things: ['c'] },
      ],
      cancel: [
        { thingName: 'p', force: true },
        { thingName: 'q', force: false },
      ],
      untouched: 2,
    });
  });

  it('has nothing to do for a rollout that updated nobody', () => {
    expect(rollbackPlan([execution('FAILED')])).toEqual({ jobs: [], cancel: [], untouched: 1 });
  });
});
