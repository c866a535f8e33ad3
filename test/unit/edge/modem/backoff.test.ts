import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF, recoveryActionFor } from '../../../../edge/src/modem/backoff.ts';

describe('recovery backoff', () => {
  it('doubles from the base and stops at the cap', () => {
    // Prepare
    const policy = { ...DEFAULT_BACKOFF, jitter: 0 };

    // Act
    const delays = Array.from({ length: 11 }, (_, i) => backoffDelay(i + 1, policy, () => 0));

    // Assess
    expect(delays).toEqual([
      0, 5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000, 600_000, 600_000,
    ]);
  });

  it.each([
    [0, 40_000],
    [0.5, 36_000],
    [0.999, 32_008],
  ])('jitter takes up to 20%% off: random %s → %i ms', (random, delay) => {
    // Act
    const result = backoffDelay(5, DEFAULT_BACKOFF, () => random);

    // Assess
    expect(result).toBe(delay);
  });

  it.each([
    [1, 1, 're-register'],
    [2, 1, 'reset'],
    [9, 1, 'reset'],
    [2, 2, 're-register'],
    [1, 0, 'reset'],
  ] as const)('attempt %i with %i re-register attempts → %s', (attempt, reRegister, action) => {
    // Act
    const result = recoveryActionFor(attempt, reRegister);

    // Assess
    expect(result).toBe(action);
  });
});
