import { describe, expect, it } from 'vitest';
import { canStart, planningState, rolloutPollMs } from '../../../console/src/pages/rollout-planning.ts';
import { ApiError } from '../../../lib/cli/api.ts';

const segments = (done: number, total: number) => ({
  segments: { done, total },
  scanned: 1200,
  targeted: 1100,
  eligible: 900,
  pilot: 0,
});

describe("the rollout page's planning (POST /rollouts answers 202, PLANNING)", () => {
  it('shows how many registry segments were read, and whether the first wave started', () => {
    // Act
    const before = planningState({ planning: { startedAt: 1, progress: segments(0, 0) } });
    const going = planningState({ planning: { startedAt: 1, progress: segments(4, 16) } });
    const pilot = planningState({ planning: { startedAt: 1, pilotFrom: 2, progress: segments(8, 16) } });
    // Assess
    expect(before).toEqual({
      kind: 'planning',
      fraction: 0,
      text: 'starting: the planner reads the registry',
    });
    expect(going).toEqual({
      kind: 'planning',
      fraction: 0.25,
      text: '4 of 16 registry segments read: 1200 devices read, 900 eligible',
    });
    expect(pilot).toMatchObject({ fraction: 0.5, text: expect.stringMatching(/; first wave started$/) });
  });

  it('is over once the plan is cut, and a rollout planned at once never planned', () => {
    expect(planningState({ planning: { startedAt: 1, finishedAt: 3 } })).toEqual({ kind: 'planned' });
    expect(planningState({})).toEqual({ kind: 'planned' });
  });

  it('says why planning found nothing to roll out (the refusal POST /rollouts gave before)', () => {
    // Act
    const state = planningState({
      planning: {
        startedAt: 1,
        finishedAt: 2,
        error: { code: 'NoEligibleDevices', message: 'no device is eligible for firmware 1.1.0' },
      },
    });
    // Assess
    expect(state).toEqual({
      kind: 'refused',
      code: 'NoEligibleDevices',
      message: 'no device is eligible for firmware 1.1.0',
    });
  });

  it('is followed closely while planning, then at the usual pace', () => {
    expect(rolloutPollMs({ planning: { startedAt: 1, progress: segments(1, 16) } })).toBe(500);
    expect(rolloutPollMs({ planning: { startedAt: 1, finishedAt: 2 } })).toBe(3_000);
    expect(rolloutPollMs(undefined)).toBe(3_000);
  });
});

describe('starting a rollout from the form', () => {
  it('waits for the preview, unless the fleet is too large for one (it plans asynchronously)', () => {
    const tooLarge = new ApiError(422, 'PreviewTooLarge', 'the registry holds more than 10000 devices', {});
    const refused = new ApiError(409, 'NoEligibleDevices', 'no device is eligible', {});
    expect(canStart(undefined, undefined)).toBe(false);
    expect(canStart({ waves: [] }, undefined)).toBe(true);
    expect(canStart(undefined, tooLarge)).toBe(true);
    expect(canStart(undefined, refused)).toBe(false);
  });
});
